package dev.quiver.engine.expr;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * A bound, typed expression that computes a whole chunk at a time: {@code evaluate(batch)} returns
 * one value per live row of the batch.
 */
public sealed interface PhysicalExpr
    permits PhysicalExpr.ColumnRef, PhysicalExpr.LiteralExpr, PhysicalExpr.CallExpr {

  ArrowType type();

  Vec evaluate(Batch batch);

  /**
   * This expression over the whole batch as a new Arrow vector of {@code field}'s type, computed
   * from the batch's buffers without heap chunks ({@link DirectKernel}); null when it has no such
   * path for this batch, and the caller evaluates it instead.
   */
  default FieldVector evaluateDirect(Batch batch, Field field, BufferAllocator allocator) {
    return null;
  }

  String explain();

  /** Column {@code index} of the input. */
  record ColumnRef(int index, String name, ArrowType type) implements PhysicalExpr {
    @Override
    public Vec evaluate(Batch batch) {
      return batch.cached(index, () -> {
        if (batch.selection() == null && batch.dictionary(index) == null) {
          Vec dense = VecReader.readRange(batch.column(index), batch.offset(), batch.count(),
              batch.mayHaveNulls(index));
          if (dense != null) {
            return dense;
          }
        }
        return VecReader.read(batch.column(index), batch.dictionary(index), batch.rows(), batch.count(),
            batch.mayHaveNulls(index));
      });
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
        // Scratch arrays, as kernels' results are: a fresh 64K-row array per morsel was 5% of a
        // CASE summed over lineitem (allocating, zeroing, then filling it).
        case BOOL -> {
          boolean[] v = Scratch.bools(n);
          Arrays.fill(v, 0, n, (Boolean) value);
          return new BoolVec(v, n, null);
        }
        case FLOAT -> {
          double[] v = Scratch.doubles(n);
          Arrays.fill(v, 0, n, ((Number) value).doubleValue());
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
          long[] v = Scratch.longs(n);
          Arrays.fill(v, 0, n, longValue());
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
      if (value instanceof String) {
        return "'" + value + "'";
      }
      Object shown = value;
      if (value != null && TypeKind.of(type) == TypeKind.DECIMAL) {
        shown = BigDecimal.valueOf(longValue(), ((ArrowType.Decimal) type).getScale()).toPlainString();
      } else if (value != null && TypeKind.of(type) == TypeKind.DATE32) {
        shown = java.time.LocalDate.ofEpochDay(longValue());
      } else if (value instanceof byte[] b) {
        shown = java.util.HexFormat.of().formatHex(b);
      }
      return shown + ":" + TypeNames.describe(type);
    }
  }

  /**
   * A function applied to argument chunks. With {@code acceptsScalars}, literal arguments are
   * passed as one-row chunks instead of being broadcast, and the kernel treats a one-row
   * argument as constant (DuckDB's constant vectors).
   */
  final class CallExpr implements PhysicalExpr {
    private final String name;
    private final List<PhysicalExpr> args;
    private final ArrowType type;
    private final VectorKernel kernel;
    private final boolean acceptsScalars;
    private final DirectKernel direct;
    private final String key;

    /** @param direct the kernel's Arrow-to-Arrow form for whole batches, or null */
    public CallExpr(String name, List<PhysicalExpr> args, ArrowType type, VectorKernel kernel,
        boolean acceptsScalars, DirectKernel direct) {
      this.name = name;
      this.args = List.copyOf(args);
      this.type = type;
      this.kernel = kernel;
      this.acceptsScalars = acceptsScalars;
      this.direct = direct;
      this.key = name + "(" + this.args.stream().map(PhysicalExpr::explain).collect(Collectors.joining(", "))
          + ")";
    }

    public CallExpr(String name, List<PhysicalExpr> args, ArrowType type, VectorKernel kernel,
        boolean acceptsScalars) {
      this(name, args, type, kernel, acceptsScalars, null);
    }

    public CallExpr(String name, List<PhysicalExpr> args, ArrowType type, VectorKernel kernel) {
      this(name, args, type, kernel, false, null);
    }

    public String name() {
      return name;
    }

    public List<PhysicalExpr> args() {
      return args;
    }

    @Override
    public ArrowType type() {
      return type;
    }

    public VectorKernel kernel() {
      return kernel;
    }

    @Override
    public Vec evaluate(Batch batch) {
      return batch.cached(key, () -> {
        Vec[] in = new Vec[args.size()];
        for (int i = 0; i < in.length; i++) {
          PhysicalExpr a = args.get(i);
          in[i] = acceptsScalars && a instanceof LiteralExpr l ? l.broadcast(1) : a.evaluate(batch);
        }
        return kernel.apply(in, batch.count());
      });
    }

    @Override
    public FieldVector evaluateDirect(Batch batch, Field field, BufferAllocator allocator) {
      return direct == null ? null : direct.apply(batch, field, allocator);
    }

    @Override
    public String explain() {
      return key;
    }

    @Override
    public String toString() {
      return key;
    }
  }
}
