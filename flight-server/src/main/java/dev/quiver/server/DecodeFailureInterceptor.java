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
  /** Why {@link GuardedMarshaller} returned null for the message being delivered. */
  private final ThreadLocal<RuntimeException> parseFailure = new ThreadLocal<>();

  /** Installs this interceptor and the guarded marshallers that report to it. */
  static void install(io.grpc.netty.NettyServerBuilder builder) {
    DecodeFailureInterceptor interceptor = new DecodeFailureInterceptor();
    builder.intercept(interceptor);
    GuardedMarshaller.install(builder, interceptor.parseFailure);
  }

  private static final Logger LOG = LoggerFactory.getLogger(DecodeFailureInterceptor.class);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    CloseOnce<Q, R> guarded = new CloseOnce<>(call);
    FlightStreams.InputState input = new FlightStreams.InputState();
    CallLifetime lifetime = new CallLifetime();
    var middleware = ServerInterceptorAdapter.SERVER_MIDDLEWARE_KEY.get();
    if (middleware != null && middleware.get(CallTracker.KEY) instanceof CallTracker tracker) {
      tracker.lifetime(lifetime);
    }
    Context context = Context.current().withValue(FlightStreams.INPUT_STATE, input)
        .withValue(CallLifetime.KEY, lifetime);
    ServerCall.Listener<Q> delegate = Contexts.interceptCall(context, guarded, headers, next);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      private boolean failed;

      @Override
      public void onMessage(Q message) {
        if (failed) {
          closeQuietly(message);
          return;
        }
        try {
          if (message == null) {
            RuntimeException why = parseFailure.get();
            parseFailure.remove();
            throw why != null ? why : new IllegalArgumentException("undecodable FlightData");
          }
          super.onMessage(message);
        } catch (RuntimeException e) {
          failed = true;
          input.ended = true;
          closeQuietly(message);
          FlightRuntimeException status = FlightErrors.malformedInput(e);
          LOG.debug("rejecting undecodable message", e);
          guarded.close(StatusUtils.toGrpcStatus(status.status()), new Metadata());
          // Tell the handler the call is over so an upload waiting for data ends and cleans up.
          super.onCancel();
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
        try {
          if (!failed) {
            super.onCancel();
          }
        } finally {
          lifetime.streamClosed();
        }
      }

      @Override
      public void onComplete() {
        input.ended = true;
        try {
          if (!failed) {
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

  /** Ignores writes and closes after the first close, which this interceptor may have made. */
  private static final class CloseOnce<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private volatile boolean closed;

    CloseOnce(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        super.close(status, trailers);
      }
    }

    @Override
    public void sendMessage(R message) {
      if (closed) {
        closeQuietly(message);
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
