package dev.quiver.server;

import java.util.concurrent.TimeUnit;

/**
 * Waits out a full Java heap on the paths that end a call: reporting its status and releasing
 * its resources.
 *
 * <p>Group, join and sort tables live on the Java heap. When several queries fill it at once,
 * the OutOfMemoryError that fails one query can strike again while its stream thread builds the
 * error status, or while it hands the call's allocators over for release, because the other
 * queries still hold their tables. The thread then died with the call unanswered (the client
 * waited forever) and its memory unreleased. Those queries fail or finish within moments and
 * their tables become garbage, so these paths retry after a short pause instead of giving up.
 * No lambdas on the way in: capturing one allocates, and the point is to need as little heap as
 * possible before the first attempt.
 */
final class FullHeap {
  /** How long a call's ending may wait for heap before the error is let through. */
  static final long PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(30);

  private FullHeap() {}

  /**
   * Sleeps before the next attempt after {@code error}, or rethrows it once {@code since}
   * (a {@link System#nanoTime} reading) is {@link #PATIENCE_NANOS} ago.
   *
   * @return the pause for the attempt after that
   */
  static long pause(OutOfMemoryError error, long since, long pauseMillis) {
    if (System.nanoTime() - since > PATIENCE_NANOS) {
      throw error;
    }
    try {
      Thread.sleep(pauseMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw error;
    }
    return Math.min(pauseMillis * 2, 250);
  }
}
