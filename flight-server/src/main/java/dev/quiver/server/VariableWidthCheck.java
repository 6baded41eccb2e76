package dev.quiver.server;

import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarCharVector;

/**
 * Offsets and UTF-8 of a variable-width vector received from a client, in one pass over each
 * buffer. Arrow Java's {@code ValidateVectorDataVisitor} does the same checks but boxes every
 * offset, copies every value into a new array and builds an error message for every value
 * before knowing whether it is needed: it took most of the server's time on a DoPut of
 * strings (a third of the C++ server's throughput).
 */
final class VariableWidthCheck {
  private static final long HIGH_BITS = 0x8080808080808080L;

  private VariableWidthCheck() {}

  /** Throws IllegalArgumentException describing the first problem found. */
  static void check(FieldVector v) {
    int n = v.getValueCount();
    if (n == 0) {
      return;
    }
    boolean large = v instanceof BaseLargeVariableWidthVector;
    if (!large && !(v instanceof BaseVariableWidthVector)) {
      throw new IllegalStateException("not a variable-width vector: " + v.getClass());
    }
    int width = large ? 8 : 4;
    if (v.getOffsetBuffer().capacity() < (long) (n + 1) * width) {
      throw new IllegalArgumentException("offsets shorter than " + (n + 1) + " entries");
    }
    long oa = v.getOffsetBufferAddress();
    long dataBytes = v.getDataBuffer().capacity();
    long da = v.getDataBufferAddress();
    long first = offset(oa, 0, large);
    if (first < 0) {
      throw new IllegalArgumentException("offset 0 is negative: " + first);
    }
    // Decreasing offsets are rare: 32-bit steps OR their signs without a branch, and only a
    // stream with one is walked again to name it. (64-bit steps could overflow the subtraction,
    // so large offsets are compared one by one.)
    long descending = 0;
    if (!large) {
      for (int i = 1; i <= n; i++) {
        descending |= (long) MemoryUtil.getInt(oa + 4L * i) - MemoryUtil.getInt(oa + 4L * (i - 1));
      }
    }
    if (descending < 0 || large) {
      long at0 = first;
      for (int i = 1; i <= n; i++) {
        long at = offset(oa, i, large);
        if (at < at0) {
          throw new IllegalArgumentException("offset " + i + " (" + at + ") is below offset "
              + (i - 1) + " (" + at0 + ")");
        }
        at0 = at;
      }
    }
    long prev = offset(oa, n, large);
    if (prev > dataBytes) {
      throw new IllegalArgumentException("last offset " + prev + " is past the " + dataBytes
          + "-byte data buffer");
    }
    if (!(v instanceof VarCharVector || v instanceof LargeVarCharVector)) {
      return;
    }
    if (v.getNullCount() == 0) {
      // All values are valid iff their concatenation is and none starts inside a character.
      long bad = invalidUtf8(da, first, prev);
      if (bad >= 0) {
        throw new IllegalArgumentException("invalid UTF-8 at data byte " + bad);
      }
      if (bad == VALID_ASCII) {
        return; // every byte starts a character
      }
      for (int i = 0; i < n; i++) {
        long at = offset(oa, i, large);
        if (at < prev && (MemoryUtil.getByte(da + at) & 0xC0) == 0x80) {
          throw new IllegalArgumentException("invalid UTF-8: value " + i
              + " starts inside a character");
        }
      }
      return;
    }
    // Null slots may hold any bytes: check the values only.
    for (int i = 0; i < n; i++) {
      if (!v.isNull(i) && invalidUtf8(da, offset(oa, i, large), offset(oa, i + 1, large)) >= 0) {
        throw new IllegalArgumentException("invalid UTF-8 in value " + i);
      }
    }
  }

  private static long offset(long oa, int i, boolean large) {
    return large ? MemoryUtil.getLong(oa + 8L * i) : MemoryUtil.getInt(oa + 4L * i);
  }

  /** {@link #invalidUtf8}'s answer for valid text that is all ASCII. */
  static final long VALID_ASCII = -1;
  /** {@link #invalidUtf8}'s answer for valid text with at least one multi-byte character. */
  static final long VALID = -2;

  /**
   * Position of the first byte of an ill-formed UTF-8 sequence in {@code [from, to)} of the
   * memory at {@code base}, or {@link #VALID_ASCII} / {@link #VALID} (RFC 3629: no overlong
   * forms, surrogates or code points above U+10FFFF). ASCII runs are skipped 32 bytes at a
   * time (one branch per 32 bytes), then eight.
   */
  static long invalidUtf8(long base, long from, long to) {
    long i = from;
    boolean ascii = true;
    while (i < to) {
      if (i + 32 <= to && ((MemoryUtil.getLong(base + i) | MemoryUtil.getLong(base + i + 8)
          | MemoryUtil.getLong(base + i + 16) | MemoryUtil.getLong(base + i + 24))
          & HIGH_BITS) == 0) {
        i += 32;
        continue;
      }
      if (i + 8 <= to && (MemoryUtil.getLong(base + i) & HIGH_BITS) == 0) {
        i += 8;
        continue;
      }
      int b0 = MemoryUtil.getByte(base + i) & 0xFF;
      if (b0 < 0x80) {
        i++;
        continue;
      }
      ascii = false;
      int more;
      int lo = 0x80;
      int hi = 0xBF;
      if (b0 >= 0xC2 && b0 <= 0xDF) {
        more = 1;
      } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        more = 2;
        lo = b0 == 0xE0 ? 0xA0 : 0x80; // no overlong 3-byte forms
        hi = b0 == 0xED ? 0x9F : 0xBF; // no surrogates
      } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        more = 3;
        lo = b0 == 0xF0 ? 0x90 : 0x80; // no overlong 4-byte forms
        hi = b0 == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
      } else {
        return i;
      }
      if (i + more >= to) {
        return i;
      }
      int b1 = MemoryUtil.getByte(base + i + 1) & 0xFF;
      if (b1 < lo || b1 > hi) {
        return i;
      }
      for (int k = 2; k <= more; k++) {
        if ((MemoryUtil.getByte(base + i + k) & 0xC0) != 0x80) {
          return i;
        }
      }
      i += more + 1;
    }
    return ascii ? VALID_ASCII : VALID;
  }
}
