package dev.quiver.engine.udf;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names a user function, batch operator or object class for Quiver.
 *
 * <p>Annotate the class and list it in {@code META-INF/services/dev.quiver.engine.udf.QuiverUdf}
 * of your jar; the engine finds it with {@link java.util.ServiceLoader}. Python reaches it by
 * {@link #name()} or by the fully qualified class name:
 *
 * <pre>{@code
 * @Udf(name = "score", description = "logistic score of a value")
 * public final class Score implements ScalarUdf { ... }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface Udf {
  /** The name plans and Python use (lower case snake_case recommended). */
  String name();

  /** One line shown by {@code describe}. */
  String description() default "";
}
