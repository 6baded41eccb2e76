package dev.quiver.engine.udf;

import dev.quiver.engine.expr.Vec;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * A scalar function over whole vectors, callable in plans ({@code qv.call("score", col)}) under
 * its {@link Udf#name()} or its class name.
 *
 * <p>Binding asks {@link #parameterTypes} which types the arguments must have; the engine
 * converts (casts) each argument to it, then calls {@link #apply} once per chunk of rows (at most
 * one morsel, so the arrays stay cache resident) with the arguments in the engine's computing
 * representation: {@code DoubleVec} (float32/float64), {@code LongVec} (integers, dates,
 * timestamps, decimals as unscaled longs), {@code BoolVec}, {@code BytesVec} (strings, binary).
 *
 * <pre>{@code
 * @Udf(name = "score")
 * public final class Score implements ScalarUdf {
 *   public List<ArrowType> parameterTypes(List<ArrowType> args) { ... return List.of(FLOAT64); }
 *   public ArrowType resultType(List<ArrowType> params) { return FLOAT64; }
 *   public Vec apply(Vec[] args, int n) {
 *     double[] x = ((DoubleVec) args[0]).values;
 *     DoubleVec out = new DoubleVec(FLOAT64, n);
 *     for (int i = 0; i < n; i++) out.values[i] = 1 / (1 + Math.exp(-x[i]));
 *     return out;
 *   }
 * }
 * }</pre>
 */
public interface ScalarUdf extends QuiverUdf {
  /**
   * The types to convert the arguments to before {@link #apply}, one per argument.
   *
   * @param argumentTypes the types of the call's arguments (a null literal has type Null)
   * @throws UdfException naming the function and the accepted types (Python raises
   *     {@code quiver.TypeMismatch}) or the accepted argument count
   */
  List<ArrowType> parameterTypes(List<ArrowType> argumentTypes);

  /** The type of the result, given the converted parameter types. */
  ArrowType resultType(List<ArrowType> parameterTypes);

  /**
   * Computes {@code n} rows. The arguments must not be modified.
   *
   * @return a vec of {@code n} rows of {@link #resultType}
   */
  Vec apply(Vec[] args, int n);

  /**
   * When true (default) a result row is null wherever any argument is null, whatever {@link
   * #apply} wrote there; return false to set {@code nulls} in the result yourself.
   */
  default boolean propagatesNulls() {
    return true;
  }
}
