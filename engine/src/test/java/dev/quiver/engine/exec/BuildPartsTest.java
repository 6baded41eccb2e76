package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gathering a join's build columns across the batches they arrived in gives what gathering from
 * their concatenation gives: values, nulls and outer-join padding, for every layout.
 */
@ExtendWith(LeakCheck.class)
class BuildPartsTest {
  private static final int ROWS = 3000;

  /** One column of ROWS values of each layout, about a fifth null. */
  private static List<FieldVector> columns(BufferAllocator a, Random r) {
    TinyIntVector i8 = new TinyIntVector("i8", a);
    SmallIntVector i16 = new SmallIntVector("i16", a);
    IntVector i32 = new IntVector("i32", a);
    BigIntVector i64 = new BigIntVector("i64", a);
    DecimalVector dec = new DecimalVector("dec", a, 20, 2);
    BitVector bits = new BitVector("b", a);
    VarCharVector str = new VarCharVector("s", a);
    LargeVarCharVector large = new LargeVarCharVector("ls", a);
    List<FieldVector> cols = List.of(i8, i16, i32, i64, dec, bits, str, large);
    for (FieldVector v : cols) {
      v.setInitialCapacity(ROWS);
      v.allocateNew();
    }
    for (int i = 0; i < ROWS; i++) {
      if (r.nextInt(5) == 0) {
        for (FieldVector v : cols) {
          v.setNull(i);
        }
        continue;
      }
      i8.setSafe(i, r.nextInt(256) - 128);
      i16.setSafe(i, r.nextInt(65536) - 32768);
      i32.setSafe(i, r.nextInt());
      i64.setSafe(i, r.nextLong());
      dec.setSafe(i, BigDecimal.valueOf(r.nextLong() % 1_000_000_000_000L, 2));
      bits.setSafe(i, r.nextInt(2));
      byte[] s = ("v" + r.nextInt(1_000_000) + "é".repeat(r.nextInt(4))).getBytes(StandardCharsets.UTF_8);
      str.setSafe(i, s);
      large.setSafe(i, s);
    }
    for (FieldVector v : cols) {
      v.setValueCount(ROWS);
    }
    return cols;
  }

  @Test
  void gatheringAcrossPartsMatchesGatheringFromOneBatch(EngineMemory memory) {
    Random r = new Random(11);
    BufferAllocator a = memory.root();
    List<FieldVector> whole = columns(a, r);
    Schema schema = new Schema(whole.stream().map(FieldVector::getField).toList());
    // Parts of uneven sizes over the same vectors (borrowed ranges, as scan morsels are).
    int[] cuts = {0, 700, 701, 1900, ROWS};
    List<Batch> parts = new ArrayList<>();
    for (int p = 0; p + 1 < cuts.length; p++) {
      parts.add(new Batch(schema, whole, null, cuts[p], cuts[p + 1] - cuts[p], null, false, p));
    }
    assertTrue(BuildParts.supports(parts));
    Batch one = new Batch(schema, whole, null, 0, ROWS, null, false, 0);
    int n = 5000;
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = r.nextInt(9) == 0 ? -1 : r.nextInt(ROWS);
    }
    try (BuildParts bp = new BuildParts(parts)) {
      assertEquals(ROWS, bp.count());
      for (int c = 0; c < whole.size(); c++) {
        Field f = schema.getFields().get(c);
        try (FieldVector got = bp.take(c, rows, n, f, a);
             FieldVector want = Take.take(one, c, rows, n, f, a)) {
          assertEquals(n, got.getValueCount(), f.getName());
          for (int i = 0; i < n; i++) {
            assertEquals(String.valueOf(want.getObject(i)), String.valueOf(got.getObject(i)),
                f.getName() + " row " + i + " (build row " + rows[i] + ")");
            if (rows[i] < 0) {
              assertNull(got.getObject(i), "padding is null");
            }
          }
        }
      }
    }
    for (FieldVector v : whole) {
      v.close();
    }
  }

  @Test
  void scatteringWritesEachBuildRowAtItsPosition(EngineMemory memory) {
    Random r = new Random(12);
    BufferAllocator a = memory.root();
    List<FieldVector> whole = columns(a, r);
    Schema schema = new Schema(whole.stream().map(FieldVector::getField).toList());
    List<Batch> parts = List.of(new Batch(schema, whole, null, 0, 1000, null, false, 0),
        new Batch(schema, whole, null, 1000, ROWS - 1000, null, false, 1));
    Batch one = new Batch(schema, whole, null, 0, ROWS, null, false, 0);
    int span = 4000;
    int[] positions = new int[span];
    int[] rows = new int[span];
    int m = 0;
    for (int pos = 0; pos < span; pos++) {
      if (r.nextInt(3) == 0) {
        positions[m] = pos;
        rows[m] = r.nextInt(7) == 0 ? -1 : r.nextInt(ROWS);
        m++;
      }
    }
    try (BuildParts bp = new BuildParts(parts); BuildParts view = BuildParts.view(one)) {
      for (BuildParts source : List.of(bp, view)) {
        for (int c = 0; c < whole.size(); c++) {
          Field f = schema.getFields().get(c);
          try (FieldVector got = source.scatter(c, rows, positions, m, span, f, a)) {
            if (got == null) {
              assertTrue(whole.get(c) instanceof BitVector || whole.get(c) instanceof LargeVarCharVector,
                  f.getName() + " should scatter");
              continue;
            }
            assertEquals(span, got.getValueCount());
            try (FieldVector want = Take.take(one, c, java.util.Arrays.copyOf(rows, m), m, f, a)) {
              for (int k = 0; k < m; k++) {
                assertEquals(String.valueOf(want.getObject(k)), String.valueOf(got.getObject(positions[k])),
                    f.getName() + " position " + positions[k]);
              }
            }
          }
        }
      }
    }
    one.close();
    for (FieldVector v : whole) {
      v.close();
    }
  }

  @Test
  void selectionsAndDictionariesAreLeftToConcatenation(EngineMemory memory) {
    BufferAllocator a = memory.root();
    try (IntVector v = new IntVector("x", a)) {
      v.allocateNew(4);
      v.setValueCount(4);
      Schema schema = new Schema(List.of(v.getField()));
      Batch filtered = new Batch(schema, List.of(v), null, 0, 2, new int[] {0, 3}, false, 0);
      assertFalse(BuildParts.supports(List.of(filtered)));
      Batch encoded = new Batch(schema, List.of(v), new FieldVector[] {v}, 0, 4, null, false, 0);
      assertFalse(BuildParts.supports(List.of(encoded)));
    }
  }
}
