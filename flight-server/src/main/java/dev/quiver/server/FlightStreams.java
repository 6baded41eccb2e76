package dev.quiver.server;

import io.grpc.Context;
import java.lang.reflect.Field;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Workarounds for Arrow Java 19's server-side {@link FlightStream}.
 *
 * <p>{@link FlightStream#getRoot()} and {@link FlightStream#getDescriptor()} wait forever when
 * the client ends its stream without a schema message or without a descriptor (those futures
 * are only ever completed by the expected message). With malformed input that would park a
 * handler thread for good. {@link DecodeFailureInterceptor} records in the gRPC {@link Context}
 * when the client's side of the call has ended; these helpers wait on the futures in slices and
 * give up once the input is over.
 */
final class FlightStreams {
  /** Set by {@link DecodeFailureInterceptor}; visible to handlers through gRPC's Context. */
  static final Context.Key<InputState> INPUT_STATE = Context.key("quiver.input-state");

  /** Whether the client has stopped sending (half-close, cancel or completion). */
  static final class InputState {
    volatile boolean ended;
    /**
     * Why the interceptor refused a message of this call (null if none). The interceptor ends
     * the handler's input with a half-close rather than a cancel, so a reader sees a normal end
     * and must check this before it treats the input as complete.
     */
    volatile RuntimeException failure;

    /** Throws the refusal as INVALID_ARGUMENT if a message of this call was refused. */
    void throwIfRefused() {
      RuntimeException why = failure;
      if (why != null) {
        throw FlightErrors.malformedInput(why);
      }
    }
  }

  /** This call's input state (captured on the handler thread; a detached state if none). */
  static InputState inputState() {
    InputState state = INPUT_STATE.get();
    return state != null ? state : new InputState();
  }

  private FlightStreams() {}

  /** The stream's root once its schema arrived; INVALID_ARGUMENT if it never will. */
  static VectorSchemaRoot root(FlightStream stream) {
    Future<?> future = field(stream, "root");
    if (future == null) {
      return stream.getRoot();
    }
    Object root = await(future, "the stream ended before its schema message");
    return (VectorSchemaRoot) root;
  }

  /** The stream's descriptor (waits for the schema first). */
  static FlightDescriptor descriptor(FlightStream stream) {
    root(stream);
    Future<?> future = field(stream, "descriptor");
    if (future == null) {
      return stream.getDescriptor();
    }
    return (FlightDescriptor) await(future, "the stream carried no FlightDescriptor");
  }

  /**
   * Takes the closing of an exchange's input stream away from Arrow's Flight service, which
   * closes it as soon as the handler reports its status: the engine may then still be inside
   * {@link FlightStream#next()} on a worker thread, and a batch loaded into the closed stream's
   * root is never released. Returns true when the caller now owns {@code stream} and must close
   * it once nothing reads it any more; false (Flight keeps closing it) if Flight's listener has
   * no such field in this Arrow version.
   */
  static boolean takeOwnership(Object exchangeListener, FlightStream stream) {
    for (Class<?> c = exchangeListener.getClass(); c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField("resource");
        f.setAccessible(true);
        if (f.get(exchangeListener) == stream) {
          f.set(exchangeListener, null);
          return true;
        }
        return false;
      } catch (NoSuchFieldException e) {
        // keep walking up
      } catch (ReflectiveOperationException | RuntimeException e) {
        return false;
      }
    }
    return false;
  }

  private static Object await(Future<?> future, String whenMissing) {
    InputState state = INPUT_STATE.get();
    int graceSlices = 0;
    while (true) {
      try {
        return future.get(50, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        if (state != null) {
          state.throwIfRefused();
        }
        // Messages already received are processed in order; allow a moment after the end.
        if (state != null && state.ended && ++graceSlices > 10) {
          throw new IllegalArgumentException(whenMissing);
        }
      } catch (ExecutionException e) {
        throw FlightErrors.malformedInput(e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the client", e);
      } catch (RuntimeException e) {
        throw FlightErrors.malformedInput(e);
      }
    }
  }

  private static Future<?> field(FlightStream stream, String name) {
    try {
      Field f = FlightStream.class.getDeclaredField(name);
      f.setAccessible(true);
      Object v = f.get(stream);
      return v instanceof Future<?> fut ? fut : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }
}
