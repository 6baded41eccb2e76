package dev.quiver.server;

import dev.quiver.engine.exec.MemorySignature;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.compression.CompressionCodec;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowDictionaryBatch;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.IpcOption;

/**
 * Writes record batches to a Flight output stream with zero-copy, optional body compression and
 * real backpressure.
 *
 * <p>Backpressure: before every batch the sender waits until gRPC reports the stream ready
 * ({@code isReady()}), woken by the stream's on-ready handler; a slow client therefore holds the
 * server at one batch in flight (plus gRPC's backpressure threshold), never the whole dataset.
 * Cancellation, deadline expiry and server shutdown end the wait with an error.
 *
 * <p>Arrow Java 19's listener only ever unloads the root given to {@code start()} and never
 * compresses. To send the batches of an immutable dataset without copying them into a transport
 * root, and to compress, the sender swaps the listener's {@code VectorUnloader} (a protected
 * field of {@code OutboundStreamListenerImpl}) per batch. The unloader only retains the batch's
 * buffers, through views the call counts ({@link CallLifetime#hold}): gRPC releases them after
 * writing or dropping them, and the call's resources are closed only after that.
 *
 * <p>Dictionaries: the listener can only send them with the schema, from the vectors' own
 * buffers. The sender writes dictionary messages itself (Flight's {@code ArrowMessage} for a
 * dictionary batch, through the listener's gRPC observer), over counted views like the batches.
 * When the reader's dictionary changes between batches (a query whose input replaced one), the
 * new dictionary goes out as an IPC replacement before the batch that uses it. With counted
 * views, the schema carries empty placeholder dictionaries, replaced at once.
 */
public final class BatchSender {
  private static final ClassValue<Field> UNLOADER_FIELD = new ClassValue<>() {
    @Override
    protected Field computeValue(Class<?> type) {
      return declaredField(type, "unloader");
    }
  };

  private static final ClassValue<Field> OBSERVER_FIELD = new ClassValue<>() {
    @Override
    protected Field computeValue(Class<?> type) {
      return declaredField(type, "responseObserver");
    }
  };
  private static final Constructor<?> DICTIONARY_MESSAGE = dictionaryMessageConstructor();

  private static Field declaredField(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
      } catch (NoSuchFieldException e) {
        // keep walking up
      }
    }
    throw new IllegalStateException(
        type.getName() + " has no '" + name + "' field: this Arrow Flight version is not supported");
  }

  private static Constructor<?> dictionaryMessageConstructor() {
    try {
      Constructor<?> c = Class.forName("org.apache.arrow.flight.ArrowMessage")
          .getConstructor(ArrowDictionaryBatch.class, IpcOption.class);
      c.setAccessible(true);
      return c;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this Arrow Flight version has no dictionary ArrowMessage", e);
    }
  }

  private final ServerStreamListener listener;
  private final CompressionCodec codec;
  private final CallTracker tracker;
  private final BooleanSupplier aborted;
  private final Object readiness = new Object();
  private volatile boolean cancelled;
  private boolean finished;
  /** Set when the call's interceptor refused an input message and closed the call. */
  private final FlightStreams.InputState input;
  /** Counts the buffers gRPC holds, so that the call's resources outlive them (null: none). */
  private final CallLifetime lifetime;
  /** Per dictionary id: the value count and buffer addresses of the dictionary last sent. */
  private final Map<Long, long[]> sentDictionaries = new HashMap<>();

  /**
   * Must be created on the thread gRPC called the producer on (it installs the stream handlers).
   */
  public BatchSender(ServerStreamListener listener, Requests.Compression compression,
      CallTracker tracker, BooleanSupplier aborted) {
    this.listener = listener;
    this.codec = compression == null || compression == Requests.Compression.NONE
        ? null : CommonsCompressionFactory.INSTANCE.createCodec(compression.codec);
    this.tracker = tracker;
    this.aborted = aborted;
    this.input = FlightStreams.inputState();
    this.lifetime = CallLifetime.KEY.get();
    if (tracker != null && codec != null) {
      tracker.compression(compression.name());
    }
    listener.setUseZeroCopy(true);
    listener.setOnReadyHandler(this::wake);
    listener.setOnCancelHandler(() -> {
      cancelled = true;
      wake();
    });
  }

  private void wake() {
    synchronized (readiness) {
      readiness.notifyAll();
    }
  }

  /** Sends the schema and dictionaries. */
  public void start(VectorSchemaRoot schemaRoot, DictionaryProvider dictionaries) {
    awaitReady();
    List<Long> ids = dictionaryIds(schemaRoot, dictionaries);
    if (ids.isEmpty() || lifetime == null) {
      listener.start(schemaRoot, dictionaries, IpcOption.DEFAULT);
    } else {
      List<FieldVector> placeholders = new ArrayList<>();
      try {
        DictionaryProvider.MapDictionaryProvider empty = new DictionaryProvider.MapDictionaryProvider();
        for (long id : ids) {
          Dictionary d = dictionaries.lookup(id);
          if (d == null) {
            throw new IllegalStateException("no dictionary " + id + " to send");
          }
          FieldVector v = d.getVector().getField().createVector(d.getVector().getAllocator());
          placeholders.add(v);
          empty.put(new Dictionary(v, d.getEncoding()));
        }
        listener.start(schemaRoot, empty, IpcOption.DEFAULT);
      } finally {
        placeholders.forEach(FieldVector::close);
      }
      for (long id : ids) {
        sendDictionary(id, dictionaries.lookup(id).getVector());
      }
    }
    sentDictionaries.clear();
    for (long id : ids) {
      sentDictionaries.put(id, MemorySignature.of(dictionaries.lookup(id).getVector()));
    }
  }

  /** Every dictionary id the schema uses: in nested fields and in dictionaries' values too. */
  private static List<Long> dictionaryIds(VectorSchemaRoot root, DictionaryProvider dictionaries) {
    List<Long> ids = new ArrayList<>();
    for (FieldVector v : root.getFieldVectors()) {
      collectIds(v.getField(), dictionaries, ids);
    }
    return ids;
  }

  private static void collectIds(org.apache.arrow.vector.types.pojo.Field field,
      DictionaryProvider dictionaries, List<Long> ids) {
    if (field.getDictionary() != null && !ids.contains(field.getDictionary().getId())) {
      long id = field.getDictionary().getId();
      ids.add(id);
      Dictionary d = dictionaries == null ? null : dictionaries.lookup(id);
      if (d != null) {
        for (org.apache.arrow.vector.types.pojo.Field child : d.getVector().getField().getChildren()) {
          collectIds(child, dictionaries, ids);
        }
      }
    }
    for (org.apache.arrow.vector.types.pojo.Field child : field.getChildren()) {
      collectIds(child, dictionaries, ids);
    }
  }



  /** Sends, as IPC replacements, the reader's dictionaries that changed since last sent. */
  private void sendChangedDictionaries(DictionaryProvider dictionaries) {
    for (Map.Entry<Long, long[]> e : sentDictionaries.entrySet()) {
      FieldVector v = dictionaries.lookup(e.getKey()).getVector();
      long[] now = MemorySignature.of(v);
      if (!Arrays.equals(now, e.getValue())) {
        awaitReady();
        sendDictionary(e.getKey(), v);
        e.setValue(now);
      }
    }
  }

  /** One dictionary batch message (not a delta) over the vector's buffers, counted if needed. */
  private void sendDictionary(long id, FieldVector vector) {
    VectorSchemaRoot single = new VectorSchemaRoot(List.of(vector.getField()), List.of(vector),
        vector.getValueCount());
    ArrowRecordBatch unloaded = new VectorUnloader(single, true, true).getRecordBatch();
    List<ArrowBuf> buffers = new ArrayList<>(unloaded.getBuffers().size());
    if (lifetime == null) {
      buffers.addAll(unloaded.getBuffers());
    } else {
      // Each view takes over one of the unloaded batch's references.
      for (ArrowBuf b : unloaded.getBuffers()) {
        buffers.add(lifetime.hold(b));
      }
    }
    try (ArrowDictionaryBatch batch = new ArrowDictionaryBatch(id,
        new ArrowRecordBatch(unloaded.getLength(), unloaded.getNodes(), buffers), false)) {
      // As Flight's own putNext does: once gRPC took the message, closing it frees nothing;
      // if gRPC dropped it (a cancelled call), closing it releases its buffers.
      try (AutoCloseable message =
          (AutoCloseable) DICTIONARY_MESSAGE.newInstance(batch, IpcOption.DEFAULT)) {
        observer().onNext(message);
      }
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot build a Flight dictionary message", e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("cannot release a Flight dictionary message", e);
    } finally {
      // The message holds its own references now (or none, if building it failed).
      buffers.forEach(ArrowBuf::close);
    }
  }

  @SuppressWarnings("unchecked")
  private io.grpc.stub.StreamObserver<Object> observer() {
    try {
      return (io.grpc.stub.StreamObserver<Object>) OBSERVER_FIELD.get(listener.getClass()).get(listener);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot reach the Flight listener's gRPC observer", e);
    }
  }

  /** Sends one batch, waiting for the client to keep up first. */
  public void send(VectorSchemaRoot batch) {
    awaitReady();
    if (lifetime == null) {
      setUnloader(new VectorUnloader(batch, true, codec, true));
      listener.putNext();
    } else {
      ArrowRecordBatch unloaded = new VectorUnloader(batch, true, codec, true).getRecordBatch();
      // Each view takes over one of the batch's references, so the batch is not closed.
      List<ArrowBuf> views = new ArrayList<>(unloaded.getBuffers().size());
      for (ArrowBuf b : unloaded.getBuffers()) {
        views.add(lifetime.hold(b));
      }
      try {
        setUnloader(new HeldUnloader(batch, unloaded, views));
        listener.putNext();
      } finally {
        // gRPC holds its own references to the views by now, if it took the message.
        views.forEach(ArrowBuf::close);
      }
    }
    if (tracker != null) {
      tracker.addRows(batch.getRowCount());
      tracker.addBytes(bodyBytes(batch));
    }
  }

  private void setUnloader(VectorUnloader unloader) {
    try {
      UNLOADER_FIELD.get(listener.getClass()).set(listener, unloader);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot set the Flight listener's unloader", e);
    }
  }

  /** Hands Flight a batch over the held views instead of the vectors' own buffers. */
  private static final class HeldUnloader extends VectorUnloader {
    private final ArrowRecordBatch unloaded;
    private final List<ArrowBuf> views;

    HeldUnloader(VectorSchemaRoot root, ArrowRecordBatch unloaded, List<ArrowBuf> views) {
      super(root);
      this.unloaded = unloaded;
      this.views = views;
    }

    /** Retains the views for Flight's message, which releases them once gRPC took its own. */
    @Override
    public ArrowRecordBatch getRecordBatch() {
      return new ArrowRecordBatch(unloaded.getLength(), unloaded.getNodes(), views,
          unloaded.getBodyCompression(), unloaded.getVariadicBufferCounts(), true, true);
    }
  }

  /**
   * Streams everything {@code reader} produces. The first batch is loaded before the schema is
   * sent so that dictionaries the reader fills on its first batch go out with the schema.
   */
  public void sendAll(ArrowReader reader) throws IOException {
    boolean more = reader.loadNextBatch();
    VectorSchemaRoot root = reader.getVectorSchemaRoot();
    start(root, reader);
    while (more) {
      sendChangedDictionaries(reader);
      send(root);
      more = reader.loadNextBatch();
    }
  }

  public void complete() {
    if (!finished) {
      finished = true;
      listener.completed();
    }
  }

  /**
   * Ends the call with the Flight status for {@code failure}; on a full Java heap it waits for
   * room to build that status (see {@link FullHeap}).
   */
  public void fail(Throwable failure) {
    long since = System.nanoTime();
    long pause = 5;
    while (!finished) {
      try {
        listener.error(FlightErrors.toFlight(failure));
        finished = true;
      } catch (OutOfMemoryError full) {
        pause = FullHeap.pause(full, since, pause);
      }
    }
  }

  private void awaitReady() {
    while (true) {
      if (cancelled || listener.isCancelled()) {
        throw CallStatus.CANCELLED.withDescription("call cancelled by the client or its deadline")
            .toRuntimeException();
      }
      // The call is already closed with this refusal; nothing more can be sent.
      input.throwIfRefused();
      if (aborted.getAsBoolean()) {
        throw CallStatus.UNAVAILABLE.withDescription("server is shutting down")
            .toRuntimeException();
      }
      synchronized (readiness) {
        if (listener.isReady()) {
          return;
        }
        try {
          // The handler wakes us; the timeout only bounds how late we notice an abort.
          readiness.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw CallStatus.UNAVAILABLE.withDescription("server is shutting down")
              .toRuntimeException();
        }
      }
    }
  }

  static long bodyBytes(VectorSchemaRoot batch) {
    long n = 0;
    for (FieldVector v : batch.getFieldVectors()) {
      n += v.getBufferSize();
    }
    return n;
  }
}
