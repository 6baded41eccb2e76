package dev.quiver.engine.expr;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-worker recycling of the primitive arrays kernels produce. Allocating fresh arrays for every
 * chunk made the JVM stream hundreds of megabytes of new memory per query through the caches (and
 * through the garbage collector), which dominated the hot loops and kept two workers from scaling.
 *
 * <p>A pipeline worker marks the scratch before pulling a morsel and releases it once its sink has
 * consumed the result; everything handed out in between returns to the free lists, so a morsel's
 * chunks reuse the previous morsel's arrays while they are still in cache. Only sinks that copy
 * what they keep may run under a mark (aggregates, collectors that materialize to Arrow). Outside a
 * mark (streams feeding another thread) arrays are plain allocations.
 *
 * <p>Arrays from here are NOT zeroed and may be longer than requested: callers write every element
 * they read and use the chunk length, never {@code array.length}.
 */
public final class Scratch {
  // A thread-local because kernels are called through a one-method interface with no context
  // argument; the state is per worker thread and only active between mark and release.
  private static final ThreadLocal<Scratch> CURRENT = ThreadLocal.withInitial(Scratch::new);

  private final Map<Long, ArrayDeque<Object>> free = new HashMap<>();
  private final List<Object> handedOut = new ArrayList<>();
  private int depth;

  private Scratch() {}

  /** Starts a recycling scope on this thread; returns the token for {@link #release(int)}. */
  public static int mark() {
    Scratch s = CURRENT.get();
    s.depth++;
    return s.handedOut.size();
  }

  /** Returns every array handed out since the matching mark to the free lists. */
  public static void release(int mark) {
    Scratch s = CURRENT.get();
    for (int i = s.handedOut.size() - 1; i >= mark; i--) {
      Object a = s.handedOut.remove(i);
      s.free.computeIfAbsent(key(a), k -> new ArrayDeque<>()).push(a);
    }
    s.depth--;
  }

  /**
   * Suspends recycling on this thread (for state that outlives the current morsel, such as a
   * join's hash table built lazily from inside a pipeline); returns the token for {@link #resume}.
   */
  public static int pause() {
    Scratch s = CURRENT.get();
    int d = s.depth;
    s.depth = 0;
    return d;
  }

  public static void resume(int token) {
    CURRENT.get().depth = token;
  }

  // Array kinds, the low bits of a free-list key (the high bits are the array's length).
  private static final int LONGS = 1;
  private static final int DOUBLES = 2;
  private static final int INTS = 3;
  private static final int BOOLS = 4;
  private static final int BYTES = 5;

  private static long key(Object a) {
    if (a instanceof long[] l) {
      return ((long) l.length << 3) | LONGS;
    }
    if (a instanceof double[] d) {
      return ((long) d.length << 3) | DOUBLES;
    }
    if (a instanceof int[] i) {
      return ((long) i.length << 3) | INTS;
    }
    if (a instanceof byte[] b) {
      return ((long) b.length << 3) | BYTES;
    }
    return ((long) ((boolean[]) a).length << 3) | BOOLS;
  }

  private static int bucket(int n) {
    return n <= 64 ? 64 : Integer.highestOneBit(n - 1) << 1;
  }

  private Object take(long key) {
    ArrayDeque<Object> q = free.get(key);
    return q == null ? null : q.poll();
  }

  /**
   * An array of at least {@code n} elements of the given kind: recycled under a mark, a plain
   * allocation of exactly {@code n} outside one (and for small arrays).
   */
  private static Object array(int n, int kind, java.util.function.IntFunction<Object> allocate) {
    Scratch s = CURRENT.get();
    if (s.depth == 0 || n < 256) {
      return allocate.apply(n);
    }
    int cap = bucket(n);
    Object a = s.take(((long) cap << 3) | kind);
    if (a == null) {
      a = allocate.apply(cap);
    }
    s.handedOut.add(a);
    return a;
  }

  public static long[] longs(int n) {
    return (long[]) array(n, LONGS, long[]::new);
  }

  public static double[] doubles(int n) {
    return (double[]) array(n, DOUBLES, double[]::new);
  }

  public static int[] ints(int n) {
    return (int[]) array(n, INTS, int[]::new);
  }

  public static byte[] bytes(int n) {
    return (byte[]) array(n, BYTES, byte[]::new);
  }

  public static boolean[] bools(int n) {
    return (boolean[]) array(n, BOOLS, boolean[]::new);
  }
}
