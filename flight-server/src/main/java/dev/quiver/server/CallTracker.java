package dev.quiver.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallInfo;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightServerMiddleware;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.RequestContext;
import org.apache.arrow.util.AutoCloseables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-call bookkeeping, installed as Flight middleware.
 *
 * <p>Access log: the producer records what the call touched (target, rows, bytes) and one line
 * goes to the {@code quiver.access} logger when the call ends:
 *
 * <pre>method=DO_GET target=lineitem rows=600572 bytes=92014336 ms=412 status=OK</pre>
 *
 * <p>Deferred release: with zero-copy writes gRPC still references our Arrow buffers after the
 * last {@code putNext()} until Netty has written (or, on cancel, dropped) them. Closing the
 * dataset or allocator that owns them earlier would report a leak or free memory under Netty.
 * Flight calls {@link #onCallCompleted} when the status is merely queued, which is too early;
 * resources handed to {@link #closeAfterCall} are released by the call's {@link CallLifetime}
 * once gRPC reports the stream closed and has released every buffer sent (without it, at
 * {@code onCallCompleted}).
 */
public final class CallTracker implements FlightServerMiddleware {
  public static final Key<CallTracker> KEY = Key.of("quiver.call-tracker");
  private static final Logger LOG = LoggerFactory.getLogger("quiver.access");
  private static final Logger SERVER_LOG = LoggerFactory.getLogger(CallTracker.class);

  private final String method;
  private final String compressionHeader;
  private final long startNanos = System.nanoTime();
  private final LongAdder rows = new LongAdder();
  private final LongAdder bytes = new LongAdder();
  private volatile String target = "-";
  private volatile String compression = "";
  private final List<AutoCloseable> deferred = new ArrayList<>();
  private boolean callClosed;
  /** The access line is written once: by the handler's close, or when the transport ended it. */
  private final AtomicBoolean logged = new AtomicBoolean();

  /**
   * Set by {@link DecodeFailureInterceptor} before the handler runs (Flight's middleware adapter
   * is the outermost interceptor, so the tracker exists first); null without that interceptor.
   */
  private volatile CallLifetime lifetime;

  CallTracker(String method, String compressionHeader) {
    this.method = method;
    this.compressionHeader = compressionHeader;
  }

  void lifetime(CallLifetime lifetime) {
    this.lifetime = lifetime;
  }

  /** Creates one tracker per call. */
  public static final class Factory implements FlightServerMiddleware.Factory<CallTracker> {
    @Override
    public CallTracker onCallStarted(CallInfo info, CallHeaders headers, RequestContext context) {
      return new CallTracker(info.method().name(), headers.get(Requests.COMPRESSION_HEADER));
    }
  }

  /** The compression the client asked for in the request header, or null. */
  public String compressionHeader() {
    return compressionHeader;
  }

  public void target(String target) {
    this.target = target;
  }

  public String method() {
    return method;
  }

  public String target() {
    return target;
  }

  public long rows() {
    return rows.sum();
  }

  public long bytes() {
    return bytes.sum();
  }

  /** Records the body compression the call's output uses. */
  public void compression(String codec) {
    this.compression = " compression=" + codec;
  }

  public void addRows(long n) {
    rows.add(n);
  }

  public void addBytes(long n) {
    bytes.add(n);
  }

  /** Closes {@code resources} in order once gRPC has closed the call. Nulls are skipped. */
  public void closeAfterCall(AutoCloseable... resources) {
    CallLifetime lifetime = this.lifetime;
    if (lifetime != null) {
      lifetime.closeAfterCall(resources);
      return;
    }
    List<AutoCloseable> now = null;
    synchronized (this) {
      for (AutoCloseable r : resources) {
        if (r != null) {
          deferred.add(r);
        }
      }
      if (callClosed) {
        now = new ArrayList<>(deferred);
        deferred.clear();
      }
    }
    release(now);
  }

  private static void release(List<AutoCloseable> resources) {
    if (resources == null || resources.isEmpty()) {
      return;
    }
    try {
      AutoCloseables.close(resources);
    } catch (Exception e) {
      SERVER_LOG.error("failed to release call resources", e);
    }
  }

  @Override
  public void onBeforeSendingHeaders(CallHeaders outgoingHeaders) {}

  @Override
  public void onCallCompleted(CallStatus status) {
    List<AutoCloseable> now;
    synchronized (this) {
      callClosed = true;
      now = new ArrayList<>(deferred);
      deferred.clear();
    }
    release(now);
    if (status.code() == FlightStatusCode.OK) {
      logOnce("OK", null);
    } else {
      logOnce(status.code().name(), status.description());
    }
  }

  /**
   * The transport ended the call before the handler answered: a client cancel or disconnect, a
   * deadline, or a message gRPC refused (over {@code --max-message-size}). The handler's own
   * close is dropped then (see {@link DecodeFailureInterceptor}), so Flight never reports the
   * call complete; this writes its access line instead.
   */
  void endedByTransport(boolean deadlineExpired) {
    if (deadlineExpired) {
      logOnce("DEADLINE_EXCEEDED", "the call's deadline passed");
    } else {
      logOnce("CANCELLED", "ended by the transport: client cancel or disconnect, or a message "
          + "gRPC refused (over --max-message-size)");
    }
  }

  private void logOnce(String status, String description) {
    if (!logged.compareAndSet(false, true)) {
      return;
    }
    long ms = (System.nanoTime() - startNanos) / 1_000_000;
    if (description == null) {
      LOG.info("method={} target={} rows={} bytes={} ms={} status={}{}", method, target,
          rows.sum(), bytes.sum(), ms, status, compression);
    } else {
      LOG.info("method={} target={} rows={} bytes={} ms={} status={} error=\"{}\"", method,
          target, rows.sum(), bytes.sum(), ms, status,
          description.replace('"', '\'').replace('\n', ' '));
    }
  }

  @Override
  public void onCallErrored(Throwable err) {}
}
