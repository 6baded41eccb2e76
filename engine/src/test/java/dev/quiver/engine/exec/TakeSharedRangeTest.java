package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.ViewVarCharVector;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A contiguous range of a flat column (a scan morsel) leaves the engine without a copy: same
 * values as a row-by-row take, the source's own value bytes, and the source's allocator still
 * accounting for them.
 */
@ExtendWith(LeakCheck.class)
class TakeSharedRangeTest {
  private static final int N = 5_000;

  private static BigIntVector longs(BufferAllocator a, Random r) {
    BigIntVector v = new BigIntVector("x", a);
    v.allocateNew(N);
    for (int i = 0; i < N; i++) {
      if (r.nextInt(5) == 0) {
        v.setNull(i);
      } else {
        v.set(i, r.nextLong());
      }
    }
    v.setValueCount(N);
    return v;
  }

  private static VarCharVector strings(BufferAllocator a, Random r) {
    VarCharVector v = new VarCharVector("s", a);
    v.allocateNew();
    for (int i = 0; i < N; i++) {
      if (r.nextInt(5) == 0) {
        v.setNull(i);
      } else {
        v.setSafe(i, ("v" + r.nextInt(100_000)).getBytes(StandardCharsets.UTF_8));
      }
    }
    v.setValueCount(N);
    return v;
  }

  private static Batch range(FieldVector src, int offset, int count) {
    return new Batch(new Schema(List.of(src.getField())), List.of(src), null, offset, count, null,
        false, 0);
  }

  /** Takes {@code [offset, offset+count)} both ways and checks they agree value by value. */
  private static void assertSharedEqualsTaken(FieldVector src, int offset, int count,
      BufferAllocator query) {
    Batch b = range(src, offset, count);
    try (FieldVector shared = Take.column(b, 0, src.getField(), query);
         FieldVector taken = Take.take(b, 0, b.rows(), count, src.getField(), query)) {
      assertEquals(count, shared.getValueCount());
      for (int i = 0; i < count; i++) {
        assertEquals(taken.getObject(i), shared.getObject(i), "row " + (offset + i));
      }
      assertEquals(taken.getNullCount(), shared.getNullCount());
    }
  }

  @Test
  void alignedRangesShareTheSourceBuffers(EngineMemory memory) {
    Random r = new Random(5);
    try (BufferAllocator dataset = memory.child("dataset");
         BufferAllocator query = memory.child("query");
         BigIntVector x = longs(dataset, r);
         VarCharVector s = strings(dataset, r)) {
      long datasetBytes = dataset.getAllocatedMemory();
      Batch b = range(x, 1024, 2048);
      try (FieldVector shared = Take.column(b, 0, x.getField(), query)) {
        assertEquals(x.getDataBufferAddress() + 1024L * 8, shared.getDataBufferAddress(),
            "the value bytes are the source's");
        assertEquals(x.getValidityBufferAddress() + 1024 / 8, shared.getValidityBufferAddress());
        assertEquals(datasetBytes, dataset.getAllocatedMemory(), "accounting stays with the owner");
        assertEquals(0, query.getAllocatedMemory(), "nothing new for a fixed-width range");
      }
      Batch sb = range(s, 8, 3000);
      try (VarCharVector shared = (VarCharVector) Take.column(sb, 0, s.getField(), query)) {
        assertEquals(s.getDataBufferAddress() + s.getStartOffset(8), shared.getDataBufferAddress());
        assertEquals(0, shared.getStartOffset(0), "offsets rebased to the range's first value");
        assertEquals(datasetBytes, dataset.getAllocatedMemory());
      }
      for (int[] oc : new int[][] {{0, N}, {8, 1}, {4992, 8}, {1600, 3400}}) {
        assertSharedEqualsTaken(x, oc[0], oc[1], query);
        assertSharedEqualsTaken(s, oc[0], oc[1], query);
      }
      assertEquals(0, query.getAllocatedMemory());
    }
  }

  @Test
  void viewRangesShareTheViewsAndEveryDataBuffer(EngineMemory memory) {
    Random r = new Random(7);
    try (BufferAllocator dataset = memory.child("dataset");
         BufferAllocator query = memory.child("query");
         ViewVarCharVector v = new ViewVarCharVector("sv", dataset)) {
      v.allocateNew();
      for (int i = 0; i < N; i++) {
        if (r.nextInt(5) == 0) {
          v.setNull(i);
        } else {
          // Inline (up to 12 bytes) and out-of-line values, the latter over several data buffers.
          v.setSafe(i, ("v" + r.nextInt(100_000) + "-".repeat(r.nextInt(40)))
              .getBytes(StandardCharsets.UTF_8));
        }
      }
      v.setValueCount(N);
      long datasetBytes = dataset.getAllocatedMemory();
      Batch b = range(v, 1024, 2048);
      try (ViewVarCharVector shared = (ViewVarCharVector) Take.column(b, 0, v.getField(), query)) {
        assertEquals(v.getDataBufferAddress() + 1024L * 16, shared.getDataBufferAddress(),
            "the views are the source's");
        assertTrue(v.getDataBuffers().size() > 1, "several data buffers: " + v.getDataBuffers().size());
        assertEquals(v.getDataBuffers().size(), shared.getDataBuffers().size());
        for (int d = 0; d < v.getDataBuffers().size(); d++) {
          assertEquals(v.getDataBuffers().get(d).memoryAddress(),
              shared.getDataBuffers().get(d).memoryAddress(), "data buffer " + d);
        }
        assertEquals(datasetBytes, dataset.getAllocatedMemory(), "accounting stays with the owner");
      }
      for (int[] oc : new int[][] {{0, N}, {8, 1}, {4992, 8}, {1600, 3400}, {3, 100}}) {
        assertSharedEqualsTaken(v, oc[0], oc[1], query);
      }
      // Rows in any order, repeated, and -1 (an outer join's padding): values, nulls and empty
      // padding as Arrow reads them back; then two batches concatenated into one vector.
      int[] rows = new int[3 * N];
      for (int i = 0; i < rows.length; i++) {
        rows[i] = r.nextInt(10) == 0 ? -1 : r.nextInt(N);
      }
      Batch whole = range(v, 0, N);
      try (FieldVector taken = Take.take(whole, 0, rows, rows.length, v.getField(), query)) {
        for (int i = 0; i < rows.length; i++) {
          assertEquals(rows[i] < 0 ? null : v.getObject(rows[i]), taken.getObject(i), "row " + i);
        }
      }
      Schema schema = new Schema(List.of(v.getField()));
      List<Batch> parts = List.of(new Batch(schema, List.of(v), null, 0, N, rows.clone(), false, 0)
          .withSelection(java.util.Arrays.stream(rows).filter(x -> x >= 0).toArray(), 100),
          range(v, 4000, 1000));
      Batch joined = Take.concat(parts, schema, query);
      try (joined) {
        FieldVector out = joined.column(0);
        assertEquals(1100, out.getValueCount());
        int[] kept = java.util.Arrays.stream(rows).filter(x -> x >= 0).toArray();
        for (int i = 0; i < 1100; i++) {
          int row = i < 100 ? kept[i] : 4000 + i - 100;
          assertEquals(v.getObject(row), out.getObject(i), "concatenated row " + i);
        }
      }
      assertEquals(0, query.getAllocatedMemory());
    }
  }

  @Test
  void theSharedRangeOutlivesItsSource(EngineMemory memory) {
    Random r = new Random(6);
    try (BufferAllocator query = memory.child("query")) {
      FieldVector shared;
      Object expected;
      try (BufferAllocator dataset = memory.child("dataset");
           LargeVarCharVector big = new LargeVarCharVector("l", dataset)) {
        big.allocateNew();
        for (int i = 0; i < N; i++) {
          big.setSafe(i, ("row" + i).getBytes(StandardCharsets.UTF_8));
        }
        big.setValueCount(N);
        shared = Take.column(range(big, 64, 100), 0, big.getField(), query);
        expected = big.getObject(64 + 99);
        big.close();
        // The dataset's allocator closes with the memory still referenced by the query: Arrow
        // moves the accounting to the remaining holder.
      }
      try (shared) {
        assertEquals(expected, shared.getObject(99));
      }
    }
  }

  @Test
  void unalignedRangesAndDecimalsAreCopiedOrShared(EngineMemory memory) {
    try (BufferAllocator dataset = memory.child("dataset");
         BufferAllocator query = memory.child("query");
         DecimalVector d = new DecimalVector("d", dataset, 15, 2)) {
      d.allocateNew(N);
      for (int i = 0; i < N; i++) {
        d.set(i, i * 37L);
      }
      d.setValueCount(N);
      assertNull(Take.sharedRange(d, d.getField(), 3, 10, query), "validity not on a byte");
      assertSharedEqualsTaken(d, 3, 10, query);
      Batch b = range(d, 16, 100);
      try (FieldVector shared = Take.column(b, 0, d.getField(), query)) {
        assertEquals(d.getDataBufferAddress() + 16L * 16, shared.getDataBufferAddress());
      }
      try (FieldVector copied = Take.column(range(d, 3, 10), 0, d.getField(), query)) {
        assertNotEquals(d.getDataBufferAddress() + 3L * 16, copied.getDataBufferAddress());
      }
    }
  }
}
