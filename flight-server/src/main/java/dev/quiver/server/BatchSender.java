package dev.quiver.server;

import java.io.IOException;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.compression.CompressionCodec;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;
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
 */
public final class BatchSender {
  private static final ClassValue<Field> UNLOADER_FIELD = new ClassValue<>() {
    @Override
    protected Field computeValue(Class<?> type) {
      for (Class<?> c = type; c != null; c = c.getSuperclass()) {
        try {
          Field f = c.getDeclaredField("unloader");
          f.setAccessible(true);
          return f;
        } catch (NoSuchFieldException e) {
          // keep walking up
        }
      }
      throw new IllegalStateException(
          type.getName() + " has no 'unloader' field: this Arrow Flight version is not supported");
    }
  };

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
    listener.start(schemaRoot, dictionaries, IpcOption.DEFAULT);
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

  /** Ends the call with the Flight status for {@code failure}. */
  public void fail(Throwable failure) {
    if (!finished) {
      finished = true;
      listener.error(FlightErrors.toFlight(failure));
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
