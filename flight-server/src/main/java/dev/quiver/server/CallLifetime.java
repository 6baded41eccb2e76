package dev.quiver.server;

import io.grpc.Context;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.util.AutoCloseables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resources that must outlive a call's transport stream.
 *
 * <p>With zero-copy writes gRPC references our Arrow buffers until Netty has written (or, on
 * cancel, dropped) them, which can be after the producer returned and after Flight's middleware
 * saw the status ({@code onCallCompleted} runs when the status is <em>queued</em>). gRPC's own
 * {@code ServerCall.Listener.onComplete()} / {@code onCancel()} come only once the stream is
 * closed: on completion the trailers were written after every data frame; on cancel the
 * stream's queued frames are dropped. Resources handed to {@link #closeAfterCall} are closed at
 * that point, or at once when it has passed, so either side may finish first.
 */
final class CallLifetime {
  static final Context.Key<CallLifetime> KEY = Context.key("quiver.call-lifetime");
  private static final Logger LOG = LoggerFactory.getLogger(CallLifetime.class);

  private final List<AutoCloseable> deferred = new ArrayList<>();
  private boolean streamClosed;

  /** Closes {@code resources} in order once the call's stream is closed. Nulls are skipped. */
  void closeAfterCall(AutoCloseable... resources) {
    List<AutoCloseable> now = null;
    synchronized (this) {
      for (AutoCloseable r : resources) {
        if (r != null) {
          deferred.add(r);
        }
      }
      if (streamClosed) {
        now = takeDeferred();
      }
    }
    release(now);
  }

  /** Called by the interceptor from gRPC's onComplete/onCancel. */
  void streamClosed() {
    List<AutoCloseable> now;
    synchronized (this) {
      streamClosed = true;
      now = takeDeferred();
    }
    release(now);
  }

  private List<AutoCloseable> takeDeferred() {
    List<AutoCloseable> now = new ArrayList<>(deferred);
    deferred.clear();
    return now;
  }

  private static void release(List<AutoCloseable> resources) {
    if (resources == null || resources.isEmpty()) {
      return;
    }
    try {
      AutoCloseables.close(resources);
    } catch (Exception e) {
      LOG.error("failed to release call resources", e);
    }
  }
}
