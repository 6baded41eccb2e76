package dev.quiver.engine.expr;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * A bound, typed expression that computes a whole chunk at a time: {@code evaluate(batch)} returns
 * one value per live row of the batch.
 */
public sealed interface PhysicalExpr
    permits PhysicalExpr.ColumnRef, PhysicalExpr.LiteralExpr, PhysicalExpr.CallExpr {

  ArrowType type();

  Vec evaluate(Batch batch);

  String explain();

  /** Column {@code index} of the input. */
  record ColumnRef(int index, String name, ArrowType type) implements PhysicalExpr {
    @Override
    public Vec evaluate(Batch batch) {
      return VecReader.read(batch.column(index), batch.dictionary(index), batch.rows(), batch.count());
    }

    @Override
    public String explain() {
      return "#" + name;
    }
  }

  /** A constant, broadcast to the batch length. Value in the {@link Vec} representation. */
  record LiteralExpr(ArrowType type, Object value) implements PhysicalExpr {
    @Override
    public Vec evaluate(Batch batch) {
      return broadcast(batch.count());
    }

    public Vec broadcast(int n) {
      if (value == null) {
        return VecReader.allNull(type, n);
      }
      switch (TypeKind.of(type)) {
        case BOOL -> {
          boolean[] v = new boolean[n];
          Arrays.fill(v, (Boolean) value);
          return new BoolVec(v, n, null);
        }
        case FLOAT -> {
          double[] v = new double[n];
          Arrays.fill(v, ((Number) value).doubleValue());
          return new DoubleVec(type, v, n, null);
        }
        case STRING, BINARY -> {
          byte[] one = value instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : (byte[]) value;
          byte[] data = new byte[one.length * n];
          int[] offs = new int[n + 1];
          for (int i = 0; i < n; i++) {
            System.arraycopy(one, 0, data, i * one.length, one.length);
            offs[i + 1] = (i + 1) * one.length;
          }
          return new BytesVec(type, data, offs, n, null);
        }
        default -> {
          long[] v = new long[n];
          Arrays.fill(v, longValue());
          return new LongVec(type, v, n, null);
        }
      }
    }

    /** The value of a long-backed literal (decimal: unscaled). */
    public long longValue() {
      if (value instanceof BigDecimal d) {
        return d.unscaledValue().longValueExact();
      }
      if (value instanceof Boolean b) {
        return b ? 1 : 0;
      }
      return ((Number) value).longValue();
    }

    @Override
    public String explain() {
      return value instanceof String ? "'" + value + "'" : value + ":" + TypeNames.describe(type);
    }
  }

  /** A function applied to argument chunks. */
  record CallExpr(String name, List<PhysicalExpr> args, ArrowType type, VectorKernel kernel)
      implements PhysicalExpr {
    @Override
    public Vec evaluate(Batch batch) {
      Vec[] in = new Vec[args.size()];
      for (int i = 0; i < in.length; i++) {
        in[i] = args.get(i).evaluate(batch);
      }
      return kernel.apply(in, batch.count());
    }

    @Override
    public String explain() {
      return name + "(" + args.stream().map(PhysicalExpr::explain).collect(Collectors.joining(", ")) + ")";
    }
  }
}
