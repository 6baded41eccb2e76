package dev.quiver.server;

import dev.quiver.engine.dataset.DatasetNotFound;
import dev.quiver.engine.expr.ComputeException;
import dev.quiver.engine.memory.MemoryLimitExceeded;
import dev.quiver.engine.plan.PlanException;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.OutOfMemoryException;

/** The one place where engine and Arrow exceptions become Flight status codes. */
public final class FlightErrors {
  private FlightErrors() {}

  /** Maps a failure of a request to the status the client sees. */
  public static FlightRuntimeException toFlight(Throwable t) {
    Throwable e = unwrap(t);
    if (e instanceof FlightRuntimeException fre) {
      return fre;
    }
    if (e instanceof DatasetNotFound) {
      return CallStatus.NOT_FOUND.withDescription(e.getMessage()).toRuntimeException();
    }
    if (e instanceof PlanException pe) {
      // The kind leads the message so clients can map it to a typed error (quiver.errors).
      CallStatus status = pe.kind() == PlanException.Kind.DATASET_NOT_FOUND
          ? CallStatus.NOT_FOUND : CallStatus.INVALID_ARGUMENT;
      return status.withDescription(pe.kind() + ": " + message(pe)).withCause(pe)
          .toRuntimeException();
    }
    if (e instanceof MemoryLimitExceeded || e instanceof OutOfMemoryException) {
      return CallStatus.RESOURCE_EXHAUSTED.withDescription(message(e)).withCause(e)
          .toRuntimeException();
    }
    if (e instanceof ComputeException) {
      // The prefix tells clients it is the data, not the plan (quiver.ComputeError).
      return CallStatus.INVALID_ARGUMENT.withDescription("COMPUTE_ERROR: " + message(e))
          .withCause(e).toRuntimeException();
    }
    if (e instanceof OutOfMemoryError) {
      // Group and join tables live on the Java heap, outside the --memory-limit accounting.
      return CallStatus.RESOURCE_EXHAUSTED.withDescription("the server's Java heap is exhausted ("
          + e.getMessage() + "): the plan's group or join tables did not fit; start the server "
          + "with a larger -Xmx, or reduce the number of groups").withCause(e)
          .toRuntimeException();
    }
    if (e instanceof UnsupportedOperationException) {
      return CallStatus.UNIMPLEMENTED.withDescription(message(e)).withCause(e).toRuntimeException();
    }
    if (e instanceof IllegalArgumentException) {
      return CallStatus.INVALID_ARGUMENT.withDescription(message(e)).withCause(e)
          .toRuntimeException();
    }
    return CallStatus.INTERNAL.withDescription(message(e)).withCause(e).toRuntimeException();
  }

  /**
   * Maps a failure while decoding data the client sent: anything that is not a transport status
   * or a memory limit means the bytes were not valid Arrow IPC.
   */
  public static FlightRuntimeException malformedInput(Throwable t) {
    Throwable e = unwrap(t);
    if (e instanceof FlightRuntimeException fre) {
      return fre;
    }
    if (e instanceof MemoryLimitExceeded || e instanceof OutOfMemoryException) {
      return toFlight(e);
    }
    if (e instanceof UnsupportedOperationException || isTypeUnsupported(e)) {
      return CallStatus.UNIMPLEMENTED
          .withDescription("Arrow Java 19 cannot read this data: " + message(e)).withCause(e)
          .toRuntimeException();
    }
    return CallStatus.INVALID_ARGUMENT
        .withDescription("malformed Arrow IPC data: " + message(e)).withCause(e)
        .toRuntimeException();
  }

  /** Arrow Java refuses types it has no vector for while converting a schema's fields. */
  private static boolean isTypeUnsupported(Throwable e) {
    StackTraceElement[] st = e.getStackTrace();
    return e instanceof IllegalArgumentException && st.length > 0
        && st[0].getClassName().equals("org.apache.arrow.vector.types.pojo.ArrowType")
        && st[0].getMethodName().equals("getTypeForField");
  }

  private static Throwable unwrap(Throwable t) {
    Throwable e = t;
    while ((e instanceof java.util.concurrent.ExecutionException
        || e instanceof java.util.concurrent.CompletionException
        || e instanceof dev.quiver.engine.exec.QueryCancelled // stopped by another's failure
        || (e.getClass() == RuntimeException.class && e.getCause() != null)
        // try-with-resources adds a failed close to the body's failure as suppressed; when both
        // are the JVM's one preallocated OutOfMemoryError (thrown once the heap is too full to
        // build another), Java refuses the self-suppression with this, the error as its cause.
        || (e instanceof IllegalArgumentException && e.getCause() instanceof OutOfMemoryError))
        && e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    return e;
  }

  private static String message(Throwable e) {
    String m = e.getMessage();
    return (m == null || m.isBlank()) ? e.getClass().getSimpleName() : m;
  }
}
