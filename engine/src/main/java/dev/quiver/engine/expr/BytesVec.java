package dev.quiver.engine.expr;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** Strings and binaries: row i is {@code data[offsets[i] .. offsets[i+1])}. */
public final class BytesVec extends Vec implements ByteRows {
  public final byte[] data;
  public final int[] offsets;

  public BytesVec(ArrowType type, byte[] data, int[] offsets, int n, boolean[] nulls) {
    super(type, n, nulls);
    this.data = data;
    this.offsets = offsets;
  }

  public int length(int i) {
    return offsets[i + 1] - offsets[i];
  }

  @Override
  public byte[] bytes(int i) {
    return Arrays.copyOfRange(data, offsets[i], offsets[i + 1]);
  }

  @Override
  public int compareUnsigned(int i, byte[] b) {
    return Arrays.compareUnsigned(data, offsets[i], offsets[i + 1], b, 0, b.length);
  }

  public String string(int i) {
    return new String(data, offsets[i], offsets[i + 1] - offsets[i], StandardCharsets.UTF_8);
  }

  @Override
  public Object object(int i) {
    if (isNull(i)) {
      return null;
    }
    return type instanceof ArrowType.Binary || type instanceof ArrowType.LargeBinary
        || type instanceof ArrowType.BinaryView ? bytes(i) : string(i);
  }

  /** Appends rows one at a time, growing as needed. */
  public static final class Builder {
    private final ArrowType type;
    private byte[] data;
    private final int[] offsets;
    private boolean[] nulls;
    private int count;

    public Builder(ArrowType type, int n, int bytesHint) {
      this.type = type;
      this.data = new byte[Math.max(16, bytesHint)];
      this.offsets = new int[n + 1];
    }

    private void ensure(int more) {
      int need = offsets[count] + more;
      if (need > data.length) {
        data = Arrays.copyOf(data, Math.max(need, data.length * 2));
      }
    }

    public void append(byte[] src, int from, int len) {
      ensure(len);
      System.arraycopy(src, from, data, offsets[count], len);
      offsets[count + 1] = offsets[count] + len;
      count++;
    }

    public void append(byte[] src) {
      append(src, 0, src.length);
    }

    public void appendNull() {
      if (nulls == null) {
        nulls = new boolean[offsets.length - 1];
      }
      nulls[count] = true;
      offsets[count + 1] = offsets[count];
      count++;
    }

    public BytesVec build() {
      return new BytesVec(type, data, offsets, count, nulls);
    }
  }
}
