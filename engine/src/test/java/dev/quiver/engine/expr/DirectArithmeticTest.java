package dev.quiver.engine.expr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.expr.ArithmeticFunctions.Op;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVectorHelper;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The direct (Arrow-to-Arrow) arithmetic kernels against plain Java arithmetic row by row, and
 * against the heap kernels of the same expression, over columns with nulls, NaN, infinities,
 * signed zeros and int64 values that wrap.
 */
@ExtendWith(LeakCheck.class)
class DirectArithmeticTest {
  static final int ROWS = 3001;
  static final Op[] OPS = Op.values();
  static final String[] NAMES = {"add", "subtract", "multiply", "divide", "modulo"};

  @Test
  void float64MatchesJavaArithmeticForEveryShape(EngineMemory memory) {
    try (BufferAllocator alloc = memory.root().newChildAllocator("t", 0, Long.MAX_VALUE);
         Float8Vector x = new Float8Vector("x", alloc);
         Float8Vector y = new Float8Vector("y", alloc)) {
      Random rnd = new Random(11);
      double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0,
          Double.MIN_VALUE, Double.MAX_VALUE};
      fillDoubles(x, rnd, specials);
      fillDoubles(y, rnd, specials);
      Schema schema = new Schema(List.of(x.getField(), y.getField()));
      var cx = new PhysicalExpr.ColumnRef(0, "x", Types.FLOAT64);
      var cy = new PhysicalExpr.ColumnRef(1, "y", Types.FLOAT64);
      var lit = new PhysicalExpr.LiteralExpr(Types.FLOAT64, -2.5);
      for (int offset : new int[] {0, 8, 1024}) {
        int count = ROWS - offset - 5;
        try (Batch b = new Batch(schema, List.of(x, y), null, offset, count, null, false, 0)) {
          for (int o = 0; o < OPS.length; o++) {
            Op op = OPS[o];
            List<List<PhysicalExpr>> shapes = List.of(List.of(cx, cy), List.of(cx, lit), List.of(lit, cy));
            for (List<PhysicalExpr> args : shapes) {
              PhysicalExpr e = ArithmeticFunctions.bind(NAMES[o], op, args);
              boolean litLeft = args.get(0) instanceof PhysicalExpr.LiteralExpr;
              try (FieldVector d = e.evaluateDirect(b, Field.nullable("v", Types.FLOAT64), alloc)) {
                if (litLeft && op != Op.ADD && op != Op.MUL) {
                  assertNull(d, "no direct kernel for a constant on the left of " + op);
                  continue;
                }
                assertNotNull(d, op + " " + args);
                Vec heap = e.evaluate(b);
                b.clearCaches();
                for (int i = 0; i < count; i++) {
                  int r = offset + i;
                  Double xv = litLeft ? Double.valueOf(-2.5) : (Double) value(x, r);
                  Double yv = args.get(1) == lit ? Double.valueOf(-2.5) : (Double) value(y, r);
                  Object want = xv == null || yv == null ? null : apply(op, xv, yv);
                  String where = op + " " + args + " row " + r;
                  assertEquals(want, value(d, i), where);
                  assertEquals(heap.object(i), value(d, i), where);
                }
                assertEquals(count, d.getValueCount());
                for (int j = count; j < (count + 7) / 8 * 8; j++) {
                  assertEquals(0, BitVectorHelper.get(d.getValidityBuffer(), j), "validity bit past the end");
                }
              }
            }
          }
        }
      }
    }
  }

  @Test
  void int64WrapsLikeJavaAndLeavesDivisionToTheHeapKernel(EngineMemory memory) {
    try (BufferAllocator alloc = memory.root().newChildAllocator("t", 0, Long.MAX_VALUE);
         BigIntVector a = new BigIntVector("a", alloc);
         BigIntVector c = new BigIntVector("c", alloc)) {
      Random rnd = new Random(5);
      long[] specials = {Long.MAX_VALUE, Long.MIN_VALUE, -1, 0, 1L << 40};
      fillLongs(a, rnd, specials);
      fillLongs(c, rnd, specials);
      Schema schema = new Schema(List.of(a.getField(), c.getField()));
      var ca = new PhysicalExpr.ColumnRef(0, "a", Types.INT64);
      var cc = new PhysicalExpr.ColumnRef(1, "c", Types.INT64);
      var lit = new PhysicalExpr.LiteralExpr(Types.INT64, Long.MAX_VALUE);
      int offset = 16;
      int count = ROWS - offset;
      try (Batch b = new Batch(schema, List.of(a, c), null, offset, count, null, false, 0)) {
        for (int o = 0; o < OPS.length; o++) {
          Op op = OPS[o];
          for (List<PhysicalExpr> args : List.of(List.<PhysicalExpr>of(ca, cc), List.<PhysicalExpr>of(ca, lit),
              List.<PhysicalExpr>of(lit, cc))) {
            PhysicalExpr e = ArithmeticFunctions.bind(NAMES[o], op, args);
            try (FieldVector d = e.evaluateDirect(b, Field.nullable("v", Types.INT64), alloc)) {
              boolean litLeft = args.get(0) == lit;
              if (op == Op.DIV || op == Op.MOD || litLeft && op == Op.SUB) {
                assertNull(d, op + " " + args);
                continue;
              }
              assertNotNull(d, op + " " + args);
              for (int i = 0; i < count; i++) {
                int r = offset + i;
                Long xv = litLeft ? Long.valueOf(Long.MAX_VALUE) : (Long) value(a, r);
                Long yv = args.get(1) == lit ? Long.valueOf(Long.MAX_VALUE) : (Long) value(c, r);
                Long want = xv == null || yv == null ? null
                    : op == Op.ADD ? xv + yv : op == Op.SUB ? xv - yv : xv * yv;
                assertEquals(want, value(d, i), op + " " + args + " row " + r);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void batchesItCannotReadDirectlyAreLeftToTheHeapKernel(EngineMemory memory) {
    try (BufferAllocator alloc = memory.root().newChildAllocator("t", 0, Long.MAX_VALUE);
         Float8Vector x = new Float8Vector("x", alloc)) {
      fillDoubles(x, new Random(3), new double[] {1});
      Schema schema = new Schema(List.of(x.getField()));
      PhysicalExpr e = ArithmeticFunctions.bind("multiply", Op.MUL, List.of(
          new PhysicalExpr.ColumnRef(0, "x", Types.FLOAT64), new PhysicalExpr.LiteralExpr(Types.FLOAT64, 2.0)));
      Field f = Field.nullable("v", Types.FLOAT64);
      try (Batch unaligned = new Batch(schema, List.of(x), null, 3, 100, null, false, 0);
           Batch selected = new Batch(schema, List.of(x), null, 0, 2, new int[] {5, 9}, false, 0)) {
        assertNull(e.evaluateDirect(unaligned, f, alloc));
        assertNull(e.evaluateDirect(selected, f, alloc));
      }
      // A float32 or int32 result has no direct kernel.
      PhysicalExpr narrow = ArithmeticFunctions.bind("add", Op.ADD, List.of(
          new PhysicalExpr.ColumnRef(0, "i", Types.INT32), new PhysicalExpr.LiteralExpr(Types.INT32, 1L)));
      assertNull(DirectArithmetic.of(Op.ADD, ((PhysicalExpr.CallExpr) narrow).args().get(0),
          ((PhysicalExpr.CallExpr) narrow).args().get(1), narrow.type()));
    }
  }

  static Object apply(Op op, double x, double y) {
    return switch (op) {
      case ADD -> x + y;
      case SUB -> x - y;
      case MUL -> x * y;
      case DIV -> x / y;
      case MOD -> x % y;
    };
  }

  static Object value(FieldVector v, int i) {
    return v.isNull(i) ? null : v.getObject(i);
  }

  static void fillDoubles(Float8Vector v, Random rnd, double[] specials) {
    v.allocateNew(ROWS);
    for (int i = 0; i < ROWS; i++) {
      int k = rnd.nextInt(20);
      if (k == 0) {
        v.setNull(i);
      } else if (k == 1) {
        v.set(i, specials[rnd.nextInt(specials.length)]);
      } else {
        v.set(i, rnd.nextGaussian() * 1e3);
      }
    }
    v.setValueCount(ROWS);
  }

  static void fillLongs(BigIntVector v, Random rnd, long[] specials) {
    v.allocateNew(ROWS);
    for (int i = 0; i < ROWS; i++) {
      int k = rnd.nextInt(20);
      if (k == 0) {
        v.setNull(i);
      } else if (k < 4) {
        v.set(i, specials[rnd.nextInt(specials.length)]);
      } else {
        v.set(i, rnd.nextLong());
      }
    }
    v.setValueCount(ROWS);
  }
}
