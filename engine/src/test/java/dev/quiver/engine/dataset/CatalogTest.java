package dev.quiver.engine.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.memory.MemoryLimitExceeded;
import dev.quiver.engine.testing.LeakCheck;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class CatalogTest {
  private static final Schema SCHEMA =
      new Schema(List.of(new Field("x", FieldType.nullable(new ArrowType.Int(64, true)), null)));

  private static VectorSchemaRoot batch(BufferAllocator allocator, long... values) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    BigIntVector x = (BigIntVector) root.getVector(0);
    x.allocateNew(values.length);
    for (int i = 0; i < values.length; i++) {
      x.set(i, values[i]);
    }
    root.setRowCount(values.length);
    return root;
  }

  private static long sum(Dataset d) {
    long s = 0;
    for (VectorSchemaRoot b : d.batches()) {
      BigIntVector x = (BigIntVector) b.getVector(0);
      for (int i = 0; i < b.getRowCount(); i++) {
        s += x.get(i);
      }
    }
    return s;
  }

  @Test
  void stagedDatasetIsInvisibleUntilCommitAndFreedOnAbort(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory);
        BufferAllocator source = memory.child("source")) {
      try (DatasetBuilder b = catalog.newDataset("t", SCHEMA);
          VectorSchemaRoot in = batch(source, 1, 2, 3)) {
        b.appendTransfer(in);
        assertEquals(0, in.getVector(0).getBufferSize(), "transfer leaves the source empty");
        assertFalse(catalog.contains("t"));
        // closed without build: an aborted upload
      }
      assertFalse(catalog.contains("t"));
      assertEquals(0, memory.allocatedBytes());
    }
  }

  @Test
  void replaceIsAtomicAndReadersKeepTheOldVersion(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory);
        BufferAllocator source = memory.child("source")) {
      commit(catalog, source, "t", 1, 2, 3);
      try (Dataset old = catalog.get("t")) {
        commit(catalog, source, "t", 10, 20);
        assertEquals(6, sum(old), "reader still sees the version it took");
        try (Dataset fresh = catalog.get("t")) {
          assertEquals(30, sum(fresh));
          assertEquals(2, fresh.rowCount());
        }
      }
    }
  }

  @Test
  void appendSharesOldBatches(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory);
        BufferAllocator source = memory.child("source")) {
      commit(catalog, source, "t", 1, 2);
      long before;
      try (Dataset d = catalog.get("t")) {
        before = d.batches().get(0).getVector(0).getDataBuffer().memoryAddress();
      }
      try (DatasetBuilder b = catalog.newDataset("t", SCHEMA, Catalog.WriteMode.APPEND);
          VectorSchemaRoot in = batch(source, 5)) {
        b.appendTransfer(in);
        catalog.commit(b.build());
      }
      try (Dataset d = catalog.get("t")) {
        assertEquals(8, sum(d));
        assertEquals(2, d.batches().size());
        assertEquals(before, d.batches().get(0).getVector(0).getDataBuffer().memoryAddress());
      }
    }
  }

  @Test
  void appendWithOtherSchemaIsRefused(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory);
        BufferAllocator source = memory.child("source")) {
      commit(catalog, source, "t", 1);
      Schema other = new Schema(List.of(Field.nullable("y", ArrowType.Utf8.INSTANCE)));
      var e = assertThrows(IllegalArgumentException.class,
          () -> catalog.newDataset("t", other, Catalog.WriteMode.APPEND));
      assertTrue(e.getMessage().contains("cannot append"), e.getMessage());
    }
  }

  @Test
  void datasetLimitIsEnforcedAndStagingFreed(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory, 1024);
        BufferAllocator source = memory.child("source")) {
      long[] big = new long[1000];
      var e = assertThrows(MemoryLimitExceeded.class, () -> {
        try (DatasetBuilder b = catalog.newDataset("big", SCHEMA);
            VectorSchemaRoot in = batch(source, big)) {
          b.appendTransfer(in);
        }
      });
      assertTrue(e.getMessage().contains("'big'"), e.getMessage());
      assertFalse(catalog.contains("big"));
    }
  }

  @Test
  void unknownAndBadNames(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory)) {
      var nf = assertThrows(DatasetNotFound.class, () -> catalog.get("nope"));
      assertTrue(nf.getMessage().contains("'nope'"));
      for (String bad : new String[] {"", "../etc", "a/b", "a\0b", "x".repeat(500), ".hidden"}) {
        assertThrows(DatasetNames.InvalidDatasetName.class,
            () -> catalog.newDataset(bad, SCHEMA), bad);
      }
      assertFalse(catalog.drop("nope"));
    }
  }

  private static void commit(Catalog catalog, BufferAllocator source, String name, long... v) {
    try (DatasetBuilder b = catalog.newDataset(name, SCHEMA);
        VectorSchemaRoot in = batch(source, v)) {
      b.appendTransfer(in);
      catalog.commit(b.build());
    }
  }
}
