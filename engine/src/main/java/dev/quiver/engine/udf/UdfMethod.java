package dev.quiver.engine.udf;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a public method of an {@link ObjectUdf} as callable from Python
 * ({@code obj.predict(table)}). Two shapes are accepted:
 *
 * <ul>
 *   <li>per batch: {@code VectorSchemaRoot m(VectorSchemaRoot batch, UdfArgs args,
 *       BufferAllocator allocator)}: the result is owned by the caller (allocate it from
 *       {@code allocator}); the input batch is only borrowed;
 *   <li>per stream: {@code ArrowReader m(ArrowReader input, UdfArgs args, BufferAllocator
 *       allocator)}: like {@link BatchUdf#apply}.
 * </ul>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface UdfMethod {}
