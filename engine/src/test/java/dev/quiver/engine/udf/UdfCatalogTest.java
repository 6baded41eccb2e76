package dev.quiver.engine.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class UdfCatalogTest {
  static final Schema X = new Schema(List.of(Field.nullable("x",
      new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));

  /** A reader over batches of x values; counts how many batches were pulled. */
  static final class XReader extends ArrowReader {
    final List<double[]> batches;
    int pulled;

    XReader(BufferAllocator a, List<double[]> batches) {
      super(a);
      this.batches = batches;
    }

    @Override
    public boolean loadNextBatch() throws IOException {
      if (pulled == batches.size()) {
        return false;
      }
      double[] b = batches.get(pulled++);
      VectorSchemaRoot root = getVectorSchemaRoot();
      Float8Vector x = (Float8Vector) root.getVector(0);
      x.allocateNew(b.length);
      for (int i = 0; i < b.length; i++) {
        if (Double.isNaN(b[i])) {
          x.setNull(i);
        } else {
          x.set(i, b[i]);
        }
      }
      root.setRowCount(b.length);
      return true;
    }

    @Override
    public long bytesRead() {
      return 0;
    }

    @Override
    protected void closeReadSource() {}

    @Override
    protected Schema readSchema() {
      return X;
    }
  }

  static List<Double> drain(ArrowReader r) throws IOException {
    List<Double> out = new ArrayList<>();
    while (r.loadNextBatch()) {
      Float8Vector y = (Float8Vector) r.getVectorSchemaRoot().getVector(0);
      for (int i = 0; i < y.getValueCount(); i++) {
        out.add(y.isNull(i) ? null : y.get(i));
      }
    }
    return out;
  }

  @Test
  void serviceLoaderFindsAnnotatedClassesByNameAndClassName() {
    UdfCatalog c = UdfCatalog.load();
    assertEquals(UdfCatalog.Kind.BATCH, c.find("scale").kind());
    assertEquals(UdfCatalog.Kind.BATCH, c.find("SCALE").kind());
    assertEquals("scale", c.find(TestUdfs.Scale.class.getName()).name());
    assertEquals(UdfCatalog.Kind.OBJECT, c.find("linear").kind());
    assertNull(c.find("nope"));
    UdfException e = assertThrows(UdfException.class,
        () -> c.require("nope", UdfCatalog.Kind.BATCH));
    assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("scale"),
        e.getMessage());
    UdfException kind = assertThrows(UdfException.class,
        () -> c.require("linear", UdfCatalog.Kind.BATCH));
    assertTrue(kind.getMessage().contains("is a object UDF"), kind.getMessage());
    assertTrue(c.describeJson().contains("\"methods\":[\"predict\",\"totals\"]"),
        c.describeJson());
  }

  @Test
  void operatorStreamsBatchByBatch(EngineMemory memory) throws Exception {
    UdfCatalog c = UdfCatalog.load();
    try (BufferAllocator a = memory.child("t");
        XReader in = new XReader(a, List.of(new double[] {1, 2}, new double[] {Double.NaN, 4}));
        ArrowReader out = c.runOperator("scale", in, "{\"factor\": 10}", a)) {
      assertTrue(out.loadNextBatch());
      assertEquals(1, in.pulled, "the operator must pull input lazily");
      assertEquals(20.0, ((Float8Vector) out.getVectorSchemaRoot().getVector(0)).get(1));
      List<Double> rest = drain(out);
      assertEquals(2, in.pulled);
      assertNull(rest.get(0));
      assertEquals(40.0, rest.get(1));
    }
  }

  @Test
  void aggregateOperatorYieldsOneRowWithoutCopy(EngineMemory memory) throws Exception {
    UdfCatalog c = UdfCatalog.load();
    try (BufferAllocator a = memory.child("t");
        XReader in = new XReader(a, List.of(new double[] {1, 2}, new double[] {3}));
        ArrowReader out = c.runOperator(TestUdfs.Total.class.getName(), in, (String) null, a)) {
      assertEquals(List.of(6.0), drain(out));
    }
  }

  @Test
  void missingArgumentIsNamed(EngineMemory memory) throws Exception {
    UdfCatalog c = UdfCatalog.load();
    try (BufferAllocator a = memory.child("t"); XReader in = new XReader(a, List.of())) {
      UdfException e = assertThrows(UdfException.class,
          () -> c.runOperator("scale", in, "{\"factr\": 1}", a).close());
      assertEquals("missing argument 'factor'; given: factr", e.getMessage());
    }
  }

  @Test
  void objectsKeepStateAndStreamPerBatchMethods(EngineMemory memory) throws Exception {
    UdfCatalog c = UdfCatalog.load();
    int closedBefore = TestUdfs.Linear.closed;
    try (BufferAllocator a = memory.child("t");
        UdfInstance obj = c.newObject("linear", "{\"w\": 2, \"b\": 1}")) {
      assertEquals(List.of("predict", "totals"), obj.methodNames());
      try (XReader in = new XReader(a, List.of(new double[] {1, 2}, new double[] {3}));
          ArrowReader out = obj.call("predict", in, "{\"bump\": 100}", a)) {
        assertEquals(List.of(103.0, 105.0, 107.0), drain(out));
      }
      try (XReader in = new XReader(a, List.of());
          ArrowReader out = obj.call("predict", in, (String) null, a)) {
        assertEquals(List.of(), drain(out));
        assertEquals("y", out.getVectorSchemaRoot().getSchema().getFields().get(0).getName());
      }
      try (XReader in = new XReader(a, List.of(new double[] {1, 2}));
          ArrowReader out = obj.call("totals", in, (String) null, a)) {
        assertEquals(List.of(3.0), drain(out));
      }
      UdfException e = assertThrows(UdfException.class,
          () -> obj.call("fit", null, (String) null, a));
      assertTrue(e.getMessage().contains("no @UdfMethod 'fit'"), e.getMessage());
    }
    assertEquals(closedBefore + 1, TestUdfs.Linear.closed);
  }

  @Test
  void serviceRunsCommandsAndCachesObjectsByArguments(EngineMemory memory) throws Exception {
    int closedBefore = TestUdfs.Linear.closed;
    try (BufferAllocator a = memory.child("t");
        UdfService s = new UdfService(UdfCatalog.load())) {
      assertTrue(UdfService.isUdfCommand("{\"udf\": {\"operator\": \"scale\"}}"));
      assertFalse(UdfService.isUdfCommand("{\"version\": 1, \"plan\": {}}"));
      String cmd = "{\"udf\": {\"object\": \"linear\", \"args\": {\"w\": 3}, \"method\": "
          + "\"predict\"}}";
      for (int round = 0; round < 2; round++) {
        try (XReader in = new XReader(a, List.of(new double[] {1}));
            ArrowReader out = s.execute(cmd, in, a)) {
          assertEquals(List.of(3.0), drain(out));
        }
      }
      assertNotNull(s.action("udf.new", "{\"object\": \"linear\", \"args\": {\"w\": 3}}"));
      assertEquals("{\"closed\":true}",
          s.action("udf.close", "{\"object\": \"linear\", \"args\": {\"w\": 3}}"));
      assertEquals(closedBefore + 1, TestUdfs.Linear.closed, "one instance for one argument set");
      try (XReader in = new XReader(a, List.of(new double[] {2}));
          ArrowReader out = s.execute("{\"udf\": {\"operator\": \"scale\", \"args\": "
              + "{\"factor\": 0.5}}}", in, a)) {
        assertEquals(List.of(1.0), drain(out));
      }
      assertThrows(UdfException.class, () -> s.action("udf.bogus", "{}"));
      // construction and release through exchange commands (what the Python client sends)
      try (XReader in = new XReader(a, List.of());
          ArrowReader out = s.execute("{\"udf\": {\"object\": \"linear\", \"args\": "
              + "{\"w\": 5}}}", in, a)) {
        assertFalse(out.loadNextBatch());
      }
      UdfException missing = assertThrows(UdfException.class, () -> s.execute(
          "{\"udf\": {\"object\": \"linear\", \"args\": {}}}", null, a));
      assertEquals("missing argument 'w'", missing.getMessage());
      try (ArrowReader out = s.execute("{\"udf\": {\"object\": \"linear\", \"args\": "
          + "{\"w\": 5}, \"close\": true}}", null, a)) {
        assertFalse(out.loadNextBatch());
      }
      // the {w:3} object, the object whose open() failed (closed at once), the {w:5} object
      assertEquals(closedBefore + 3, TestUdfs.Linear.closed);
    }
  }
}
