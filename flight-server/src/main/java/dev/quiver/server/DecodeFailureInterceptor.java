package dev.quiver.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.Executor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.grpc.ServerInterceptorAdapter;
import org.apache.arrow.flight.grpc.StatusUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives decoding failures on gRPC's own threads a proper status.
 *
 * <p>Arrow's Flight service decodes an incoming schema message inside gRPC's message callback;
 * a type Arrow Java cannot represent (e.g. decimal32) throws there, and gRPC would answer
 * {@code UNKNOWN: Application error processing RPC}. This interceptor closes such a call with
 * the status {@link FlightErrors#malformedInput} picks and then cancels the handler so the
 * producer's upload loop ends and frees what it staged.
 */
final class DecodeFailureInterceptor implements ServerInterceptor {
  /** What {@link GuardedMarshaller} found in the message being delivered. */
  private final ThreadLocal<GuardedMarshaller.ParseNote> parseNotes =
      ThreadLocal.withInitial(GuardedMarshaller.ParseNote::new);

  /** Closes call resources that gRPC's transport outlived (see {@link CallLifetime}). */
  private final Executor releaser;

  private DecodeFailureInterceptor(Executor releaser) {
    this.releaser = releaser;
  }

  /**
   * Installs this interceptor and the guarded marshallers that report to it; {@code releaser}
   * closes the resources of calls whose last outbound buffer gRPC released after the call ended.
   */
  static void install(io.grpc.netty.NettyServerBuilder builder, Executor releaser) {
    DecodeFailureInterceptor interceptor = new DecodeFailureInterceptor(releaser);
    builder.intercept(interceptor);
    GuardedMarshaller.install(builder, interceptor.parseNotes);
  }

  private static final Logger LOG = LoggerFactory.getLogger(DecodeFailureInterceptor.class);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    CloseOnce<Q, R> guarded = new CloseOnce<>(call);
    FlightStreams.InputState input = new FlightStreams.InputState();
    CallLifetime lifetime = new CallLifetime(releaser);
    var middleware = ServerInterceptorAdapter.SERVER_MIDDLEWARE_KEY.get();
    CallTracker tracker = middleware != null
        && middleware.get(CallTracker.KEY) instanceof CallTracker t ? t : null;
    if (tracker != null) {
      tracker.lifetime(lifetime);
    }
    Context context = Context.current().withValue(FlightStreams.INPUT_STATE, input)
        .withValue(CallLifetime.KEY, lifetime);
    ServerCall.Listener<Q> delegate = Contexts.interceptCall(context, guarded, headers, next);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      private boolean failed;
      private boolean sawSchema;
      /** The vectors this call's batches load into, once its schema message passed. */
      private LoadGuard.StreamLayout layout;

      @Override
      public void onMessage(Q message) {
        if (failed) {
          closeQuietly(message);
          return;
        }
        try {
          GuardedMarshaller.ParseNote note = parseNotes.get();
          if (message == null) {
            RuntimeException why = note.failure;
            note.reset();
            throw why != null ? why : new IllegalArgumentException("undecodable FlightData");
          }
          byte type = note.headerType;
          var header = note.header;
          note.reset();
          if (type == GuardedMarshaller.SCHEMA) {
            // Arrow's stream reader would replace its root and strand the first one's buffers.
            if (sawSchema) {
              throw new IllegalArgumentException("a second schema message in one stream");
            }
            sawSchema = true;
          } else if (layout != null && (type == GuardedMarshaller.RECORD_BATCH
              || type == GuardedMarshaller.DICTIONARY_BATCH)) {
            // Arrow sizes vectors from the batch's declared lengths and offsets when it loads
            // it, before any check on the loaded batch could run.
            LoadGuard.check(layout, header, message);
          }
          super.onMessage(message);
          if (type == GuardedMarshaller.SCHEMA) {
            // After Arrow's reader accepted the schema, so that its refusals keep their words.
            layout = LoadGuard.layoutOf(header);
          }
        } catch (RuntimeException | OutOfMemoryError e) {
          // An OutOfMemoryError here is Arrow sizing an array from a length in the client's
          // bytes ("Requested array size exceeds VM limit"): nothing was allocated, refuse it.
          failed = true;
          input.failure = e instanceof RuntimeException r ? r
              : new IllegalArgumentException("a length in the message is too large: " + e, e);
          input.ended = true;
          closeQuietly(message);
          FlightRuntimeException status = FlightErrors.malformedInput(input.failure);
          LOG.debug("rejecting undecodable message", e);
          guarded.close(StatusUtils.toGrpcStatus(status.status()), new Metadata());
          // End the handler's input so a reader waiting for data wakes, sees the refusal
          // (InputState.failure) and cleans up. A half-close, not a cancel: a cancel makes Flight
          // close the exchange's FlightStream on this thread while the handler may be loading a
          // batch into it, and the buffers loaded after that close were never released.
          super.onHalfClose();
        }
      }

      @Override
      public void onHalfClose() {
        input.ended = true;
        if (!failed) {
          super.onHalfClose();
        }
      }

      @Override
      public void onCancel() {
        input.ended = true;
        // Before the handler can hear of the cancel: its close must not reach the transport.
        guarded.endedByTransport();
        try {
          if (!failed) {
            super.onCancel();
          }
        } finally {
          lifetime.streamClosed();
          if (tracker != null) {
            // A client ends its call at its own deadline, just before the server's copy of it
            // (taken when the headers arrived) expires.
            io.grpc.Deadline deadline = Context.current().getDeadline();
            tracker.endedByTransport(deadline != null
                && deadline.timeRemaining(java.util.concurrent.TimeUnit.MILLISECONDS) < 100);
          }
        }
      }

      @Override
      public void onComplete() {
        try {
          if (!failed) {
            if (!input.ended && !call.getMethodDescriptor().getType().clientSendsOneMessage()) {
              // The server ended the call while the client was still sending (a failed
              // exchange): end the handler's input too, so that an engine worker waiting for
              // the next batch wakes and the call's resources can be released.
              input.ended = true;
              super.onHalfClose();
            }
            super.onComplete();
          }
        } finally {
          lifetime.streamClosed();
        }
      }
    };
  }

  private static void closeQuietly(Object message) {
    if (message instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception | Error ignored) {
        // The message may have been consumed before the failure; nothing more to free.
      }
    }
  }

  /**
   * Ignores writes and closes after the first close, which this interceptor may have made, or
   * after the transport ended the stream.
   */
  private static final class CloseOnce<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private volatile boolean closed;

    CloseOnce(ServerCall<Q, R> call) {
      super(call);
    }

    /**
     * The transport ended the stream (client reset, deadline, a message over the size limit):
     * later closes and writes are dropped. gRPC-Java answers an oversize message by sending the
     * status trailers itself; the handler's close then made it write trailers a second time on
     * the half-closed stream, which Netty treats as an internal error of the whole connection
     * (GOAWAY), failing every other call on it.
     */
    synchronized void endedByTransport() {
      closed = true;
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        super.close(status, trailers);
      }
    }

    // gRPC's ServerCall is not thread-safe: this interceptor closes from the transport thread
    // while the handler writes from its own, so every outbound call shares one lock (a close
    // racing the handler's first headers reached clients without a :status header).
    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!closed) {
        super.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(R message) {
      if (closed) {
        // Not closed here: Flight closes every ArrowMessage it sends once this returns, and a
        // second close would release the batch's buffers twice.
        return;
      }
      super.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return !closed && super.isReady();
    }
  }
}
