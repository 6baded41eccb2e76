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

  private static Object await(Future<?> future, String whenMissing) {
    InputState state = INPUT_STATE.get();
    int graceSlices = 0;
    while (true) {
      try {
        return future.get(50, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
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
