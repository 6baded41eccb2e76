package dev.quiver.engine.tpch;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.dataset.DatasetBuilder;
import io.trino.tpch.TpchColumn;
import io.trino.tpch.TpchEntity;
import io.trino.tpch.TpchTable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Generates TPC-H tables as Arrow record batches with {@code io.trino.tpch}.
 *
 * <p>Types follow the TPC-H specification and {@code tpchgen-cli}'s Arrow output: keys are int64,
 * integers int32, dates date32, money decimal128(15,2) and text utf8. Column names keep their
 * table prefix ({@code l_orderkey}).
 */
public final class TpchGenerator {
  public static final int DEFAULT_BATCH_ROWS = 64 * 1024;
  private static final ArrowType MONEY = new ArrowType.Decimal(15, 2, 128);

  private final double scaleFactor;
  private final int batchRows;

  public TpchGenerator(double scaleFactor, int batchRows) {
    if (!(scaleFactor > 0)) {
      throw new IllegalArgumentException("scale factor must be positive, got " + scaleFactor);
    }
    if (batchRows <= 0) {
      throw new IllegalArgumentException("batch rows must be positive, got " + batchRows);
    }
    this.scaleFactor = scaleFactor;
    this.batchRows = batchRows;
  }

  public TpchGenerator(double scaleFactor) {
    this(scaleFactor, DEFAULT_BATCH_ROWS);
  }

  /** Table names in the order TPC-H lists them. */
  public static List<String> tableNames() {
    List<String> names = new ArrayList<>();
    for (TpchTable<?> t : TpchTable.getTables()) {
      names.add(t.getTableName());
    }
    return names;
  }

  public static Schema schema(String table) {
    return schemaOf(TpchTable.getTable(table));
  }

  private static <E extends TpchEntity> Schema schemaOf(TpchTable<E> table) {
    List<Field> fields = new ArrayList<>();
    for (TpchColumn<E> c : table.getColumns()) {
      fields.add(new Field(c.getColumnName(), FieldType.notNullable(arrowType(c)), null));
    }
    return new Schema(fields);
  }

  private static ArrowType arrowType(TpchColumn<?> column) {
    return switch (column.getType().getBase()) {
      case IDENTIFIER -> new ArrowType.Int(64, true);
      case INTEGER -> new ArrowType.Int(32, true);
      case DATE -> new ArrowType.Date(DateUnit.DAY);
      case DOUBLE -> MONEY;
      case VARCHAR -> ArrowType.Utf8.INSTANCE;
    };
  }

  /**
   * Generates one table and commits it to {@code catalog} under the table's name.
   *
   * @return the number of rows generated
   */
  public long load(Catalog catalog, String table) {
    TpchTable<?> t = TpchTable.getTable(table);
    try (DatasetBuilder builder = catalog.newDataset(t.getTableName(), schemaOf(t))) {
      fill(t, builder);
      Dataset dataset = builder.build();
      long rows = dataset.rowCount();
      catalog.commit(dataset);
      return rows;
    }
  }

  /** Generates and commits every TPC-H table. */
  public void loadAll(Catalog catalog) {
    for (String name : tableNames()) {
      load(catalog, name);
    }
  }

  private <E extends TpchEntity> void fill(TpchTable<E> table, DatasetBuilder builder) {
    // The generator splits a table into parts that can be produced independently; each part
    // runs on its own thread into its own batches, appended afterwards in part order so the
    // dataset is identical whatever the thread count.
    int parts = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 8));
    List<CompletableFuture<List<VectorSchemaRoot>>> futures = new ArrayList<>();
    for (int part = 1; part <= parts; part++) {
      int p = part;
      futures.add(CompletableFuture.supplyAsync(
          () -> generatePart(table, builder.schema(), builder.allocator(), p, parts)));
    }
    List<VectorSchemaRoot> generated = new ArrayList<>();
    RuntimeException failure = null;
    for (CompletableFuture<List<VectorSchemaRoot>> f : futures) {
      try {
        generated.addAll(f.join());
      } catch (RuntimeException e) {
        failure = failure == null ? e : failure;
      }
    }
    try {
      if (failure != null) {
        throw failure;
      }
      for (VectorSchemaRoot batch : generated) {
        builder.appendTransfer(batch);
      }
    } finally {
      generated.forEach(VectorSchemaRoot::close);
    }
  }

  private <E extends TpchEntity> List<VectorSchemaRoot> generatePart(
      TpchTable<E> table, Schema schema, BufferAllocator allocator, int part, int parts) {
    List<TpchColumn<E>> columns = table.getColumns();
    Iterator<E> rows = table.createGenerator(scaleFactor, part, parts).iterator();
    List<VectorSchemaRoot> out = new ArrayList<>();
    try {
      while (rows.hasNext()) {
        VectorSchemaRoot batch = VectorSchemaRoot.create(schema, allocator);
        out.add(batch);
        batch.allocateNew();
        int n = 0;
        while (n < batchRows && rows.hasNext()) {
          E row = rows.next();
          for (int c = 0; c < columns.size(); c++) {
            write(columns.get(c), row, batch.getVector(c), n);
          }
          n++;
        }
        for (FieldVector v : batch.getFieldVectors()) {
          v.setValueCount(n);
        }
        batch.setRowCount(n);
      }
      return out;
    } catch (RuntimeException e) {
      out.forEach(VectorSchemaRoot::close);
      throw e;
    }
  }

  private static <E extends TpchEntity> void write(
      TpchColumn<E> column, E row, FieldVector vector, int index) {
    switch (column.getType().getBase()) {
      case IDENTIFIER -> ((BigIntVector) vector).setSafe(index, column.getIdentifier(row));
      case INTEGER -> ((IntVector) vector).setSafe(index, column.getInteger(row));
      case DATE -> ((DateDayVector) vector).setSafe(index, column.getDate(row));
      case DOUBLE -> {
        // The generator produces exact cents; rounding recovers them from the double.
        long cents = Math.round(column.getDouble(row) * 100.0);
        ((DecimalVector) vector).setSafe(index, cents);
      }
      case VARCHAR ->
          ((VarCharVector) vector).setSafe(index, column.getString(row).getBytes(StandardCharsets.UTF_8));
    }
  }
}
