package dev.quiver.engine.expr;

import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthViewVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.ipc.message.ArrowFieldNode;
import org.apache.arrow.vector.types.Types.MinorType;
import org.apache.arrow.vector.types.pojo.Field;

/** Materializes a heap {@link Vec} as a new Arrow vector of the field's type. */
public final class VecWriter {
  private VecWriter() {}

  public static FieldVector write(Vec vec, Field field, BufferAllocator allocator) {
    FieldVector out = field.createVector(allocator);
    try {
      fill(vec, out);
      return out;
    } catch (RuntimeException | Error e) {
      out.close();
      throw e;
    }
  }

  private static void fill(Vec vec, FieldVector out) {
    int n = vec.n;
    MinorType mt = out.getMinorType();
    if (mt == MinorType.NULL) {
      out.setValueCount(n);
      return;
    }
    switch (mt) {
      case VARCHAR, VARBINARY -> {
        BytesVec b = (BytesVec) vec;
        BaseVariableWidthVector v = (BaseVariableWidthVector) out;
        v.allocateNew(Math.max(1, b.offsets[n] - b.offsets[0]), n);
        long oa = v.getOffsetBufferAddress();
        int base = b.offsets[0];
        for (int i = 0; i <= n; i++) {
          MemoryUtil.putInt(oa + 4L * i, b.offsets[i] - base);
        }
        MemoryUtil.copyToMemory(b.data, base, v.getDataBufferAddress(), b.offsets[n] - base);
        setValidity(out, vec.nulls, n);
        v.setLastSet(n - 1);
        v.setValueCount(n);
        return;
      }
      case LARGEVARCHAR, LARGEVARBINARY -> {
        BytesVec b = (BytesVec) vec;
        BaseLargeVariableWidthVector v = (BaseLargeVariableWidthVector) out;
        v.allocateNew(Math.max(1, b.offsets[n] - b.offsets[0]), n);
        long oa = v.getOffsetBufferAddress();
        int base = b.offsets[0];
        for (int i = 0; i <= n; i++) {
          MemoryUtil.putLong(oa + 8L * i, b.offsets[i] - base);
        }
        MemoryUtil.copyToMemory(b.data, base, v.getDataBufferAddress(), b.offsets[n] - base);
        setValidity(out, vec.nulls, n);
        v.setLastSet(n - 1);
        v.setValueCount(n);
        return;
      }
      case VIEWVARCHAR, VIEWVARBINARY -> {
        BytesVec b = (BytesVec) vec;
        BaseVariableWidthViewVector v = (BaseVariableWidthViewVector) out;
        // The size is the view buffer's (16 bytes a row); data buffers come as strings need
        // them. Sized by the strings' bytes, a chunk of empty strings got a view buffer too
        // small for its views, which Arrow's setSafe does not grow for an empty value.
        v.allocateNew(16L * Math.max(1, n), n);
        for (int i = 0; i < n; i++) {
          if (!b.isNull(i)) {
            v.setSafe(i, b.data, b.offsets[i], b.length(i));
          } else {
            v.setNull(i);
          }
        }
        v.setValueCount(n);
        return;
      }
      default -> { }
    }
    allocateFixedWidth((BaseFixedWidthVector) out, n);
    long a = ((BaseFixedWidthVector) out).getDataBufferAddress();
    switch (mt) {
      case TINYINT, UINT1 -> {
        long[] x = ((LongVec) vec).values;
        for (int i = 0; i < n; i++) {
          MemoryUtil.putByte(a + i, (byte) x[i]);
        }
      }
      case SMALLINT, UINT2 -> {
        long[] x = ((LongVec) vec).values;
        for (int i = 0; i < n; i++) {
          MemoryUtil.putShort(a + 2L * i, (short) x[i]);
        }
      }
      case INT, UINT4, DATEDAY -> {
        long[] x = ((LongVec) vec).values;
        for (int i = 0; i < n; i++) {
          MemoryUtil.putInt(a + 4L * i, (int) x[i]);
        }
      }
      case BIGINT, UINT8, DATEMILLI, TIMESTAMPSEC, TIMESTAMPMILLI, TIMESTAMPMICRO, TIMESTAMPNANO,
          TIMESTAMPSECTZ, TIMESTAMPMILLITZ, TIMESTAMPMICROTZ, TIMESTAMPNANOTZ -> {
        RawMemory.copyFromLongs(((LongVec) vec).values, a, n);
      }
      case DECIMAL -> {
        long[] x = ((LongVec) vec).values;
        for (int i = 0; i < n; i++) {
          MemoryUtil.putLong(a + 16L * i, x[i]);
          MemoryUtil.putLong(a + 16L * i + 8, x[i] >> 63);
        }
      }
      case FLOAT4 -> {
        double[] x = ((DoubleVec) vec).values;
        for (int i = 0; i < n; i++) {
          MemoryUtil.putInt(a + 4L * i, Float.floatToRawIntBits((float) x[i]));
        }
      }
      case FLOAT8 -> {
        RawMemory.copyFromDoubles(((DoubleVec) vec).values, a, n);
      }
      case BIT -> {
        boolean[] x = ((BoolVec) vec).values;
        MemoryUtil.setMemory(a, (n + 7) / 8, (byte) 0);
        for (int i = 0; i < n; i++) {
          if (x[i]) {
            long p = a + (i >>> 3);
            MemoryUtil.putByte(p, (byte) (MemoryUtil.getByte(p) | (1 << (i & 7))));
          }
        }
      }
      default -> throw new IllegalArgumentException("cannot write computed values as " + out.getField());
    }
    setValidity(out, vec.nulls, n);
    out.setValueCount(n);
  }

  /**
   * Gives {@code v} room for {@code n} values with a zeroed validity bitmap and an uninitialized
   * data buffer, for callers that write every value. Arrow's {@code allocateNew} zeroes the data
   * too: for a float64 kernel that is a third of the memory traffic (and the pages it first
   * touches), spent on bytes overwritten right after. Bit-packed vectors get both zeroed.
   */
  public static void allocateFixedWidth(BaseFixedWidthVector v, int n) {
    if (v instanceof org.apache.arrow.vector.BitVector) {
      v.allocateNew(n);
      return;
    }
    BufferAllocator allocator = v.getAllocator();
    long validityBytes = (n + 7L) / 8;
    try (ArrowBuf validity = allocator.buffer(Math.max(1, validityBytes));
         ArrowBuf data = allocator.buffer(Math.max(1, (long) n * v.getTypeWidth()))) {
      validity.setZero(0, validity.capacity());
      // A non-empty validity buffer is retained as given (not rebuilt from the null count).
      v.loadFieldBuffers(new ArrowFieldNode(n, 0), List.of(validity, data));
    }
  }

  /** Writes the validity bitmap a byte at a time. */
  static void setValidity(FieldVector out, boolean[] nulls, int n) {
    long va = out.getValidityBufferAddress();
    int full = n >>> 3;
    if (nulls == null) {
      MemoryUtil.setMemory(va, full, (byte) 0xFF);
      if ((n & 7) != 0) {
        MemoryUtil.putByte(va + full, (byte) ((1 << (n & 7)) - 1));
      }
      return;
    }
    for (int byteIdx = 0; byteIdx * 8 < n; byteIdx++) {
      int bits = 0;
      int base = byteIdx * 8;
      int lim = Math.min(8, n - base);
      for (int j = 0; j < lim; j++) {
        if (!nulls[base + j]) {
          bits |= 1 << j;
        }
      }
      MemoryUtil.putByte(va + byteIdx, (byte) bits);
    }
  }

  /** Null count helper: number of true entries. */
  public static int countNulls(boolean[] nulls, int n) {
    if (nulls == null) {
      return 0;
    }
    int c = 0;
    for (int i = 0; i < n; i++) {
      c += nulls[i] ? 1 : 0;
    }
    return c;
  }
}
