package dev.quiver.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.dataset.DatasetBuilder;
import dev.quiver.engine.dataset.DatasetNames;
import dev.quiver.engine.memory.EngineMemory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.ActionType;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.Criteria;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.SchemaResult;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quiver's Flight service: datasets from the {@link Catalog}, plans through a {@link
 * PlanExecutor}. Wire formats are in {@link Requests} and docs/server.md.
 *
 * <p>Streams are written from a worker pool rather than the gRPC callback thread: a DoGet that
 * waits for a slow client must not block the thread that delivers that call's on-ready and
 * on-cancel events.
 */
public final class QuiverProducer implements FlightProducer {
  private static final Logger LOG = LoggerFactory.getLogger(QuiverProducer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String ACTION_DROP = "drop";
  static final String ACTION_STATS = "stats";
  static final String ACTION_HEALTH = "health";

  private final EngineMemory memory;
  private final Catalog catalog;
  private final PlanExecutor executor;
  private final BufferAllocator transport;
  private final ExecutorService streamPool;
  private final long partitionBytes;
  /** Reported by health so that clients size their uploads' batches under it. */
  private final int maxMessageBytes;
  private final AtomicInteger activeStreams = new AtomicInteger();
  /** Trackers of running streams, for the stats action's per-stream progress. */
  private final java.util.Set<CallTracker> running =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final AtomicLong callSeq = new AtomicLong();
  private final long startNanos = System.nanoTime();
  private volatile boolean draining;
  private volatile boolean aborting;

  /**
   * @param transport the allocator Flight decodes incoming messages into (also used for small
   *     replies)
   * @param partitionBytes target size of one FlightInfo endpoint; larger datasets get several
   */
  public QuiverProducer(EngineMemory memory, Catalog catalog, PlanExecutor executor,
      BufferAllocator transport, ExecutorService streamPool, long partitionBytes,
      int maxMessageBytes) {
    this.maxMessageBytes = maxMessageBytes;
    this.memory = memory;
    this.catalog = catalog;
    this.executor = executor;
    this.transport = transport;
    this.streamPool = streamPool;
    this.partitionBytes = partitionBytes;
  }

  /** New calls keep being served, but health reports "draining". */
  void beginDrain() {
    draining = true;
  }

  /** Running streams stop at their next batch with UNAVAILABLE. */
  void abortStreams() {
    aborting = true;
  }

  int activeStreams() {
    return activeStreams.get();
  }

  private static CallTracker tracker(CallContext context) {
    return context.getMiddleware(CallTracker.KEY);
  }

  private static void target(CallContext context, String target) {
    CallTracker t = tracker(context);
    if (t != null) {
      t.target(target);
    }
  }

  // ---- ListFlights / GetFlightInfo / GetSchema ------------------------------------------------

  @Override
  public void listFlights(CallContext context, Criteria criteria,
      StreamListener<FlightInfo> listener) {
    try {
      byte[] expr = criteria.getExpression();
      String prefix = expr == null ? "" : new String(expr, StandardCharsets.UTF_8);
      target(context, prefix.isEmpty() ? "*" : prefix + "*");
      List<Dataset> all = catalog.list();
      try {
        for (Dataset d : all) {
          if (d.name().startsWith(prefix)) {
            listener.onNext(datasetInfo(d, FlightDescriptor.path(d.name())));
          }
        }
      } finally {
        all.forEach(Dataset::close);
      }
      listener.onCompleted();
    } catch (Throwable e) {
      listener.onError(FlightErrors.toFlight(e));
    }
  }

  @Override
  public FlightInfo getFlightInfo(CallContext context, FlightDescriptor descriptor) {
    try {
      if (descriptor.isCommand()) {
        String plan = Requests.command(descriptor);
        target(context, "plan");
        Schema schema = executor.outputSchema(plan, Map.of());
        return new FlightInfo(schema, descriptor,
            List.of(new FlightEndpoint(Requests.planTicket(plan))), -1, -1);
      }
      String name = Requests.dataset(descriptor, false).name();
      target(context, name);
      try (Dataset d = catalog.get(name)) {
        return datasetInfo(d, descriptor);
      }
    } catch (Throwable e) {
      throw FlightErrors.toFlight(e);
    }
  }

  @Override
  public SchemaResult getSchema(CallContext context, FlightDescriptor descriptor) {
    try {
      if (descriptor.isCommand()) {
        target(context, "plan");
        return new SchemaResult(executor.outputSchema(Requests.command(descriptor), Map.of()));
      }
      String name = Requests.dataset(descriptor, false).name();
      target(context, name);
      try (Dataset d = catalog.get(name)) {
        return new SchemaResult(BatchSource.toMessageSchema(d.schema(), d.dictionaries()));
      }
    } catch (Throwable e) {
      throw FlightErrors.toFlight(e);
    }
  }

  /** One endpoint per run of whole batches adding up to about {@code partitionBytes}. */
  private FlightInfo datasetInfo(Dataset d, FlightDescriptor descriptor) {
    List<FlightEndpoint> endpoints = new ArrayList<>();
    List<VectorSchemaRoot> batches = d.batches();
    int from = 0;
    long bytes = 0;
    for (int i = 0; i < batches.size(); i++) {
      bytes += BatchSender.bodyBytes(batches.get(i));
      if (bytes >= partitionBytes) {
        endpoints.add(new FlightEndpoint(Requests.datasetTicket(d.name(), from, i + 1)));
        from = i + 1;
        bytes = 0;
      }
    }
    if (from < batches.size() || endpoints.isEmpty()) {
      endpoints.add(new FlightEndpoint(Requests.datasetTicket(d.name(), from, batches.size())));
    }
    return new FlightInfo(BatchSource.toMessageSchema(d.schema(), d.dictionaries()), descriptor,
        endpoints, d.byteSize(), d.rowCount());
  }

  // ---- DoGet ---------------------------------------------------------------------------------

  @Override
  public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
    CallTracker tracker = tracker(context);
    Requests.TicketRequest request;
    Requests.Compression compression;
    BatchSender sender;
    try {
      request = Requests.parseTicket(ticket);
      Requests.Compression fromTicket = request instanceof Requests.DatasetTicket dt
          ? dt.compression() : null;
      compression = fromTicket != null ? fromTicket
          : Requests.Compression.parse(tracker == null ? null : tracker.compressionHeader());
      sender = new BatchSender(listener, compression, tracker, () -> aborting);
    } catch (Throwable e) {
      listener.error(FlightErrors.toFlight(e));
      return;
    }
    streamStarted(tracker);
    try {
      streamPool.execute(() -> {
        List<AutoCloseable> afterCall = new ArrayList<>();
        try {
          if (request instanceof Requests.DatasetTicket dt) {
            streamDataset(dt, sender, tracker, afterCall);
          } else {
            streamPlan(((Requests.PlanTicket) request).planJson(), sender, tracker, afterCall);
          }
          sender.complete();
        } catch (Throwable e) {
          sender.fail(e);
        } finally {
          endStream(tracker, afterCall);
        }
      });
    } catch (RuntimeException rejected) {
      streamEnded(tracker);
      listener.error(CallStatus.UNAVAILABLE.withDescription("server is shutting down")
          .toRuntimeException());
    } catch (OutOfMemoryError full) {
      // No thread could be started for the stream: the call fails here, and is no longer
      // counted as running (a phantom stream would hold every later drain to its timeout).
      streamEnded(tracker);
      sender.fail(full);
    }
  }

  /**
   * Ends a stream's bookkeeping and hands its resources over for release; on a full Java heap it
   * waits for room (see {@link FullHeap}): skipping this would leak the call's allocators.
   */
  private void endStream(CallTracker tracker, List<AutoCloseable> afterCall) {
    streamEnded(tracker);
    long since = System.nanoTime();
    long pause = 5;
    while (true) {
      try {
        closeAfterCall(tracker, afterCall);
        return;
      } catch (OutOfMemoryError full) {
        pause = FullHeap.pause(full, since, pause);
      }
    }
  }

  /** Ends an upload with the status for {@code failure}, waiting out a full heap. */
  private static void failPut(StreamListener<PutResult> ackStream, Throwable failure) {
    long since = System.nanoTime();
    long pause = 5;
    while (true) {
      try {
        ackStream.onError(FlightErrors.toFlight(failure));
        return;
      } catch (OutOfMemoryError full) {
        pause = FullHeap.pause(full, since, pause);
      }
    }
  }

  private static void closeAfterCall(CallTracker tracker, List<AutoCloseable> resources) {
    // Reverse order: readers before the allocators they allocate from.
    List<AutoCloseable> reversed = new ArrayList<>(resources);
    java.util.Collections.reverse(reversed);
    if (tracker != null) {
      tracker.closeAfterCall(reversed.toArray(AutoCloseable[]::new));
    } else {
      try {
        org.apache.arrow.util.AutoCloseables.close(reversed);
      } catch (Exception e) {
        LOG.error("failed to release call resources", e);
      }
    }
  }

  private void streamDataset(Requests.DatasetTicket t, BatchSender sender, CallTracker tracker,
      List<AutoCloseable> afterCall) {
    if (tracker != null) {
      tracker.target(t.name());
    }
    Dataset d = catalog.get(t.name());
    afterCall.add(d);
    int size = d.batches().size();
    int to = t.toBatch() < 0 ? size : t.toBatch();
    if (t.fromBatch() > size || to > size) {
      throw new IllegalArgumentException("ticket asks for batches [" + t.fromBatch() + ", " + to
          + ") but dataset '" + t.name() + "' has " + size);
    }
    VectorSchemaRoot schemaRoot = VectorSchemaRoot.create(d.schema(), transport);
    afterCall.add(schemaRoot);
    DictionaryProvider dictionaries = d.dictionaries();
    sender.start(schemaRoot, dictionaries);
    for (int i = t.fromBatch(); i < to; i++) {
      sender.send(d.batches().get(i));
    }
  }

  private void streamPlan(String plan, BatchSender sender, CallTracker tracker,
      List<AutoCloseable> afterCall) throws Exception {
    if (tracker != null) {
      tracker.target("plan");
    }
    BufferAllocator allocator = memory.child("plan#" + callSeq.incrementAndGet());
    afterCall.add(allocator);
    ArrowReader result = executor.execute(plan, Map.of(), allocator);
    afterCall.add(result);
    sender.sendAll(result);
  }

  // ---- DoPut ---------------------------------------------------------------------------------

  @Override
  public Runnable acceptPut(CallContext context, FlightStream stream,
      StreamListener<PutResult> ackStream) {
    CallTracker tracker = tracker(context);
    FlightStreams.InputState input = FlightStreams.inputState();
    return () -> {
      streamStarted(tracker);
      try {
        Requests.DatasetRef ref = Requests.dataset(FlightStreams.descriptor(stream), true);
        if (tracker != null) {
          tracker.target(ref.name() + (ref.append() ? " (append)" : ""));
        }
        DatasetNames.validate(ref.name());
        VectorSchemaRoot root = FlightStreams.root(stream);
        JavaTypeSupport.check(root.getSchema());
        long rows = 0;
        Catalog.WriteMode mode = ref.append() ? Catalog.WriteMode.APPEND : Catalog.WriteMode.REPLACE;
        Dataset committed;
        DictionaryReplacementGuard dictionaryGuard = new DictionaryReplacementGuard();
        try (DatasetBuilder builder = catalog.newDataset(ref.name(), root.getSchema(), mode)) {
          long batchIndex = 0;
          while (true) {
            boolean more;
            try {
              more = stream.next();
            } catch (Throwable e) {
              throw FlightErrors.malformedInput(e);
            }
            dictionaryGuard.check(stream.getDictionaryProvider(), batchIndex);
            if (!more) {
              // A refused message ends the input like a half-close: never commit then.
              input.throwIfRefused();
              break;
            }
            batchIndex++;
            IncomingBatches.validate(root, stream.getDictionaryProvider());
            if (aborting) {
              throw CallStatus.UNAVAILABLE.withDescription("server is shutting down")
                  .toRuntimeException();
            }
            rows += root.getRowCount();
            if (tracker != null) {
              tracker.addRows(root.getRowCount());
              tracker.addBytes(BatchSender.bodyBytes(root));
            }
            builder.appendTransfer(root);
          }
          DictionaryProvider dictionaries = stream.getDictionaryProvider();
          for (long id : dictionaries.getDictionaryIds()) {
            builder.addDictionary(dictionaries.lookup(id));
          }
          committed = builder.build();
        }
        long totalRows = committed.rowCount();
        long bytes = committed.byteSize();
        catalog.commit(committed);
        ObjectNode ack = JSON.createObjectNode();
        ack.put("dataset", ref.name());
        ack.put("rows_written", rows);
        ack.put("rows", totalRows);
        ack.put("bytes", bytes);
        byte[] ackBytes = ack.toString().getBytes(StandardCharsets.UTF_8);
        ArrowBuf buf = transport.buffer(ackBytes.length);
        buf.setBytes(0, ackBytes);
        buf.writerIndex(ackBytes.length);
        // Flight copies the metadata into the reply; the buffer stays ours to free.
        try (PutResult result = PutResult.metadata(buf)) {
          ackStream.onNext(result);
        }
        ackStream.onCompleted();
      } catch (Throwable e) {
        failPut(ackStream, e);
      } finally {
        streamEnded(tracker);
      }
    };
  }

  // ---- DoExchange ----------------------------------------------------------------------------

  @Override
  public void doExchange(CallContext context, FlightStream reader, ServerStreamListener writer) {
    CallTracker tracker = tracker(context);
    BatchSender sender;
    try {
      sender = new BatchSender(writer,
          Requests.Compression.parse(tracker == null ? null : tracker.compressionHeader()),
          tracker, () -> aborting);
    } catch (Throwable e) {
      writer.error(FlightErrors.toFlight(e));
      return;
    }
    streamStarted(tracker);
    List<AutoCloseable> afterCall = new ArrayList<>();
    try {
      FlightDescriptor descriptor = FlightStreams.descriptor(reader);
      if (descriptor == null || !descriptor.isCommand()) {
        throw new IllegalArgumentException(
            "DoExchange needs a command descriptor holding a JSON plan");
      }
      if (tracker != null) {
        tracker.target("plan");
      }
      String plan = Requests.command(descriptor);
      BufferAllocator allocator = memory.child("exchange#" + callSeq.incrementAndGet());
      afterCall.add(allocator);
      if (FlightStreams.takeOwnership(writer, reader)) {
        // Closed after the engine (result, input) has stopped reading it.
        afterCall.add(reader);
      }
      ArrowReader input = new SharingReader(allocator, new FlightStreamSource(reader), true);
      afterCall.add(input);
      ArrowReader result = executor.execute(plan, Map.of("input", input), allocator);
      afterCall.add(result);
      sender.sendAll(result);
      sender.complete();
    } catch (Throwable e) {
      sender.fail(e);
    } finally {
      endStream(tracker, afterCall);
    }
  }

  private void streamStarted(CallTracker tracker) {
    activeStreams.incrementAndGet();
    if (tracker != null) {
      running.add(tracker);
    }
  }

  private void streamEnded(CallTracker tracker) {
    activeStreams.decrementAndGet();
    if (tracker != null) {
      running.remove(tracker);
    }
  }

  // ---- Actions -------------------------------------------------------------------------------

  @Override
  public void listActions(CallContext context, StreamListener<ActionType> listener) {
    listener.onNext(new ActionType(ACTION_DROP,
        "Drop a dataset. Body: its name (UTF-8). Result: {\"dropped\": name}."));
    listener.onNext(new ActionType(ACTION_STATS,
        "Memory, datasets and active streams as JSON."));
    listener.onNext(new ActionType(ACTION_HEALTH,
        "{\"status\": \"serving\"|\"draining\", \"max_message_bytes\": N, ...} as JSON."));
    listener.onCompleted();
  }

  @Override
  public void doAction(CallContext context, Action action, StreamListener<Result> listener) {
    try {
      target(context, action.getType());
      ObjectNode out = JSON.createObjectNode();
      switch (action.getType()) {
        case ACTION_DROP -> {
          byte[] body = action.getBody();
          String name = new String(body == null ? new byte[0] : body, StandardCharsets.UTF_8);
          DatasetNames.validate(name);
          if (!catalog.drop(name)) {
            throw new dev.quiver.engine.dataset.DatasetNotFound(name);
          }
          out.put("dropped", name);
        }
        case ACTION_STATS -> stats(out);
        case ACTION_HEALTH -> {
          out.put("status", draining ? "draining" : "serving");
          out.put("datasets", catalog.size());
          out.put("active_streams", activeStreams.get());
          out.put("uptime_ms", (System.nanoTime() - startNanos) / 1_000_000);
          out.put("max_message_bytes", maxMessageBytes);
        }
        default -> throw new IllegalArgumentException("unknown action '" + action.getType()
            + "'; available: drop, stats, health");
      }
      listener.onNext(new Result(out.toString().getBytes(StandardCharsets.UTF_8)));
      listener.onCompleted();
    } catch (Throwable e) {
      listener.onError(FlightErrors.toFlight(e));
    }
  }

  private void stats(ObjectNode out) {
    long datasetBytes = 0;
    long datasetRows = 0;
    ObjectNode sets = JSON.createObjectNode();
    List<Dataset> all = catalog.list();
    try {
      for (Dataset d : all) {
        datasetBytes += d.byteSize();
        datasetRows += d.rowCount();
        ObjectNode o = sets.putObject(d.name());
        o.put("rows", d.rowCount());
        o.put("bytes", d.byteSize());
        o.put("batches", d.batches().size());
      }
    } finally {
      all.forEach(Dataset::close);
    }
    out.put("allocated_bytes", memory.allocatedBytes());
    out.put("peak_bytes", memory.peakBytes());
    out.put("limit_bytes", memory.limitBytes());
    out.put("cached_free_bytes", memory.cachedBytes());
    out.put("transport_bytes", transport.getAllocatedMemory());
    out.put("dataset_count", all.size());
    out.put("dataset_bytes", datasetBytes);
    out.put("dataset_rows", datasetRows);
    out.put("active_streams", activeStreams.get());
    out.put("draining", draining);
    out.set("datasets", sets);
    var streams = out.putArray("streams");
    for (CallTracker t : running) {
      ObjectNode o = streams.addObject();
      o.put("method", t.method());
      o.put("target", t.target());
      o.put("rows", t.rows());
      o.put("bytes", t.bytes());
    }
  }
}
