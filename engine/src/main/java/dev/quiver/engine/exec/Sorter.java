package dev.quiver.engine.exec;

import dev.quiver.engine.expr.BoolVec;
import dev.quiver.engine.expr.BytesVec;
import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import java.util.Arrays;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Stable multi-key sort of row indexes: a merge sort over an int permutation whose comparator
 * reads the key columns' primitive arrays directly.
 */
public final class Sorter {
  private final Vec[] keys;
  private final boolean[] desc;
  private final boolean[] nullsFirst;
  private final int[] shape;

  public Sorter(Vec[] keys, boolean[] desc, boolean[] nullsFirst) {
    this.keys = keys;
    this.desc = desc;
    this.nullsFirst = nullsFirst;
    this.shape = new int[keys.length];
    for (int k = 0; k < keys.length; k++) {
      Vec v = keys[k];
      boolean u64 = v.type instanceof ArrowType.Int i && !i.getIsSigned() && i.getBitWidth() == 64;
      shape[k] = v instanceof LongVec ? (u64 ? 1 : 0) : v instanceof DoubleVec ? 2
          : v instanceof BoolVec ? 3 : 4;
    }
  }

  public int compare(int a, int b) {
    for (int k = 0; k < keys.length; k++) {
      Vec v = keys[k];
      boolean na = v.isNull(a);
      boolean nb = v.isNull(b);
      if (na || nb) {
        if (na && nb) {
          continue;
        }
        // nulls placement is independent of asc/desc
        return na == nullsFirst[k] ? -1 : 1;
      }
      int c = switch (shape[k]) {
        case 0 -> Long.compare(((LongVec) v).values[a], ((LongVec) v).values[b]);
        case 1 -> Long.compareUnsigned(((LongVec) v).values[a], ((LongVec) v).values[b]);
        case 2 -> {
          double x = ((DoubleVec) v).values[a];
          double y = ((DoubleVec) v).values[b];
          yield x == y ? 0 : Double.compare(x, y);
        }
        case 3 -> Boolean.compare(((BoolVec) v).values[a], ((BoolVec) v).values[b]);
        default -> {
          BytesVec s = (BytesVec) v;
          yield Arrays.compareUnsigned(s.data, s.offsets[a], s.offsets[a + 1], s.data,
              s.offsets[b], s.offsets[b + 1]);
        }
      };
      if (c != 0) {
        return desc[k] ? -c : c;
      }
    }
    return 0;
  }

  /** Indexes 0..n-1 sorted stably; only the first {@code limit} are guaranteed in order. */
  public int[] sort(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    int[] tmp = new int[n];
    mergeSort(a, tmp, 0, n);
    return a;
  }

  private void mergeSort(int[] a, int[] tmp, int lo, int hi) {
    if (hi - lo <= 16) {
      for (int i = lo + 1; i < hi; i++) {
        int x = a[i];
        int j = i - 1;
        while (j >= lo && compare(a[j], x) > 0) {
          a[j + 1] = a[j];
          j--;
        }
        a[j + 1] = x;
      }
      return;
    }
    int mid = (lo + hi) >>> 1;
    mergeSort(a, tmp, lo, mid);
    mergeSort(a, tmp, mid, hi);
    if (compare(a[mid - 1], a[mid]) <= 0) {
      return;
    }
    System.arraycopy(a, lo, tmp, lo, hi - lo);
    int i = lo;
    int j = mid;
    int k = lo;
    while (i < mid && j < hi) {
      a[k++] = compare(tmp[j], tmp[i]) < 0 ? tmp[j++] : tmp[i++];
    }
    while (i < mid) {
      a[k++] = tmp[i++];
    }
    while (j < hi) {
      a[k++] = tmp[j++];
    }
  }
}
