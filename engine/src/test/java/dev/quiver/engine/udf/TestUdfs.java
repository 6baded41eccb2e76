package dev.quiver.engine.udf;

import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/** UDFs registered for the tests (test META-INF/services). */
final class TestUdfs {
  private TestUdfs() {}

  static final Schema Y = new Schema(List.of(Field.nullable("y",
      new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));

  static Float8Vector column(VectorSchemaRoot root, String name) {
    if (!(root.getVector(name) instanceof Float8Vector v)) {
      throw new UdfException("expected a float64 column '" + name + "', input has "
          + root.getSchema());
    }
    return v;
  }

  /** twice(x) = 2x over float64 (integers and decimals are converted), scalar and batch. */
  @Udf(name = "twice")
  public static final class Twice implements ScalarUdf {
    static final ArrowType F64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);

    @Override
    public List<ArrowType> parameterTypes(List<ArrowType> args) {
      if (args.size() != 1) {
        throw new UdfException("twice takes one argument, got " + args.size());
      }
      if (args.get(0) instanceof ArrowType.Utf8) {
        throw new UdfException("twice takes a number, got utf8");
      }
      return List.of(F64);
    }

    @Override
    public ArrowType resultType(List<ArrowType> parameterTypes) {
      return F64;
    }

    @Override
    public dev.quiver.engine.expr.Vec apply(dev.quiver.engine.expr.Vec[] args, int n) {
      double[] x = ((dev.quiver.engine.expr.DoubleVec) args[0]).values;
      dev.quiver.engine.expr.DoubleVec out = new dev.quiver.engine.expr.DoubleVec(F64, n);
      for (int i = 0; i < n; i++) {
        out.values[i] = 2 * x[i];
      }
      return out;
    }
  }

  /** y = x * factor, batch by batch. */
  @Udf(name = "scale", description = "multiplies column x by factor")
  public static final class Scale implements BatchUdf {
    @Override
    public ArrowReader apply(ArrowReader input, UdfArgs args, BufferAllocator allocator) {
      double factor = args.number("factor");
      return UdfReaders.map(input, Y, allocator, (in, out) -> {
        Float8Vector x = column(in, "x");
        Float8Vector y = (Float8Vector) out.getVector(0);
        int n = in.getRowCount();
        y.allocateNew(n);
        for (int i = 0; i < n; i++) {
          if (x.isNull(i)) {
            y.setNull(i);
          } else {
            y.set(i, x.get(i) * factor);
          }
        }
        out.setRowCount(n);
      });
    }
  }

  /**
   * One row per input batch: the memory address of column x's data buffer (Python tests use it
   * to prove that a batch operator reads Python's memory in place).
   */
  @Udf(name = "data_address")
  public static final class DataAddress implements BatchUdf {
    static final Schema ADDR = new Schema(List.of(Field.nullable("address",
        new ArrowType.Int(64, true))));

    @Override
    public ArrowReader apply(ArrowReader input, UdfArgs args, BufferAllocator allocator) {
      String name = args.string("column", "x");
      return UdfReaders.map(input, ADDR, allocator, (in, out) -> {
        org.apache.arrow.vector.BigIntVector a =
            (org.apache.arrow.vector.BigIntVector) out.getVector(0);
        a.allocateNew(1);
        a.set(0, in.getVector(name).getDataBuffer().memoryAddress());
        out.setRowCount(1);
      });
    }
  }

  /** One row: the sum of x over the whole stream. */
  @Udf(name = "total")
  public static final class Total implements BatchUdf {
    @Override
    public ArrowReader apply(ArrowReader input, UdfArgs args, BufferAllocator allocator)
        throws Exception {
      double sum = 0;
      while (input.loadNextBatch()) {
        Float8Vector x = column(input.getVectorSchemaRoot(), "x");
        for (int i = 0; i < x.getValueCount(); i++) {
          if (!x.isNull(i)) {
            sum += x.get(i);
          }
        }
      }
      VectorSchemaRoot out = VectorSchemaRoot.create(Y, allocator);
      ((Float8Vector) out.getVector(0)).allocateNew(1);
      ((Float8Vector) out.getVector(0)).set(0, sum);
      out.setRowCount(1);
      return UdfReaders.single(out, allocator);
    }
  }

  /** y = w * x + b with w, b given at construction. */
  @Udf(name = "linear")
  public static final class Linear implements ObjectUdf {
    double w;
    double b;
    int opened;
    static int closed;

    @Override
    public void open(UdfArgs args) {
      w = args.number("w");
      b = args.number("b", 0);
      opened++;
    }

    @UdfMethod
    public VectorSchemaRoot predict(VectorSchemaRoot in, UdfArgs args, BufferAllocator alloc) {
      double bump = args.number("bump", 0);
      Float8Vector x = column(in, "x");
      VectorSchemaRoot out = VectorSchemaRoot.create(Y, alloc);
      Float8Vector y = (Float8Vector) out.getVector(0);
      int n = in.getRowCount();
      y.allocateNew(n);
      for (int i = 0; i < n; i++) {
        y.set(i, w * x.get(i) + b + bump);
      }
      out.setRowCount(n);
      return out;
    }

    @UdfMethod
    public ArrowReader totals(ArrowReader in, UdfArgs args, BufferAllocator alloc)
        throws Exception {
      return new Total().apply(in, args, alloc);
    }

    @Override
    public void close() {
      closed++;
    }
  }
}
