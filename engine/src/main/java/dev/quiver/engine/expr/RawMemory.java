package dev.quiver.engine.expr;

import java.lang.reflect.Field;
import sun.misc.Unsafe;

/**
 * Bulk copies from Arrow's off-heap buffers straight into Java arrays (one memcpy per chunk of a
 * contiguous 8-byte column, instead of a load and store per value). Arrow's MemoryUtil only
 * offers byte[] targets, so this uses the same sun.misc.Unsafe that Arrow itself relies on.
 */
final class RawMemory {
  private static final Unsafe UNSAFE;
  private static final long LONG_BASE;
  private static final long DOUBLE_BASE;

  static {
    try {
      Field f = Unsafe.class.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      UNSAFE = (Unsafe) f.get(null);
      LONG_BASE = UNSAFE.arrayBaseOffset(long[].class);
      DOUBLE_BASE = UNSAFE.arrayBaseOffset(double[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private RawMemory() {}

  static void copyToLongs(long address, long[] dst, int count) {
    UNSAFE.copyMemory(null, address, dst, LONG_BASE, 8L * count);
  }

  static void copyFromLongs(long[] src, long address, int count) {
    UNSAFE.copyMemory(src, LONG_BASE, null, address, 8L * count);
  }

  static void copyFromDoubles(double[] src, long address, int count) {
    UNSAFE.copyMemory(src, DOUBLE_BASE, null, address, 8L * count);
  }

  static void copyToDoubles(long address, double[] dst, int count) {
    UNSAFE.copyMemory(null, address, dst, DOUBLE_BASE, 8L * count);
  }
}
