package dev.quiver.engine.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.CDataDictionaryProvider;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
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

@ExtendWith(LeakCheck.class)
class CDataBridgeTest {
  private static final int ROWS = 100;

  /** An IPC stream of {@code batches} batches: id int64 (every 7th null), name utf8, tags list<int32>, point struct. */
  private static byte[] ipc(BufferAllocator allocator, int batches) throws Exception {
    Field tagItem = new Field("item", FieldType.nullable(new ArrowType.Int(32, true)), null);
    Field x = new Field("x", FieldType.nullable(new ArrowType.Int(32, true)), null);
    Schema schema = new Schema(List.of(
        new Field("id", FieldType.nullable(new ArrowType.Int(64, true)), null),
        new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
        new Field("tags", FieldType.nullable(ArrowType.List.INSTANCE), List.of(tagItem)),
        new Field("point", FieldType.nullable(ArrowType.Struct.INSTANCE), List.of(x))));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
        ArrowStreamWriter writer = new ArrowStreamWriter(root, null, out)) {
      writer.start();
      for (int b = 0; b < batches; b++) {
        root.allocateNew();
        BigIntVector id = (BigIntVector) root.getVector("id");
        VarCharVector name = (VarCharVector) root.getVector("name");
        ListVector tags = (ListVector) root.getVector("tags");
        StructVector point = (StructVector) root.getVector("point");
        IntVector px = (IntVector) point.getChild("x");
        UnionListWriter lw = tags.getWriter();
        for (int i = 0; i < ROWS; i++) {
          long v = (long) b * ROWS + i;
          if (i % 7 == 0) {
            id.setNull(i);
          } else {
            id.set(i, v);
          }
          name.setSafe(i, ("n" + v).getBytes(StandardCharsets.UTF_8));
          lw.setPosition(i);
          lw.startList();
          for (int k = 0; k < i % 3; k++) {
            lw.writeInt(i + k);
          }
          lw.endList();
          point.setIndexDefined(i);
          px.setSafe(i, i * 2);
        }
        root.setRowCount(ROWS);
        writer.writeBatch();
      }
      writer.end();
    }
    return out.toByteArray();
  }

  private static List<Long> addresses(FieldVector v) {
    List<Long> out = new ArrayList<>();
    for (ArrowBuf b : v.getFieldBuffers()) {
      out.add(b.capacity() == 0 ? 0L : b.memoryAddress());
    }
    for (FieldVector c : v.getChildrenFromFields()) {
      out.addAll(addresses(c));
    }
    return out;
  }

  @Test
  void cStreamImportSharesTheProducersBuffers(EngineMemory memory) throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root())) {
      byte[] bytes = ipc(source, 2);
      try (ArrowReader producer = new ArrowStreamReader(new ByteArrayInputStream(bytes), source);
          ArrowArrayStream stream = ArrowArrayStream.allocateNew(source)) {
        Data.exportArrayStream(source, producer, stream);
        try (CStreamReader reader = bridge.importStream(stream.memoryAddress())) {
          assertFalse(reader.usesStockImporter());
          int batch = 0;
          while (reader.loadNextBatch()) {
            VectorSchemaRoot got = reader.getVectorSchemaRoot();
            VectorSchemaRoot want = producer.getVectorSchemaRoot();
            assertEquals(want.contentToTSVString(), got.contentToTSVString());
            for (int c = 0; c < want.getFieldVectors().size(); c++) {
              // the Java producer always has a validity buffer, so every address must match
              assertEquals(addresses(want.getVector(c)), addresses(got.getVector(c)),
                  "column " + want.getVector(c).getName());
            }
            batch++;
          }
          assertEquals(2, batch);
        }
      }
    }
  }

  @Test
  void exportSendsUnknownNullCountAndSharesBuffers(EngineMemory memory) throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root());
        BufferAllocator consumer = memory.child("consumer")) {
      byte[] bytes = ipc(source, 1);
      ArrowReader producer = new ArrowStreamReader(new ByteArrayInputStream(bytes), source);
      List<List<Long>> sourceAddresses = new ArrayList<>();
      try (StreamExport export = bridge.exportReader(producer);
          ArrowSchema schema = ArrowSchema.allocateNew(consumer);
          ArrowArray array = ArrowArray.allocateNew(consumer);
          CDataDictionaryProvider provider = new CDataDictionaryProvider()) {
        export.exportSchema(schema.memoryAddress());
        assertTrue(export.exportNext(array.memoryAddress()));
        for (FieldVector v : producer.getVectorSchemaRoot().getFieldVectors()) {
          sourceAddresses.add(addresses(v));
        }
        ArrowArray.Snapshot top = array.snapshot();
        assertEquals(ROWS, top.length);
        ArrowArray.Snapshot id = ArrowArray.wrap(
            org.apache.arrow.c.NativeUtil.toJavaArray(top.children, 4)[0]).snapshot();
        assertEquals(-1, id.null_count, "null counts are not computed on export");
        assertFalse(export.exportNext(0L), "one batch only");
        // consume with Arrow Java's stock importer: the producer may be gone already
        Schema imported = Data.importSchema(consumer, schema, provider);
        try (VectorSchemaRoot root = VectorSchemaRoot.create(imported, consumer)) {
          Data.importIntoVectorSchemaRoot(consumer, array, root, provider);
          assertEquals(imported, root.getSchema());
          assertEquals(15, root.getVector("id").getNullCount());
          for (int c = 0; c < root.getFieldVectors().size(); c++) {
            assertEquals(sourceAddresses.get(c), addresses(root.getVector(c)));
          }
        }
      }
    }
  }

  @Test
  void consumerMayOutliveProducerAndCatalog(EngineMemory memory) throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root());
        BufferAllocator consumer = memory.child("consumer")) {
      long rows;
      try (Catalog catalog = new Catalog(memory);
          ArrowReader producer = new ArrowStreamReader(new ByteArrayInputStream(ipc(source, 3)), source);
          ArrowArrayStream stream = ArrowArrayStream.allocateNew(source)) {
        Data.exportArrayStream(source, producer, stream);
        rows = bridge.importDataset(catalog, "t", stream.memoryAddress(), false);
        assertEquals(3 * ROWS, rows);
        List<ArrowArray> held = new ArrayList<>();
        try (StreamExport export = bridge.exportDataset(catalog, "t");
            ArrowSchema schema = ArrowSchema.allocateNew(consumer)) {
          export.exportSchema(schema.memoryAddress());
          schema.release();
          ArrowArray a;
          while (export.exportNext((a = ArrowArray.allocateNew(consumer)).memoryAddress())) {
            held.add(a);
          }
          a.close();
        }
        catalog.drop("t");  // Java lets go first...
        assertTrue(memory.allocatedBytes() > 0, "...the consumer still holds the data");
        for (ArrowArray h : held) {
          h.release();  // ...then the consumer
          h.close();
        }
      }
    }
  }

  @Test
  void failureMidStreamClosesTheSource(EngineMemory memory) throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root());
        BufferAllocator consumer = memory.child("consumer")) {
      ArrowReader inner = new ArrowStreamReader(new ByteArrayInputStream(ipc(source, 3)), source);
      try (StreamExport export = bridge.exportReader(
              new FaultInjectingReader(inner, 1, "injected: disk on fire"));
          ArrowArray first = ArrowArray.allocateNew(consumer);
          ArrowArray second = ArrowArray.allocateNew(consumer)) {
        assertTrue(export.exportNext(first.memoryAddress()));
        var e = assertThrows(IllegalStateException.class, () -> export.exportNext(second.memoryAddress()));
        assertEquals("injected: disk on fire", e.getMessage());
        assertEquals(0, second.snapshot().release, "nothing exported on failure");
        assertThrows(IllegalStateException.class, () -> export.exportNext(second.memoryAddress()));
        first.release();
      }
    }
  }

  @Test
  void importHonoursOffsetsAndUsesTheSharedAllValidBitmap(EngineMemory memory) throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root());
        BufferAllocator target = memory.child("target");
        AllValidBitmap allValid = new AllValidBitmap(memory.child("all-valid"))) {
      Schema schema = new Schema(List.of(
          new Field("v", FieldType.nullable(new ArrowType.Int(64, true)), null)));
      try (VectorSchemaRoot src = VectorSchemaRoot.create(schema, source)) {
        BigIntVector v = (BigIntVector) src.getVector(0);
        v.allocateNew(64);
        for (int i = 0; i < 64; i++) {
          if (i == 20) {
            v.setNull(i);
          } else {
            v.set(i, i * 10L);
          }
        }
        src.setRowCount(64);
        for (int offset : new int[] {8, 3}) {
          try (ArrowArray array = ArrowArray.allocateNew(source);
              VectorSchemaRoot dst = VectorSchemaRoot.create(schema, target)) {
            Data.exportVectorSchemaRoot(source, src, null, array);
            ArrowArray.Snapshot s = array.snapshot();
            s.offset = offset;  // a slice: rows [offset, offset + 40)
            s.length = 40;
            array.save(s);
            ArrayImporter importer = new ArrayImporter(target, target, allValid);
            importer.importRoot(array, dst, null);
            BigIntVector got = (BigIntVector) dst.getVector(0);
            assertEquals(40, dst.getRowCount());
            for (int i = 0; i < 40; i++) {
              assertEquals(offset + i == 20, got.isNull(i));
              if (!got.isNull(i)) {
                assertEquals((offset + i) * 10L, got.get(i));
              }
            }
            assertEquals(v.getDataBuffer().memoryAddress() + offset * 8L,
                got.getDataBuffer().memoryAddress(), "data addressed at the offset, not copied");
            if (offset % 8 == 0) {
              assertEquals(0, importer.copiedBitmapBytes());
              assertEquals(v.getValidityBuffer().memoryAddress() + offset / 8,
                  got.getValidityBuffer().memoryAddress());
            } else {
              assertEquals(5, importer.copiedBitmapBytes(), "the one documented copy");
            }
          }
        }
      }
    }
  }

  @Test
  void missingValidityPointsAtTheSharedBitmapAndExportsAsNoBitmap(EngineMemory memory)
      throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root());
        BufferAllocator consumer = memory.child("consumer")) {
      Schema schema = new Schema(List.of(
          new Field("v", FieldType.nullable(new ArrowType.Int(32, true)), null)));
      try (VectorSchemaRoot src = VectorSchemaRoot.create(schema, source)) {
        IntVector v = (IntVector) src.getVector(0);
        v.allocateNew(1000);
        for (int i = 0; i < 1000; i++) {
          v.set(i, i);
        }
        src.setRowCount(1000);
        try (ArrowArray array = ArrowArray.allocateNew(source);
            ArrowSchema cschema = ArrowSchema.allocateNew(source)) {
          Data.exportVectorSchemaRoot(source, src, null, array, cschema);
          // drop the column's validity pointer, as PyArrow does for a column without nulls
          ArrowArray.Snapshot top = array.snapshot();
          long child = org.apache.arrow.c.NativeUtil.toJavaArray(top.children, 1)[0];
          ArrowArray.Snapshot c = ArrowArray.wrap(child).snapshot();
          long validity = org.apache.arrow.c.NativeUtil.toJavaArray(c.buffers, 2)[0];
          assertNotEquals(0L, validity);
          org.apache.arrow.memory.util.MemoryUtil.putLong(c.buffers, 0L);
          c.null_count = 0;
          ArrowArray.wrap(child).save(c);
          Schema s = Data.importSchema(source, cschema, null);
          try (VectorSchemaRoot staged = VectorSchemaRoot.create(s, memory.root())) {
            ArrayImporter importer =
                new ArrayImporter(memory.root(), memory.root(), bridgeBitmap(bridge));
            importer.importRoot(array, staged, null);
            assertTrue(bridge.cachedBytes() >= 125, "the shared bitmap serves the column");
            IntVector imported = (IntVector) staged.getVector(0);
            assertEquals(v.getDataBuffer().memoryAddress(),
                imported.getDataBuffer().memoryAddress());
            assertEquals(999, imported.get(999));
            assertFalse(imported.isNull(500));
            try (StreamExport export = bridge.exportReader(new SingleBatch(memory.root(), staged));
                ArrowArray out = ArrowArray.allocateNew(consumer)) {
              assertTrue(export.exportNext(out.memoryAddress()));
              ArrowArray.Snapshot o = ArrowArray.wrap(
                  org.apache.arrow.c.NativeUtil.toJavaArray(out.snapshot().children, 1)[0])
                  .snapshot();
              assertEquals(0, o.null_count);
              assertEquals(0L, org.apache.arrow.c.NativeUtil.toJavaArray(o.buffers, 2)[0],
                  "no validity bitmap, as the producer sent it");
              out.release();
            }
          }
        }
      }
      bridge.trimCaches();
    }
  }

  private static AllValidBitmap bridgeBitmap(CDataBridge bridge) throws Exception {
    var f = CDataBridge.class.getDeclaredField("allValid");
    f.setAccessible(true);
    return (AllValidBitmap) f.get(bridge);
  }

  @Test
  void sharedDictionaryIsImportedOnceIntoTheDataset(EngineMemory memory) throws Exception {
    try (BufferAllocator source = memory.child("source");
        CDataBridge bridge = new CDataBridge(memory.root())) {
      DictionaryEncoding enc = new DictionaryEncoding(1L, false, new ArrowType.Int(32, true));
      Field dictField = new Field("d", FieldType.nullable(ArrowType.Utf8.INSTANCE), null);
      Schema schema = new Schema(List.of(
          new Field("c", new FieldType(true, new ArrowType.Int(32, true), enc), null)));
      try (VarCharVector dict = (VarCharVector) dictField.createVector(source)) {
        dict.allocateNew();
        dict.setSafe(0, "x".getBytes(StandardCharsets.UTF_8));
        dict.setSafe(1, "y".getBytes(StandardCharsets.UTF_8));
        dict.setValueCount(2);
        DictionaryProvider.MapDictionaryProvider provider =
            new DictionaryProvider.MapDictionaryProvider(new Dictionary(dict, enc));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, source);
            ArrowStreamWriter w = new ArrowStreamWriter(root, provider, out)) {
          w.start();
          for (int b = 0; b < 3; b++) {
            IntVector c = (IntVector) root.getVector(0);
            c.allocateNew(4);
            for (int i = 0; i < 4; i++) {
              c.set(i, (i + b) % 2);
            }
            root.setRowCount(4);
            w.writeBatch();
          }
          w.end();
        }
        try (ArrowReader producer = new ArrowStreamReader(new ByteArrayInputStream(out.toByteArray()), source);
            ArrowArrayStream stream = ArrowArrayStream.allocateNew(source);
            Catalog catalog = new Catalog(memory)) {
          Data.exportArrayStream(source, producer, stream);
          // three batches carrying the same dictionary memory: accepted (a changed dictionary
          // would be refused, the catalog keeping one per column)
          assertEquals(12, bridge.importDataset(catalog, "dict", stream.memoryAddress(), false));
          try (Dataset d = catalog.get("dict")) {
            // C Data carries no dictionary ids: the importer numbers them itself
            long id = d.schema().getFields().get(0).getDictionary().getId();
            VarCharVector values = (VarCharVector) d.dictionaries().lookup(id).getVector();
            assertEquals("y", values.getObject(1).toString());
            assertEquals(3, d.batches().size());
          }
        }
      }
    }
  }

  /** An ArrowReader serving one prepared root once; closing it leaves the root to its owner. */
  private static final class SingleBatch extends ArrowReader {
    private final VectorSchemaRoot root;
    private boolean served;

    SingleBatch(BufferAllocator allocator, VectorSchemaRoot root) {
      super(allocator);
      this.root = root;
    }

    @Override
    public VectorSchemaRoot getVectorSchemaRoot() {
      return root;
    }

    @Override
    public boolean loadNextBatch() {
      if (served) {
        return false;
      }
      served = true;
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
      return root.getSchema();
    }

    @Override
    public void close() {}
  }
}
