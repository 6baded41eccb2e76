package dev.quiver.server;

import io.grpc.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.util.AutoCloseables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resources that must outlive a call's transport stream and every buffer gRPC holds for it.
 *
 * <p>With zero-copy writes gRPC references our Arrow buffers until Netty has written (or, on
 * cancel, dropped) them, which can be after the producer returned and after Flight's middleware
 * saw the status ({@code onCallCompleted} runs when the status is <em>queued</em>). gRPC's own
 * {@code ServerCall.Listener.onComplete()} comes once the trailers were written after every data
 * frame, but {@code onCancel()} is dispatched while Netty may still hold queued frames: it drops
 * them on its event loop, possibly after the cancel was handled. So the buffers of every sent
 * batch are counted ({@link #hold}), and resources handed to {@link #closeAfterCall} are closed
 * once the stream is closed and gRPC has let go of all of them, or at once when both have
 * happened, so either side may finish first.
 */
final class CallLifetime {
  static final Context.Key<CallLifetime> KEY = Context.key("quiver.call-lifetime");
  private static final Logger LOG = LoggerFactory.getLogger(CallLifetime.class);

  /**
   * Runs the release when gRPC's last buffer goes: that happens on a Netty event loop, which
   * must not wait for a query's workers to stop.
   */
  private final Executor releaser;
  private final List<AutoCloseable> deferred = new ArrayList<>();
  private boolean streamClosed;
  /** Outbound buffers gRPC still holds. */
  private long held;

  CallLifetime(Executor releaser) {
    this.releaser = releaser;
  }

  /** Closes {@code resources} in order once the call is over. Nulls are skipped. */
  void closeAfterCall(AutoCloseable... resources) {
    List<AutoCloseable> now = null;
    synchronized (this) {
      for (AutoCloseable r : resources) {
        if (r != null) {
          deferred.add(r);
        }
      }
      if (over()) {
        now = takeDeferred();
      }
    }
    release(now);
  }

  /** Called by the interceptor from gRPC's onComplete/onCancel. */
  void streamClosed() {
    List<AutoCloseable> now = null;
    synchronized (this) {
      streamClosed = true;
      if (over()) {
        now = takeDeferred();
      }
    }
    release(now);
  }

  /**
   * A view of {@code buffer} to hand to gRPC instead of it; takes over one reference to
   * {@code buffer}, which is released when gRPC and the caller have released the view.
   */
  ArrowBuf hold(ArrowBuf buffer) {
    synchronized (this) {
      held++;
    }
    return OutboundBuf.view(buffer, this::letGo);
  }

  private void letGo() {
    List<AutoCloseable> now = null;
    synchronized (this) {
      held--;
      if (over()) {
        now = takeDeferred();
      }
    }
    if (now == null || now.isEmpty()) {
      return;
    }
    List<AutoCloseable> resources = now;
    try {
      releaser.execute(() -> release(resources));
    } catch (RejectedExecutionException e) {
      // The server is stopping: its pool is gone, nothing else will release them.
      release(resources);
    }
  }

  private boolean over() {
    return streamClosed && held == 0;
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
