package com.acme;

import dev.quiver.engine.udf.BatchUdf;
import dev.quiver.engine.udf.Udf;
import dev.quiver.engine.udf.UdfArgs;
import dev.quiver.engine.udf.UdfException;
import dev.quiver.engine.udf.UdfReaders;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Group-by sum over a stream: {@code eng.function("com.acme.GroupSum")(data, key="k",
 * value="v")} returns one row per distinct non-null key with {@code key}, {@code sum} (float64)
 * and {@code count} (int64) of the non-null values; groups in first-seen order.
 */
@Udf(name = "group_sum", description = "sum and count of a float64 column per int64 key")
public final class GroupSum implements BatchUdf {
  /** Rows per parallel part: below this a batch is aggregated on the calling thread. */
  private static final int PARALLEL_ROWS = 1 << 18;

  @Override
  public ArrowReader apply(ArrowReader input, UdfArgs args, BufferAllocator allocator)
      throws Exception {
    String keyName = args.string("key");
    String valueName = args.string("value");
    Table table = new Table();
    while (input.loadNextBatch()) {
      VectorSchemaRoot batch = input.getVectorSchemaRoot();
      BigIntVector k = column(batch, keyName, BigIntVector.class, "int64");
      Float8Vector v = column(batch, valueName, Float8Vector.class, "float64");
      int n = batch.getRowCount();
      int parts = n < PARALLEL_ROWS ? 1 : (n + PARALLEL_ROWS - 1) / PARALLEL_ROWS;
      if (parts == 1) {
        table.add(k, v, 0, n);
        continue;
      }
      // Large batches: each part of the rows aggregates into its own table on the common pool,
      // then the parts merge in row order (so a rerun adds the same numbers in the same order).
      Table[] partial = new Table[parts];
      IntStream.range(0, parts).parallel().forEach(p -> {
        Table t = new Table();
        t.add(k, v, (int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts));
        partial[p] = t;
      });
      for (Table t : partial) {
        table.merge(t);
      }
    }
    Schema schema = new Schema(List.of(Field.nullable(keyName, new ArrowType.Int(64, true)),
        Field.nullable("sum", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
        Field.nullable("count", new ArrowType.Int(64, true))));
    VectorSchemaRoot out = VectorSchemaRoot.create(schema, allocator);
    try {
      table.writeTo(out);
    } catch (RuntimeException e) {
      out.close();
      throw e;
    }
    return UdfReaders.single(out, allocator);
  }

  private static <T extends FieldVector> T column(VectorSchemaRoot b, String name, Class<T> type,
      String typeName) {
    FieldVector v = b.getVector(name);
    if (v == null) {
      throw new UdfException("group_sum: no column '" + name + "' in " + b.getSchema());
    }
    if (!type.isInstance(v)) {
      throw new UdfException("group_sum: column '" + name + "' must be " + typeName + ", got "
          + v.getField().getType());
    }
    return type.cast(v);
  }

  /** Open addressing from key to group index; per-group sums in parallel arrays. */
  private static final class Table {
    private static final int CHUNK = 4096;
    private final long[] ks = new long[CHUNK];
    private final double[] vs = new double[CHUNK];
    private long[] slotKeys = new long[1024];
    private int[] slotGroup = new int[1024]; // 0 = empty, else group index + 1
    private long[] keys = new long[256];
    private double[] sums = new double[256];
    private long[] counts = new long[256];
    private int groups;

    /** Adds rows {@code [from, to)}. */
    void add(BigIntVector k, Float8Vector v, int from, int to) {
      int n = to - from;
      ArrowBuf kb = k.getDataBuffer();
      ArrowBuf vb = v.getDataBuffer();
      LongBuffer kin = kb.nioBuffer(from * 8L, n * 8).order(ByteOrder.LITTLE_ENDIAN)
          .asLongBuffer();
      DoubleBuffer vin = vb.nioBuffer(from * 8L, n * 8).order(ByteOrder.LITTLE_ENDIAN)
          .asDoubleBuffer();
      boolean keyNulls = k.getNullCount() > 0;
      boolean valueNulls = v.getNullCount() > 0;
      // cache-sized chunks copied out of the Arrow buffers, then a tight loop over arrays
      for (int off = 0; off < n; off += CHUNK) {
        int len = Math.min(CHUNK, n - off);
        kin.get(ks, 0, len);
        vin.get(vs, 0, len);
        for (int j = 0; j < len; j++) {
          int i = from + off + j;
          if (keyNulls && k.isNull(i)) {
            continue;
          }
          int g = group(ks[j]);
          if (!valueNulls || !v.isNull(i)) {
            sums[g] += vs[j];
            counts[g]++;
          }
        }
      }
    }

    /** Adds another table's groups (a group whose values were all null keeps count 0). */
    void merge(Table other) {
      for (int g = 0; g < other.groups; g++) {
        int mine = group(other.keys[g]);
        sums[mine] += other.sums[g];
        counts[mine] += other.counts[g];
      }
    }

    private int group(long key) {
      int mask = slotKeys.length - 1;
      int s = mix(key) & mask;
      while (true) {
        int g = slotGroup[s];
        if (g == 0) {
          return insert(s, key);
        }
        if (slotKeys[s] == key) {
          return g - 1;
        }
        s = (s + 1) & mask;
      }
    }

    private int insert(int slot, long key) {
      if (groups == keys.length) {
        keys = Arrays.copyOf(keys, groups * 2);
        sums = Arrays.copyOf(sums, groups * 2);
        counts = Arrays.copyOf(counts, groups * 2);
      }
      int g = groups++;
      keys[g] = key;
      slotKeys[slot] = key;
      slotGroup[slot] = g + 1;
      if (groups * 2 > slotKeys.length) {
        rehash();
      }
      return g;
    }

    private void rehash() {
      int size = slotKeys.length * 2;
      slotKeys = new long[size];
      slotGroup = new int[size];
      int mask = size - 1;
      for (int g = 0; g < groups; g++) {
        int s = mix(keys[g]) & mask;
        while (slotGroup[s] != 0) {
          s = (s + 1) & mask;
        }
        slotKeys[s] = keys[g];
        slotGroup[s] = g + 1;
      }
    }

    private static int mix(long key) {
      long h = key * 0x9E3779B97F4A7C15L;
      return (int) (h ^ (h >>> 32));
    }

    void writeTo(VectorSchemaRoot out) {
      BigIntVector k = (BigIntVector) out.getVector(0);
      Float8Vector s = (Float8Vector) out.getVector(1);
      BigIntVector c = (BigIntVector) out.getVector(2);
      k.allocateNew(groups);
      s.allocateNew(groups);
      c.allocateNew(groups);
      for (int g = 0; g < groups; g++) {
        k.set(g, keys[g]);
        if (counts[g] == 0) {
          s.setNull(g);
        } else {
          s.set(g, sums[g]);
        }
        c.set(g, counts[g]);
      }
      out.setRowCount(groups);
    }
  }
}
