package com.acme;

import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.udf.BatchUdf;
import dev.quiver.engine.udf.ScalarUdf;
import dev.quiver.engine.udf.Udf;
import dev.quiver.engine.udf.UdfArgs;
import dev.quiver.engine.udf.UdfException;
import dev.quiver.engine.udf.UdfReaders;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.arrow.memory.BufferAllocator;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A logistic score {@code 1 / (1 + exp(-(x - center) / scale))}, written once and usable two
 * ways from Python:
 *
 * <ul>
 *   <li>in plans, as a scalar function: {@code qv.call("score", qv.col("x"))} (center 0, scale 1)
 *       or {@code qv.call("score", qv.col("x"), center, scale)};
 *   <li>over whole data, as a batch operator returning a {@code score} column:
 *       {@code eng.function("com.acme.Score")(frame, column="x", center=0.5, scale=2.0)}.
 * </ul>
 */
@Udf(name = "score", description = "logistic score of a numeric value")
public final class Score implements ScalarUdf, BatchUdf {
  private static final int CHUNK = 4096;
  /** Rows per parallel part: below this a batch is scored on the calling thread. */
  private static final int PARALLEL_ROWS = 1 << 18;
  private static final ArrowType FLOAT64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);

  /** Whether the JVM has the Vector API ({@code --add-modules jdk.incubator.vector}). */
  private static final boolean SIMD =
      ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  /** The kernel: one tight loop over primitive arrays, no boxing, no per-row calls. */
  static void score(double[] x, double[] out, int n, double center, double scale) {
    if (SIMD) {
      SimdScore.score(x, out, n, center, scale);
      return;
    }
    double inv = 1.0 / scale;
    for (int i = 0; i < n; i++) {
      out[i] = 1.0 / (1.0 + Math.exp((center - x[i]) * inv));
    }
  }

  // ---- scalar function ----------------------------------------------------------------------

  @Override
  public List<ArrowType> parameterTypes(List<ArrowType> args) {
    if (args.size() != 1 && args.size() != 3) {
      throw new UdfException("score takes (x) or (x, center, scale), got " + args.size()
          + " argument(s)");
    }
    List<ArrowType> out = new ArrayList<>();
    for (ArrowType t : args) {
      if (!(t instanceof ArrowType.Int || t instanceof ArrowType.FloatingPoint
          || t instanceof ArrowType.Decimal || t instanceof ArrowType.Null)) {
        throw new UdfException("score takes numeric arguments, got " + t);
      }
      out.add(FLOAT64); // the engine converts every argument to float64 before apply
    }
    return out;
  }

  @Override
  public ArrowType resultType(List<ArrowType> parameterTypes) {
    return FLOAT64;
  }

  @Override
  public Vec apply(Vec[] args, int n) {
    double[] x = ((DoubleVec) args[0]).values;
    DoubleVec out = new DoubleVec(FLOAT64, n);
    if (args.length == 1) {
      score(x, out.values, n, 0.0, 1.0);
    } else {
      // center and scale may vary per row: loop over them directly
      double[] c = ((DoubleVec) args[1]).values;
      double[] s = ((DoubleVec) args[2]).values;
      for (int i = 0; i < n; i++) {
        out.values[i] = 1.0 / (1.0 + Math.exp((c[i] - x[i]) / s[i]));
      }
    }
    return out; // null rows: the engine marks them from the arguments' nulls
  }

  // ---- batch operator -----------------------------------------------------------------------

  /**
   * Returns one float64 column ({@code output}, default "score"), row-aligned with the input,
   * computed from the float64 column {@code column}.
   */
  @Override
  public ArrowReader apply(ArrowReader input, UdfArgs args, BufferAllocator allocator)
      throws Exception {
    String column = args.string("column");
    double center = args.number("center", 0.0);
    double scale = args.number("scale", 1.0);
    String output = args.string("output", "score");
    Schema in = input.getVectorSchemaRoot().getSchema();
    Field f = in.getFields().stream().filter(x -> x.getName().equals(column)).findFirst()
        .orElseThrow(() -> new UdfException("score: no column '" + column + "' in " + in));
    if (!FLOAT64.equals(f.getType())) {
      throw new UdfException("score: column '" + column + "' must be float64, got "
          + f.getType());
    }
    Schema outSchema = new Schema(List.of(Field.nullable(output, FLOAT64)));
    return UdfReaders.map(input, outSchema, allocator, (batch, out) -> {
      int n = batch.getRowCount();
      Float8Vector x = (Float8Vector) batch.getVector(column);
      Float8Vector y = (Float8Vector) out.getVector(0);
      y.allocateNew(n);
      // Cache-sized chunks: bulk copy from the Arrow buffer, run the kernel over plain arrays,
      // bulk copy into the result buffer. Large batches are split across the common pool's
      // threads (each part writes its own range of the result).
      DoubleBuffer xin = doubles(x.getDataBuffer(), n);
      DoubleBuffer yout = doubles(y.getDataBuffer(), n);
      int parts = n < PARALLEL_ROWS ? 1 : (n + PARALLEL_ROWS - 1) / PARALLEL_ROWS;
      IntStream range = IntStream.range(0, parts);
      (parts > 1 ? range.parallel() : range).forEach(p -> {
        int from = (int) ((long) n * p / parts);
        int to = (int) ((long) n * (p + 1) / parts);
        double[] xs = new double[CHUNK];
        double[] ys = new double[CHUNK];
        for (int off = from; off < to; off += CHUNK) {
          int len = Math.min(CHUNK, to - off);
          xin.get(off, xs, 0, len);
          score(xs, ys, len, center, scale);
          yout.put(off, ys, 0, len);
        }
      });
      int validityBytes = (n + 7) / 8;
      if (x.getNullCount() > 0) {
        y.getValidityBuffer().setBytes(0, x.getValidityBuffer(), 0, validityBytes);
      } else {
        y.getValidityBuffer().setOne(0, validityBytes);
      }
      y.setValueCount(n);
      out.setRowCount(n);
    });
  }

  private static DoubleBuffer doubles(ArrowBuf buf, int n) {
    return buf.nioBuffer(0, n * 8).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
  }

  /** For tests: the same kernel on one value. */
  public static double of(double x, double center, double scale) {
    double[] out = new double[1];
    score(new double[] {x}, out, 1, center, scale);
    return out[0];
  }
}
