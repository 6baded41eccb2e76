package dev.quiver.engine.exec;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.DatasetBuilder;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ViewVarCharVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/** Test helper: small in-memory tables from Java values (null = SQL null). */
public final class TestTables {
  private TestTables() {}

  public record Col(String name, ArrowType type, List<?> values) {}

  public static Col col(String name, ArrowType type, Object... values) {
    return new Col(name, type, java.util.Arrays.asList(values));
  }

  /** A root with the given columns; the caller closes it. */
  public static VectorSchemaRoot root(BufferAllocator allocator, Col... cols) {
    List<FieldVector> vs = new ArrayList<>();
    int n = cols[0].values().size();
    for (Col c : cols) {
      Field f = c.type() instanceof ArrowType.List
          ? new Field(c.name(), FieldType.nullable(c.type()),
              List.of(Field.nullable("item", new ArrowType.Int(32, true))))
          : new Field(c.name(), FieldType.nullable(c.type()), null);
      FieldVector v = f.createVector(allocator);
      fill(v, c.values());
      vs.add(v);
    }
    return new VectorSchemaRoot(new Schema(vs.stream().map(FieldVector::getField).toList()), vs, n);
  }

  /** Commits the columns as dataset {@code name}, split into batches of {@code batchRows}. */
  public static void load(Catalog catalog, String name, int batchRows, Col... cols) {
    int n = cols[0].values().size();
    Schema schema = null;
    DatasetBuilder b = null;
    try {
      for (int from = 0; from < Math.max(n, 1); from += batchRows) {
        int to = Math.min(n, from + batchRows);
        Col[] part = new Col[cols.length];
        for (int i = 0; i < cols.length; i++) {
          part[i] = new Col(cols[i].name(), cols[i].type(), cols[i].values().subList(from, to));
        }
        try (VectorSchemaRoot r = root(catalog.memory().root(), part)) {
          if (b == null) {
            schema = r.getSchema();
            b = catalog.newDataset(name, schema);
          }
          b.appendTransfer(r);
        }
        if (n == 0) {
          break;
        }
      }
      catalog.commit(b.build());
    } finally {
      if (b != null) {
        b.close();
      }
    }
  }

  static void fill(FieldVector v, List<?> values) {
    int n = values.size();
    v.setInitialCapacity(Math.max(1, n));
    v.allocateNew();
    for (int i = 0; i < n; i++) {
      Object o = values.get(i);
      if (o == null) {
        if (v instanceof ListVector) {
          ((ListVector) v).setNull(i);
        } else {
          v.setNull(i);
        }
        continue;
      }
      if (v instanceof BaseIntVector iv && !(v instanceof DateDayVector)) {
        iv.setWithPossibleTruncate(i, ((Number) o).longValue());
      } else if (v instanceof DateDayVector d) {
        d.setSafe(i, o instanceof java.time.LocalDate ld ? (int) ld.toEpochDay() : ((Number) o).intValue());
      } else if (v instanceof Float8Vector f) {
        f.setSafe(i, ((Number) o).doubleValue());
      } else if (v instanceof Float4Vector f) {
        f.setSafe(i, ((Number) o).floatValue());
      } else if (v instanceof BitVector bv) {
        bv.setSafe(i, (Boolean) o ? 1 : 0);
      } else if (v instanceof DecimalVector d) {
        d.setSafe(i, ((BigDecimal) (o instanceof String s ? new BigDecimal(s) : o)).setScale(d.getScale()));
      } else if (v instanceof VarCharVector s) {
        s.setSafe(i, ((String) o).getBytes(StandardCharsets.UTF_8));
      } else if (v instanceof LargeVarCharVector s) {
        s.setSafe(i, ((String) o).getBytes(StandardCharsets.UTF_8));
      } else if (v instanceof ViewVarCharVector s) {
        s.setSafe(i, ((String) o).getBytes(StandardCharsets.UTF_8));
      } else if (v instanceof VarBinaryVector s) {
        s.setSafe(i, (byte[]) o);
      } else if (v instanceof ListVector l) {
        UnionListWriter w = l.getWriter();
        w.setPosition(i);
        w.startList();
        for (Object x : (List<?>) o) {
          w.writeInt((Integer) x);
        }
        w.endList();
      } else {
        throw new IllegalArgumentException("unsupported test vector " + v.getClass());
      }
    }
    v.setValueCount(n);
  }
}
