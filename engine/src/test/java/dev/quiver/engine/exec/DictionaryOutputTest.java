package dev.quiver.engine.exec;

import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.col;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.DatasetBuilder;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.PlanBuilder;
import dev.quiver.engine.testing.LeakCheck;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Dictionary columns leave a plan encoded where they pass through unchanged (scan, input,
 * filter, plain projection, limit, union), sharing the source's dictionary, and decoded where an
 * operator gathers rows (sort).
 */
@ExtendWith(LeakCheck.class)
class DictionaryOutputTest {
  private static final DictionaryEncoding ENC = new DictionaryEncoding(7L, false, new ArrowType.Int(32, true));
  private static final Schema SCHEMA = new Schema(List.of(
      new Field("tag", new FieldType(true, new ArrowType.Int(32, true), ENC), null),
      Field.nullable("x", new ArrowType.Int(64, true))));

  /**
   * An IPC stream of batches whose tag column uses {@code dictionaries[b]} for batch b (a
   * changed dictionary is written as a replacement), with x = 0, 1, 2, ... and tag code x % n.
   */
  private static byte[] stream(BufferAllocator allocator, int rowsPerBatch, String[]... dictionaries)
      throws Exception {
    Field valueField = Field.nullable("values", ArrowType.Utf8.INSTANCE);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (VarCharVector dict = (VarCharVector) valueField.createVector(allocator);
         VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
      DictionaryProvider.MapDictionaryProvider provider =
          new DictionaryProvider.MapDictionaryProvider(new Dictionary(dict, ENC));
      fillDictionary(dict, dictionaries[0]);
      try (ArrowStreamWriter w = new ArrowStreamWriter(root, provider, out)) {
        w.start();
        long x = 0;
        for (String[] values : dictionaries) {
          fillDictionary(dict, values);
          IntVector tag = (IntVector) root.getVector(0);
          BigIntVector xs = (BigIntVector) root.getVector(1);
          tag.allocateNew(rowsPerBatch);
          xs.allocateNew(rowsPerBatch);
          for (int i = 0; i < rowsPerBatch; i++, x++) {
            if (x % 5 == 4) {
              tag.setNull(i);
            } else {
              tag.set(i, (int) (x % values.length));
            }
            xs.set(i, x);
          }
          root.setRowCount(rowsPerBatch);
          w.writeBatch();
        }
        w.end();
      }
    }
    return out.toByteArray();
  }

  private static void fillDictionary(VarCharVector dict, String[] values) {
    dict.reset();
    dict.allocateNew();
    for (int i = 0; i < values.length; i++) {
      dict.setSafe(i, values[i].getBytes(StandardCharsets.UTF_8));
    }
    dict.setValueCount(values.length);
  }

  /** Every row of the result as [tag value through the output's dictionary, x]. */
  private static List<List<Object>> drainDecoded(QueryResult r) throws Exception {
    List<List<Object>> rows = new ArrayList<>();
    while (r.loadNextBatch()) {
      VectorSchemaRoot root = r.getVectorSchemaRoot();
      FieldVector tag = root.getVector(0);
      DictionaryEncoding enc = tag.getField().getDictionary();
      assertNotNull(enc, "tag left the plan decoded");
      VarCharVector values = (VarCharVector) r.getDictionaryVectors().get(enc.getId()).getVector();
      for (int i = 0; i < root.getRowCount(); i++) {
        Object v = tag.isNull(i) ? null : values.getObject(((IntVector) tag).get(i)).toString();
        List<Object> row = new ArrayList<>();
        row.add(v);
        row.add(root.getVector(1).getObject(i));
        rows.add(row);
      }
    }
    return rows;
  }

  private static List<List<Object>> expected(int rowsPerBatch, long minX, String[]... dictionaries) {
    List<List<Object>> rows = new ArrayList<>();
    long x = 0;
    for (String[] values : dictionaries) {
      for (int i = 0; i < rowsPerBatch; i++, x++) {
        if (x > minX) {
          List<Object> row = new ArrayList<>();
          row.add(x % 5 == 4 ? null : values[(int) (x % values.length)]);
          row.add(x);
          rows.add(row);
        }
      }
    }
    return rows;
  }

  @Test
  void inputKeepsCodesAcrossAReplacedDictionary(EngineMemory memory) throws Exception {
    String[] first = {"red", "green"};
    String[] second = {"ant", "bee", "cat"};
    try (BufferAllocator source = memory.child("source");
         Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2))) {
      byte[] bytes = stream(source, 10, first, second, first);
      LogicalPlan plan = PlanBuilder.input("in")
          .filter(call(">", col("x"), lit(2L)))
          .project(PlanBuilder.as("tag", col("tag")), PlanBuilder.as("x", col("x")))
          .build();
      try (ArrowReader in = new ArrowStreamReader(new ByteArrayInputStream(bytes), source);
           QueryResult r = engine.execute(plan, Map.of("in", in), memory.root(),
               ExecOptions.defaults().withThreads(1))) {
        List<List<Object>> got = drainDecoded(r);
        assertEquals(expected(10, 2, first, second, first), got);
      }
    }
  }

  @Test
  void scanSharesTheDatasetDictionaryAndSortDecodes(EngineMemory memory) throws Exception {
    String[] values = {"north", "south", "east"};
    try (BufferAllocator source = memory.child("source");
         Catalog catalog = new Catalog(memory);
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2))) {
      byte[] bytes = stream(source, 100, values, values);
      try (ArrowReader in = new ArrowStreamReader(new ByteArrayInputStream(bytes), source);
           DatasetBuilder b = catalog.newDataset("d", in.getVectorSchemaRoot().getSchema())) {
        // The reader fills its dictionary with the first batch.
        boolean first = true;
        while (in.loadNextBatch()) {
          if (first) {
            b.addDictionary(in.getDictionaryVectors().get(ENC.getId()));
            first = false;
          }
          b.appendTransfer(in.getVectorSchemaRoot());
        }
        catalog.commit(b.build());
      }
      long datasetValues;
      try (var d = catalog.get("d")) {
        datasetValues = d.dictionaries().lookup(ENC.getId()).getVector().getDataBuffer().memoryAddress();
      }
      LogicalPlan passThrough = scan("d").filter(call(">", col("x"), lit(10L))).limit(50L, 5L).build();
      Schema planned = engine.outputSchema(passThrough, Map.of());
      DictionaryEncoding plannedEnc = planned.getFields().get(0).getDictionary();
      assertNotNull(plannedEnc);
      assertEquals(ArrowType.Utf8.INSTANCE, planned.getFields().get(0).getType(),
          "the planned schema is in message form: typed by the dictionary's values");
      try (QueryResult r = engine.execute(passThrough, memory.root())) {
        assertTrue(r.loadNextBatch());
        FieldVector outDictionary = r.getDictionaryVectors().get(plannedEnc.getId()).getVector();
        assertEquals(3, outDictionary.getValueCount());
        long outValues = outDictionary.getDataBuffer().memoryAddress();
        assertEquals(datasetValues, outValues, "the output dictionary is the dataset's memory");
        assertEquals(ENC.getIndexType(), r.getVectorSchemaRoot().getVector(0).getField().getType());
      }
      try (QueryResult r = engine.execute(passThrough, memory.root())) {
        assertEquals(expected(100, 10, values, values).subList(5, 55), drainDecoded(r));
      }
      LogicalPlan sorted = scan("d").sort(PlanBuilder.desc(col("x"))).limit(3L, 0L).build();
      Schema sortedSchema = engine.outputSchema(sorted, Map.of());
      assertNull(sortedSchema.getFields().get(0).getDictionary(), "sort gathers rows: decoded");
      try (QueryResult r = engine.execute(sorted, memory.root())) {
        List<List<Object>> rows = Rows.drain(r);
        // x = 199 has a null tag (x % 5 == 4); 198 and 197 use codes 0 and 2
        assertNull(rows.get(0).get(0));
        assertEquals(List.of(List.of("north", 198L), List.of("east", 197L)), rows.subList(1, 3));
      }
    }
  }
}
