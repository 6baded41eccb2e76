package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.ViewVarCharVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * String keys read in place hash, compare and encode exactly as {@link RowKeys} does the same
 * column's values copied out, for every length the hash treats apart (0 to 16 bytes word by
 * word, longer ones through XXH64, 255 and more with the long length header), with nulls next
 * to empty strings, in every string layout, over a range of rows and under a selection; and a
 * {@link GroupTable} fed chunks either way gives each key one group. Rows also order as their
 * bytes do, unsigned (min and max read them in place).
 */
@ExtendWith(LeakCheck.class)
class StringColumnKeysTest {
  private static final int ROWS = 4000;

  /** Values drawn from a pool, so keys repeat; a tenth null; lengths 0-40 mostly, some 250-300. */
  private static byte[][] values(Random r) {
    byte[][] pool = new byte[600][];
    for (int p = 0; p < pool.length; p++) {
      int len = p % 10 == 0 ? 250 + r.nextInt(51) : r.nextInt(41);
      pool[p] = new byte[len];
      // Few distinct bytes and zeros: keys that differ in one late byte, or only by length.
      for (int q = 0; q < len; q++) {
        pool[p][q] = (byte) (r.nextInt(3) == 0 ? 0 : 'a' + r.nextInt(3));
      }
    }
    byte[][] out = new byte[ROWS][];
    for (int i = 0; i < ROWS; i++) {
      out[i] = r.nextInt(10) == 0 ? null : pool[r.nextInt(pool.length)];
    }
    return out;
  }

  private static FieldVector vector(int layout, byte[][] values, BufferAllocator a) {
    FieldVector v = switch (layout) {
      case 0 -> new VarCharVector("s", a);
      case 1 -> new LargeVarCharVector("s", a);
      case 2 -> new ViewVarCharVector("s", a);
      default -> new VarBinaryVector("s", a);
    };
    v.setInitialCapacity(values.length);
    v.allocateNew();
    for (int i = 0; i < values.length; i++) {
      if (values[i] == null) {
        v.setNull(i);
        continue;
      }
      switch (layout) {
        case 0 -> ((VarCharVector) v).setSafe(i, values[i]);
        case 1 -> ((LargeVarCharVector) v).setSafe(i, values[i]);
        case 2 -> ((ViewVarCharVector) v).setSafe(i, values[i]);
        default -> ((VarBinaryVector) v).setSafe(i, values[i]);
      }
    }
    v.setValueCount(values.length);
    return v;
  }

  /** The encoded keys of the given rows, made the ordinary way: copied out, then encoded. */
  private static RowKeys encoded(byte[][] values, int[] rows, int n) {
    int[] offsets = new int[n + 1];
    boolean[] nulls = new boolean[n];
    java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < n; i++) {
      byte[] v = values[rows[i]];
      nulls[i] = v == null;
      if (v != null) {
        data.write(v, 0, v.length);
      }
      offsets[i + 1] = data.size();
    }
    Vec s = new BytesVec(ArrowType.Utf8.INSTANCE, data.toByteArray(), offsets, n, nulls);
    return RowKeys.encode(new Vec[] {s}, n);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3})
  void inPlaceKeysHashCompareAndEncodeAsEncodedKeysDo(int layout, EngineMemory memory) {
    Random r = new Random(layout);
    byte[][] values = values(r);
    try (FieldVector v = vector(layout, values, memory.root())) {
      Schema schema = new Schema(List.of(v.getField()));
      int[] selection = new int[ROWS / 3];
      for (int i = 0, row = 0; i < selection.length; i++, row += 1 + r.nextInt(3)) {
        selection[i] = Math.min(row, ROWS - 1);
      }
      Batch[] batches = {
          new Batch(schema, List.of(v), null, 0, ROWS, null, false, 0),
          new Batch(schema, List.of(v), null, 1024, 1000, null, false, 1),
          new Batch(schema, List.of(v), null, 0, selection.length, selection, false, 2)};
      for (Batch b : batches) {
        int n = b.count();
        int[] rows = b.rows().clone();
        StringColumnKeys k = StringColumnKeys.of(b, 0);
        assertNotNull(k, v.getClass().getSimpleName());
        RowKeys want = encoded(values, rows, n);
        // The ordinary path's own read of the column agrees (a null's view holds anything).
        Vec read = dev.quiver.engine.expr.VecReader.read(v, null, rows, n, true);
        assertArrayEquals(Arrays.copyOf(want.hashes, n),
            Arrays.copyOf(RowKeys.encode(new Vec[] {read}, n).hashes, n), "read " + layout);
        // Hashed in uneven blocks, as the tables do.
        for (int from = 0; from < n; from += 97) {
          k.hash(from, Math.min(n, from + 97));
        }
        assertArrayEquals(Arrays.copyOf(want.hashes, n), Arrays.copyOf(k.hashes(), n),
            v.getClass().getSimpleName() + " hashes");
        assertEquals(want.offsets[n] - want.offsets[0], k.encodedBytes());
        byte[] buf = new byte[400];
        for (int i = 0; i < n; i++) {
          int len = k.encode(i, buf, 3);
          assertArrayEquals(Arrays.copyOfRange(want.data, want.offsets[i], want.offsets[i + 1]),
              Arrays.copyOfRange(buf, 3, 3 + len), "encoded key of row " + rows[i]);
          // Against its own key, the next row's and a random one's.
          for (int j : new int[] {i, (i + 1) % n, r.nextInt(n)}) {
            boolean equal = Arrays.equals(values[rows[i]], values[rows[j]]);
            assertEquals(equal, k.same(i, want.data, want.offsets[j], want.length(j)),
                "row " + rows[i] + " against row " + rows[j]);
            if (values[rows[i]] != null && values[rows[j]] != null) {
              assertEquals(Integer.signum(Arrays.compareUnsigned(values[rows[i]], values[rows[j]])),
                  Integer.signum(k.compareUnsigned(i, values[rows[j]])),
                  "order of row " + rows[i] + " and row " + rows[j]);
            }
          }
          if (!k.isNull(i)) {
            assertArrayEquals(values[rows[i]], k.bytes(i));
          }
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 2})
  void aGroupTableFedChunksEitherWayGivesEachKeyOneGroup(int layout, EngineMemory memory) {
    Random r = new Random(10 + layout);
    byte[][] values = values(r);
    try (FieldVector v = vector(layout, values, memory.root())) {
      Schema schema = new Schema(List.of(v.getField()));
      GroupTable mixed = new GroupTable();
      GroupTable plain = new GroupTable();
      for (int start = 0, chunk = 0; start < ROWS; start += 512, chunk++) {
        int n = Math.min(512, ROWS - start);
        Batch b = new Batch(schema, List.of(v), null, start, n, null, false, chunk);
        int[] rows = b.rows().clone();
        int[] want = plain.findOrInsert(encoded(values, rows, n)).clone();
        int[] got = chunk % 2 == 0 ? mixed.findOrInsert(StringColumnKeys.of(b, 0)).clone()
            : mixed.findOrInsert(encoded(values, rows, n)).clone();
        assertArrayEquals(want, got, "chunk " + chunk);
      }
      assertEquals(plain.size(), mixed.size());
      assertEquals(plain.keyBytes(), mixed.keyBytes());
      assertArrayEquals(Arrays.copyOf(plain.keyData(), plain.keyBytes()),
          Arrays.copyOf(mixed.keyData(), mixed.keyBytes()));
    }
  }
}
