package dev.quiver.engine.exec;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.util.TransferPair;

/**
 * A join's build side kept as the dense batches it arrived in, addressed by one row number
 * across them: row g is row {@code g - start[p]} of part p. Gathering from the parts directly
 * spares concatenating them first, a copy of the whole build side made by one thread while the
 * others wait (TPC-H Q10's customer table arrives as four dataset batches: 150K rows with four
 * string columns).
 */
public final class BuildParts implements AutoCloseable {
  private final List<Batch> parts;
  private final int[] start;
  /** Global row to part. */
  private final int[] partOf;

  /** Whether {@link #close()} closes the parts. */
  private final boolean owns;

  /** Takes ownership of the batches, which must be dense (no selection) and dictionary-free. */
  public BuildParts(List<Batch> batches) {
    this(batches, true);
  }

  /** A view of one batch that stays its owner's (closing the view leaves it open). */
  public static BuildParts view(Batch batch) {
    return new BuildParts(List.of(batch), false);
  }

  private BuildParts(List<Batch> batches, boolean owns) {
    this.owns = owns;
    this.parts = new ArrayList<>(batches);
    this.start = new int[parts.size() + 1];
    for (int p = 0; p < parts.size(); p++) {
      Batch b = parts.get(p);
      if (b.selection() != null) {
        throw new IllegalArgumentException("build part " + p + " has a selection");
      }
      start[p + 1] = start[p] + b.count();
    }
    this.partOf = new int[start[parts.size()]];
    for (int p = 0; p < parts.size(); p++) {
      java.util.Arrays.fill(partOf, start[p], start[p + 1], p);
    }
  }

  /** Whether every column of these batches can be gathered across parts (else concatenate). */
  public static boolean supports(List<Batch> batches) {
    for (Batch b : batches) {
      if (b.selection() != null) {
        return false;
      }
      for (int c = 0; c < b.columns().size(); c++) {
        if (b.dictionary(c) != null) {
          return false;
        }
      }
    }
    return true;
  }

  public int count() {
    return start[parts.size()];
  }

  public List<Batch> parts() {
    return parts;
  }

  /** First global row of part p. */
  public int start(int p) {
    return start[p];
  }

  /** New vector holding column {@code col} at global rows {@code rows[i]} (null where -1). */
  public FieldVector take(int col, int[] rows, int n, Field field, BufferAllocator allocator) {
    int np = parts.size();
    FieldVector[] src = new FieldVector[np];
    long[] base = new long[np];
    long[] validity = new long[np];
    for (int p = 0; p < np; p++) {
      Batch b = parts.get(p);
      src[p] = b.column(col);
      // Part p's row r lives at vector row offset + r - start[p]: fold both into one shift.
      base[p] = b.offset() - start[p];
      validity[p] = b.mayHaveNulls(col) ? src[p].getValidityBufferAddress() : 0;
    }
    FieldVector dst = field.createVector(allocator);
    try {
      if (src[0] instanceof BaseFixedWidthVector && !(src[0] instanceof BitVector)) {
        fixedWidth(src, base, rows, n, (BaseFixedWidthVector) dst);
      } else if (src[0] instanceof BaseVariableWidthVector) {
        variableWidth(src, base, rows, n, (BaseVariableWidthVector) dst);
      } else {
        // Arrow's copy sets validity itself.
        general(src, base, rows, n, dst);
        dst.setValueCount(n);
        return dst;
      }
      markValid(dst, validity, base, rows, null, n);
      dst.setValueCount(n);
      return dst;
    } catch (RuntimeException | Error e) {
      dst.close();
      throw e;
    }
  }

  private void fixedWidth(FieldVector[] src, long[] base, int[] rows, int n, BaseFixedWidthVector d) {
    int w = ((BaseFixedWidthVector) src[0]).getTypeWidth();
    dev.quiver.engine.expr.VecWriter.allocateFixedWidth(d, Math.max(1, n));
    long[] addr = new long[src.length];
    for (int p = 0; p < src.length; p++) {
      addr[p] = src[p].getDataBufferAddress() + w * base[p];
    }
    long da = d.getDataBufferAddress();
    switch (w) {
      case 4 -> {
        for (int i = 0; i < n; i++) {
          int g = rows[i];
          MemoryUtil.putInt(da + 4L * i, g < 0 ? 0 : MemoryUtil.getInt(addr[partOf[g]] + 4L * g));
        }
      }
      case 8 -> {
        for (int i = 0; i < n; i++) {
          int g = rows[i];
          MemoryUtil.putLong(da + 8L * i, g < 0 ? 0 : MemoryUtil.getLong(addr[partOf[g]] + 8L * g));
        }
      }
      case 16 -> {
        for (int i = 0; i < n; i++) {
          int g = rows[i];
          long from = g < 0 ? 0 : addr[partOf[g]] + 16L * g;
          MemoryUtil.putLong(da + 16L * i, g < 0 ? 0 : MemoryUtil.getLong(from));
          MemoryUtil.putLong(da + 16L * i + 8, g < 0 ? 0 : MemoryUtil.getLong(from + 8));
        }
      }
      default -> {
        for (int i = 0; i < n; i++) {
          int g = rows[i];
          if (g < 0) {
            MemoryUtil.setMemory(da + (long) w * i, w, (byte) 0);
          } else {
            MemoryUtil.copyMemory(addr[partOf[g]] + (long) w * g, da + (long) w * i, w);
          }
        }
      }
    }
  }

  private void variableWidth(FieldVector[] src, long[] base, int[] rows, int n, BaseVariableWidthVector d) {
    long[] offsets = new long[src.length];
    long[] data = new long[src.length];
    for (int p = 0; p < src.length; p++) {
      offsets[p] = ((BaseVariableWidthVector) src[p]).getOffsetBufferAddress() + 4 * base[p];
      data[p] = src[p].getDataBufferAddress();
    }
    copyVariableWidth(offsets, data, rows, null, n, n, d);
  }

  /**
   * Writes the values at global rows {@code rows[k]} to rows {@code positions[k]} (ascending; k
   * itself when null) of {@code d}, allocated here for {@code span} rows; rows in between, and
   * those of -1, get no bytes.
   */
  private void copyVariableWidth(long[] offsets, long[] data, int[] rows, int[] positions, int m,
      int span, BaseVariableWidthVector d) {
    d.allocateNew(Math.max(1, valueBytes(offsets, rows, m)), Math.max(1, span));
    long doa = d.getOffsetBufferAddress();
    long dda = d.getDataBufferAddress();
    int end = 0;
    int filled = 0; // offsets[0 .. filled] are written
    MemoryUtil.putInt(doa, 0);
    for (int k = 0; k < m; k++) {
      int pos = positions == null ? k : positions[k];
      for (int q = filled + 1; q <= pos; q++) {
        MemoryUtil.putInt(doa + 4L * q, end);
      }
      int g = rows[k];
      if (g >= 0) {
        int p = partOf[g];
        long oa = offsets[p] + 4L * g;
        int st = MemoryUtil.getInt(oa);
        int len = MemoryUtil.getInt(oa + 4) - st;
        MemoryUtil.copyMemory(data[p] + st, dda + end, len);
        end += len;
      }
      MemoryUtil.putInt(doa + 4L * (pos + 1), end);
      filled = pos + 1;
    }
    for (int q = filled + 1; q <= span; q++) {
      MemoryUtil.putInt(doa + 4L * q, end);
    }
    d.setLastSet(span - 1);
  }

  /** Bits, nested and view layouts: Arrow's own per-value copy from the right part. */
  private void general(FieldVector[] src, long[] base, int[] rows, int n, FieldVector dst) {
    dst.setInitialCapacity(Math.max(1, n));
    dst.allocateNew();
    TransferPair[] tps = new TransferPair[src.length];
    for (int i = 0; i < n; i++) {
      int g = rows[i];
      if (g < 0) {
        while (dst.getValueCapacity() <= i) {
          dst.reAlloc();
        }
        continue;
      }
      int p = partOf[g];
      if (tps[p] == null) {
        tps[p] = src[p].makeTransferPair(dst);
      }
      // Arrow copies nested values through the source's one cached reader: one copy at a time
      // per source vector (see Take).
      synchronized (src[p]) {
        tps[p].copyValueSafe((int) (base[p] + g), i);
      }
    }
  }

  /**
   * Column {@code col} at build rows {@code rows[k]} written to row {@code positions[k]}
   * (ascending) of a new vector of {@code span} rows; the other rows are null and are not meant
   * to be read (a selection skips them). Null for layouts other than fixed and variable width.
   */
  public FieldVector scatter(int col, int[] rows, int[] positions, int m, int span, Field field,
      BufferAllocator allocator) {
    int np = parts.size();
    FieldVector first = parts.get(0).column(col);
    boolean fixed = first instanceof BaseFixedWidthVector && !(first instanceof BitVector);
    if (!fixed && !(first instanceof BaseVariableWidthVector)) {
      return null;
    }
    long[] base = new long[np];
    long[] validity = new long[np];
    long[] data = new long[np];
    long[] offsets = new long[np];
    int w = fixed ? ((BaseFixedWidthVector) first).getTypeWidth() : 0;
    for (int p = 0; p < np; p++) {
      Batch b = parts.get(p);
      FieldVector v = b.column(col);
      base[p] = b.offset() - start[p];
      validity[p] = b.mayHaveNulls(col) ? v.getValidityBufferAddress() : 0;
      data[p] = v.getDataBufferAddress() + (fixed ? w * base[p] : 0);
      offsets[p] = fixed ? 0 : ((BaseVariableWidthVector) v).getOffsetBufferAddress() + 4 * base[p];
    }
    FieldVector dst = field.createVector(allocator);
    try {
      if (fixed) {
        BaseFixedWidthVector d = (BaseFixedWidthVector) dst;
        dev.quiver.engine.expr.VecWriter.allocateFixedWidth(d, Math.max(1, span));
        long da = d.getDataBufferAddress();
        for (int k = 0; k < m; k++) {
          int g = rows[k];
          if (g < 0) {
            continue;
          }
          long from = data[partOf[g]] + (long) w * g;
          long to = da + (long) w * positions[k];
          switch (w) {
            case 4 -> MemoryUtil.putInt(to, MemoryUtil.getInt(from));
            case 8 -> MemoryUtil.putLong(to, MemoryUtil.getLong(from));
            case 16 -> {
              MemoryUtil.putLong(to, MemoryUtil.getLong(from));
              MemoryUtil.putLong(to + 8, MemoryUtil.getLong(from + 8));
            }
            default -> MemoryUtil.copyMemory(from, to, w);
          }
        }
      } else {
        copyVariableWidth(offsets, data, rows, positions, m, span, (BaseVariableWidthVector) dst);
      }
      markValid(dst, validity, base, rows, positions, m);
      dst.setValueCount(span);
      return dst;
    } catch (RuntimeException | Error e) {
      dst.close();
      throw e;
    }
  }

  /** Bytes of the variable-width values at global rows {@code rows[0..n)} (-1 counts none). */
  private long valueBytes(long[] offsets, int[] rows, int n) {
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      int g = rows[i];
      if (g >= 0) {
        long oa = offsets[partOf[g]] + 4L * g;
        bytes += MemoryUtil.getInt(oa + 4) - MemoryUtil.getInt(oa);
      }
    }
    return bytes;
  }

  /**
   * Sets the validity bit of output row {@code positions[k]} (or k when positions is null) where
   * global row {@code rows[k]} exists and is valid in its part ({@code validity[p]} 0: no nulls).
   */
  private void markValid(FieldVector dst, long[] validity, long[] base, int[] rows, int[] positions,
      int n) {
    long dva = dst.getValidityBufferAddress();
    for (int k = 0; k < n; k++) {
      int g = rows[k];
      if (g < 0) {
        continue;
      }
      int p = partOf[g];
      long r = base[p] + g;
      if (validity[p] == 0 || (MemoryUtil.getByte(validity[p] + (r >>> 3)) & (1 << (r & 7))) != 0) {
        int i = positions == null ? k : positions[k];
        long at = dva + (i >>> 3);
        MemoryUtil.putByte(at, (byte) (MemoryUtil.getByte(at) | (1 << (i & 7))));
      }
    }
  }

  @Override
  public void close() {
    if (owns) {
      for (Batch b : parts) {
        b.close();
      }
    }
    parts.clear();
  }
}
