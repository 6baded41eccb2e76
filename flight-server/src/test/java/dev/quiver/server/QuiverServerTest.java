package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The producer behind a real in-process Flight server; every test ends with zero bytes. */
@ExtendWith(LeakCheck.class)
class QuiverServerTest {
  private static final Schema SCHEMA = new Schema(List.of(
      new Field("id", FieldType.nullable(new ArrowType.Int(64, true)), null),
      new Field("s", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
  private static final String IDENTITY = "{\"version\":1,\"plan\":{\"node\":\"input\",\"name\":\"input\"}}";

  /** A server, its catalog and a client, closed in the right order. */
  private static final class Harness implements AutoCloseable {
    final Catalog catalog;
    final QueryEngine engine;
    final QuiverServer server;
    final BufferAllocator clientMemory;
    final FlightClient client;

    Harness(EngineMemory memory, long datasetLimit, long partitionBytes) throws Exception {
      catalog = new Catalog(memory, datasetLimit);
      engine = new QueryEngine(catalog, ExecOptions.defaults());
      server = QuiverServer.start(ServerConfig.loopback(0).withPartitionBytes(partitionBytes),
          memory, catalog, new EnginePlanExecutor(engine));
      clientMemory = memory.child("test-client");
      client = FlightClient.builder(clientMemory,
          Location.forGrpcInsecure("127.0.0.1", server.port())).build();
    }

    Harness(EngineMemory memory) throws Exception {
      this(memory, memory.limitBytes(), 64L << 20);
    }

    @Override
    public void close() throws Exception {
      client.close();
      server.drainAndClose(Duration.ofSeconds(5));
      engine.close();
      catalog.close();
      clientMemory.close();
    }
  }

  private static void fill(VectorSchemaRoot root, int from, int rows) {
    BigIntVector id = (BigIntVector) root.getVector("id");
    VarCharVector s = (VarCharVector) root.getVector("s");
    id.allocateNew(rows);
    s.allocateNew(rows);
    for (int i = 0; i < rows; i++) {
      id.set(i, from + i);
      if ((from + i) % 7 == 0) {
        s.setNull(i);
      } else {
        s.setSafe(i, ("v" + (from + i)).getBytes(StandardCharsets.UTF_8));
      }
    }
    root.setRowCount(rows);
  }

  private static void put(Harness h, FlightDescriptor d, int batches, int rows) {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, h.clientMemory)) {
      FlightClient.ClientStreamListener listener =
          h.client.startPut(d, root, new AsyncPutListener());
      for (int b = 0; b < batches; b++) {
        fill(root, b * rows, rows);
        listener.putNext();
      }
      listener.completed();
      listener.getResult();
    }
  }

  /** Reads a stream into (id, s) strings so the comparison does not depend on batch sizes. */
  private static List<String> readAll(FlightStream stream) throws Exception {
    List<String> out = new ArrayList<>();
    try (stream) {
      while (stream.next()) {
        VectorSchemaRoot root = stream.getRoot();
        for (int i = 0; i < root.getRowCount(); i++) {
          out.add(root.getVector("id").getObject(i) + "|" + root.getVector("s").getObject(i));
        }
      }
    }
    return out;
  }

  private static List<String> expected(int batches, int rows) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < batches * rows; i++) {
      out.add(i + "|" + (i % 7 == 0 ? "null" : "v" + i));
    }
    return out;
  }

  @Test
  void putThenGetReturnsTheSameRows(EngineMemory memory) throws Exception {
    try (Harness h = new Harness(memory)) {
      put(h, FlightDescriptor.path("t"), 3, 1000);
      assertEquals(expected(3, 1000), readAll(h.client.getStream(new Ticket("t".getBytes()))));
      FlightInfo info = h.client.getInfo(FlightDescriptor.path("t"));
      assertEquals(3000, info.getRecords());
      assertEquals(SCHEMA, info.getSchemaOptional().orElseThrow());
    }
  }

  @Test
  void largeDatasetIsSplitIntoEndpointsCoveringEveryBatchOnce(EngineMemory memory)
      throws Exception {
    try (Harness h = new Harness(memory, memory.limitBytes(), 16 * 1024)) {
      put(h, FlightDescriptor.path("big"), 10, 2000);
      FlightInfo info = h.client.getInfo(FlightDescriptor.path("big"));
      assertTrue(info.getEndpoints().size() > 1, "endpoints: " + info.getEndpoints().size());
      List<String> all = new ArrayList<>();
      for (var e : info.getEndpoints()) {
        all.addAll(readAll(h.client.getStream(e.getTicket())));
      }
      assertEquals(expected(10, 2000), all);
    }
  }

  @Test
  void exchangeIdentityEchoesEveryBatch(EngineMemory memory) throws Exception {
    try (Harness h = new Harness(memory);
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, h.clientMemory)) {
      List<String> got = new ArrayList<>();
      try (FlightClient.ExchangeReaderWriter rw =
               h.client.doExchange(FlightDescriptor.command(IDENTITY.getBytes()))) {
        rw.getWriter().start(root);
        for (int b = 0; b < 4; b++) {
          fill(root, b * 500, 500);
          rw.getWriter().putNext();
          assertTrue(rw.getReader().next());
          VectorSchemaRoot out = rw.getReader().getRoot();
          for (int i = 0; i < out.getRowCount(); i++) {
            got.add(out.getVector("id").getObject(i) + "|" + out.getVector("s").getObject(i));
          }
        }
        rw.getWriter().completed();
        assertFalse(rw.getReader().next());
      }
      assertEquals(expected(4, 500), got);
    }
  }

  /**
   * A drain lets a running call finish: gRPC must still deliver its messages, half-close and
   * completion. Regression: Flight's own executor, which delivers them, was shut down as the
   * drain began, so what the client sent afterwards never reached the handler, and a call that
   * completed just before the drain could leave its memory (16 KB of transport) unreleased.
   */
  @Test
  void aDrainLetsARunningExchangeFinish(EngineMemory memory) throws Exception {
    try (Harness h = new Harness(memory);
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, h.clientMemory)) {
      List<String> got = new ArrayList<>();
      java.util.concurrent.CompletableFuture<Long> drain;
      try (FlightClient.ExchangeReaderWriter rw =
               h.client.doExchange(FlightDescriptor.command(IDENTITY.getBytes()))) {
        rw.getWriter().start(root);
        fill(root, 0, 500);
        rw.getWriter().putNext();
        assertTrue(rw.getReader().next());
        collect(rw.getReader().getRoot(), got);
        drain = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          long start = System.nanoTime();
          try {
            h.server.drainAndClose(Duration.ofSeconds(5));
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return (System.nanoTime() - start) / 1_000_000;
        });
        awaitRefusingNewCalls(h);
        fill(root, 500, 500);
        rw.getWriter().putNext();
        assertTrue(rw.getReader().next());
        collect(rw.getReader().getRoot(), got);
        rw.getWriter().completed();
        assertFalse(rw.getReader().next());
      }
      assertEquals(expected(2, 500), got);
      long ms = drain.get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(ms < 4000, "the drain waited " + ms + " ms for a call that had finished");
    }
  }

  private static void collect(VectorSchemaRoot out, List<String> into) {
    for (int i = 0; i < out.getRowCount(); i++) {
      into.add(out.getVector("id").getObject(i) + "|" + out.getVector("s").getObject(i));
    }
  }

  /** Waits until the server refuses new calls, i.e. its drain has begun. */
  private static void awaitRefusingNewCalls(Harness h) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      try (FlightClient probe = FlightClient.builder(h.clientMemory,
          Location.forGrpcInsecure("127.0.0.1", h.server.port())).build()) {
        probe.listActions().forEach(a -> { });
      } catch (FlightRuntimeException refused) {
        return;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      Thread.sleep(10);
    }
    throw new AssertionError("the server never began to drain");
  }

  @Test
  void failuresMapToFlightStatusesAndLeaveNothingBehind(EngineMemory memory) throws Exception {
    try (Harness h = new Harness(memory, 1 << 20, 64L << 20)) {
      FlightRuntimeException notFound = assertThrows(FlightRuntimeException.class,
          () -> readAll(h.client.getStream(new Ticket("missing".getBytes()))));
      assertEquals(FlightStatusCode.NOT_FOUND, notFound.status().code());
      assertTrue(notFound.getMessage().contains("missing"));

      FlightRuntimeException badPlan = assertThrows(FlightRuntimeException.class,
          () -> h.client.getInfo(FlightDescriptor.command(
              "{\"version\":1,\"plan\":{\"node\":\"filter\"}}".getBytes())));
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, badPlan.status().code());
      assertTrue(badPlan.getMessage().contains("INVALID_PLAN"), badPlan.getMessage());

      // 1 MiB dataset limit: an upload of ~4 MB fails and nothing becomes visible.
      FlightRuntimeException tooBig = assertThrows(FlightRuntimeException.class,
          () -> put(h, FlightDescriptor.path("huge"), 40, 10_000));
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, tooBig.status().code());
      assertFalse(h.catalog.contains("huge"));

      FlightRuntimeException badName = assertThrows(FlightRuntimeException.class,
          () -> put(h, FlightDescriptor.path("../etc"), 1, 10));
      assertEquals(FlightStatusCode.INVALID_ARGUMENT, badName.status().code());
    }
  }

  @Test
  void cancelledDoGetReleasesEverything(EngineMemory memory) throws Exception {
    try (Harness h = new Harness(memory)) {
      put(h, FlightDescriptor.path("c"), 50, 10_000);
      try (FlightStream stream = h.client.getStream(new Ticket("c".getBytes()))) {
        assertTrue(stream.next());
        stream.cancel("test cancels", null);
      } catch (FlightRuntimeException e) {
        assertEquals(FlightStatusCode.CANCELLED, e.status().code());
      }
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (h.server.activeStreams() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(0, h.server.activeStreams());
    }
  }

  /**
   * Zero-copy proof: while a client is not reading, the messages gRPC holds reference the
   * dataset's own buffers (their reference count goes above the dataset's single reference).
   * A copying writer would have released every buffer by the time putNext() returned.
   */
  @Test
  void doGetHandsTheDatasetsOwnBuffersToGrpc(EngineMemory memory) throws Exception {
    try (Harness h = new Harness(memory)) {
      put(h, FlightDescriptor.path("z"), 40, 50_000);
      try (var d = h.catalog.get("z")) {
        // Buffers of one uploaded message are slices of one ledger, so compare against the
        // counts before the stream rather than against 1.
        int[] before = new int[d.batches().size()];
        for (int i = 0; i < before.length; i++) {
          before[i] = refCount(d.batches().get(i));
        }
        FlightStream stream = h.client.getStream(new Ticket("z".getBytes()));
        assertTrue(stream.next());  // the stream is running; now stop reading
        long deadline = System.nanoTime() + 5_000_000_000L;
        int shared = 0;
        while (shared == 0 && System.nanoTime() < deadline) {
          Thread.sleep(20);
          for (int i = 0; i < before.length; i++) {
            if (refCount(d.batches().get(i)) > before[i]) {
              shared++;
            }
          }
        }
        assertTrue(shared > 0, "no dataset buffer is referenced by an in-flight message");
        stream.cancel("done", null);
        try {
          stream.close();
        } catch (FlightRuntimeException e) {
          assertEquals(FlightStatusCode.CANCELLED, e.status().code());
        }
        // The server lets go of the buffers once gRPC has closed the cancelled call, which on a
        // loaded machine can take a while; they must all come back.
        long released = System.nanoTime() + 30_000_000_000L;
        boolean back = false;
        while (!back && System.nanoTime() < released) {
          back = true;
          for (int i = 0; i < before.length; i++) {
            back &= refCount(d.batches().get(i)) == before[i];
          }
          if (!back) {
            Thread.sleep(20);
          }
        }
        assertTrue(back, "the cancelled stream kept references to the dataset's buffers");
      }
    }
  }

  /**
   * A client that refuses an answer (here: one larger than its message limit), or stops reading
   * a query's answer, cancels the call while gRPC still holds the answer's buffers. Regression: the call's resources were released
   * on gRPC's cancel notification, which can come before Netty drops the queued answer; the
   * query allocator was then closed under buffers Netty released afterwards, that release failed
   * half-way, and the exchange's input (or the query's output) stayed allocated. A race between
   * two threads, hence the rounds; a list column, because nested columns reach the answer
   * shared with the query's allocator rather than moved into it.
   */
  @Test
  void answersTheClientRefusesAreReleased(EngineMemory memory) throws Exception {
    Schema lists = new Schema(List.of(new Field("l", FieldType.nullable(new ArrowType.List()),
        List.of(new Field("item", FieldType.nullable(new ArrowType.Int(64, true)), null)))));
    try (Harness h = new Harness(memory);
        FlightClient small = FlightClient.builder(h.clientMemory,
            Location.forGrpcInsecure("127.0.0.1", h.server.port()))
            .maxInboundMessageSize(1 << 20).build();
        VectorSchemaRoot root = VectorSchemaRoot.create(lists, h.clientMemory)) {
      fillLists(root, 1 << 18, 4); // 8 MiB of values, eight times the client's limit
      FlightClient.ClientStreamListener upload =
          h.client.startPut(FlightDescriptor.path("lists"), root, new AsyncPutListener());
      upload.putNext();
      upload.completed();
      upload.getResult();
      Ticket scan = h.client.getInfo(FlightDescriptor.command(
          "{\"version\":1,\"plan\":{\"node\":\"scan\",\"dataset\":\"lists\"}}".getBytes()))
          .getEndpoints().get(0).getTicket();
      for (int round = 0; round < 20; round++) {
        try (FlightClient.ExchangeReaderWriter rw =
                 small.doExchange(FlightDescriptor.command(IDENTITY.getBytes()))) {
          rw.getWriter().start(root);
          rw.getWriter().putNext();
          rw.getWriter().completed();
          assertRefused(() -> rw.getReader().next());
        } catch (FlightRuntimeException closing) {
          assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, closing.status().code());
        }
        awaitServerIdle(h, memory, "DoExchange round " + round);
        // The full-size client: a scan's batches are morsel-sized and may exceed 1 MiB.
        try (FlightStream stream = h.client.getStream(scan)) {
          assertTrue(stream.next());
          stream.cancel("the client stops reading", null);
        } catch (FlightRuntimeException closing) {
          assertEquals(FlightStatusCode.CANCELLED, closing.status().code());
        }
        awaitServerIdle(h, memory, "DoGet round " + round);
      }
    }
  }

  private static void assertRefused(org.junit.jupiter.api.function.Executable read) {
    FlightRuntimeException refused = assertThrows(FlightRuntimeException.class, read);
    assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, refused.status().code(),
        refused.getMessage());
  }

  /** {@code rows} lists of {@code width} consecutive longs each. */
  private static void fillLists(VectorSchemaRoot root, int rows, int width) {
    ListVector l = (ListVector) root.getVector("l");
    l.allocateNew();
    BigIntVector items = (BigIntVector) l.getDataVector();
    items.allocateNew(rows * width);
    for (int i = 0; i < rows * width; i++) {
      items.set(i, i);
    }
    items.setValueCount(rows * width);
    for (int i = 0; i < rows; i++) {
      l.startNewValue(i);
      l.endValue(i, width);
    }
    l.setValueCount(rows);
    root.setRowCount(rows);
  }

  /**
   * Waits until no stream runs and every allocator but the datasets' and the test client's is
   * empty: what a call held (its own allocators, Flight's transport allocator) is released.
   */
  private static void awaitServerIdle(Harness h, EngineMemory memory, String context)
      throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      long held = 0;
      for (BufferAllocator a : memory.root().getChildAllocators()) {
        if (a != h.clientMemory && !a.getName().startsWith("dataset:")) {
          held += a.getAllocatedMemory();
        }
      }
      if (h.server.activeStreams() == 0 && held == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(context + ": calls still hold " + held + " bytes, active "
            + "streams " + h.server.activeStreams() + "\n" + memory.describe());
      }
      Thread.sleep(10);
    }
  }

  private static int refCount(VectorSchemaRoot batch) {
    return batch.getVector("id").getDataBuffer().getReferenceManager().getRefCount();
  }

  @Test
  void ticketsAndDescriptorsParse() {
    var t = (Requests.DatasetTicket) Requests.parseTicket(Requests.datasetTicket("x", 2, 5));
    assertEquals(new Requests.DatasetTicket("x", 2, 5, null), t);
    assertEquals(new Requests.DatasetTicket("lineitem", 0, -1, null),
        Requests.parseTicket(new Ticket("lineitem".getBytes())));
    assertTrue(Requests.parseTicket(new Ticket(IDENTITY.getBytes()))
        instanceof Requests.PlanTicket);
    assertEquals(new Requests.DatasetRef("d", true),
        Requests.dataset(FlightDescriptor.path("d", "append"), true));
    assertThrows(IllegalArgumentException.class,
        () -> Requests.dataset(FlightDescriptor.path("d", "sideways"), true));
    assertThrows(IllegalArgumentException.class,
        () -> Requests.parseTicket(new Ticket("{\"dataset\":\"x\",\"batches\":[3,1]}".getBytes())));
    assertEquals(Requests.Compression.ZSTD, Requests.Compression.parse("ZSTD"));
    assertEquals(CallStatus.INVALID_ARGUMENT.code(),
        FlightErrors.toFlight(new IllegalArgumentException("x")).status().code());
  }
}
