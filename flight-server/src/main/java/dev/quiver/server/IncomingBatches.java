package dev.quiver.server;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListViewVector;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.LargeListViewVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.validate.ValidateVectorBufferVisitor;

/**
 * Checks a batch decoded from a client's bytes before anything computes on it.
 *
 * <p>Arrow Java loads an IPC record batch without checking its contents: offsets may point past
 * the string data or descend, dictionary indices may point past the dictionary ({@link
 * LoadGuard} has refused, before the load, buffers too short for the lengths Arrow sets, which
 * Arrow would have grown instead). The engine's kernels read Arrow memory without bounds checks
 * (that is what makes them fast), so such a batch could read outside its buffers and crash the
 * server. Every batch that enters through DoPut or DoExchange therefore has its flat vectors
 * checked (buffer sizes, offsets monotonic and in range, UTF-8) and every dictionary index
 * checked against its dictionary; a failure is the client's error, INVALID_ARGUMENT, naming the
 * column.
 *
 * <p>Cost: O(rows) over offsets and dictionary indices only; fixed-width columns are checked in
 * O(1) per buffer.
 */
final class IncomingBatches {
  private IncomingBatches() {}

  /** Throws INVALID_ARGUMENT naming the column if {@code root} is not a well-formed batch. */
  static void validate(VectorSchemaRoot root, DictionaryProvider dictionaries) {
    Set<Long> checkedDictionaries = new HashSet<>();
    for (FieldVector v : root.getFieldVectors()) {
      try {
        if (v.getValueCount() != root.getRowCount()) {
          throw new IllegalArgumentException("has " + v.getValueCount() + " values in a batch of "
              + root.getRowCount() + " rows");
        }
        validateLayout(v);
        checkDictionaryIndices(v, dictionaries, checkedDictionaries);
      } catch (RuntimeException e) {
        throw FlightErrors.malformedInput(new IllegalArgumentException(
            "column '" + v.getName() + "' (" + v.getField().getType() + "): " + e.getMessage(),
            e));
      }
    }
  }

  /**
   * Checks every flat vector of the column tree (the layouts the engine's kernels read without
   * bounds checks): buffer sizes against the value count, and for variable-width vectors offsets
   * monotonic and within the data and values valid UTF-8; list offsets and list-view ranges
   * within their child. Other nested containers are read only through Arrow's bounds-checked
   * accessors, and Arrow Java 19's validators do not support all of them (list views, run-end
   * encoded, its type check on non-canonical maps). Decimal precision is not
   * checked: a value wider than its declared precision is still a well-formed array (Arrow C++
   * writes such values in its own integration files).
   */
  private static void validateLayout(FieldVector v) {
    // Arrow's buffer checks only: its type checks do not know every vector (float16).
    if (v instanceof BaseFixedWidthVector) {
      v.accept(new ValidateVectorBufferVisitor(), null);
    } else if (v instanceof BaseVariableWidthVector || v instanceof BaseLargeVariableWidthVector) {
      v.accept(new ValidateVectorBufferVisitor(), null);
      VariableWidthCheck.check(v);
    }
    if (v instanceof ListVector || v instanceof LargeListVector) {
      // Offsets within the child: Arrow's accessors check bounds, but an out-of-range offset
      // still failed a stream with INTERNAL instead of the client's error.
      checkListOffsets(v);
    } else if (v instanceof FixedSizeListVector f) {
      long need = (long) f.getValueCount() * f.getListSize();
      if (f.getDataVector().getValueCount() < need) {
        throw new IllegalArgumentException("fixed-size list of " + f.getValueCount() + " x "
            + f.getListSize() + " values has a " + f.getDataVector().getValueCount()
            + "-value child");
      }
    } else if (v instanceof ListViewVector || v instanceof LargeListViewVector) {
      checkListView(v);
    }
    for (FieldVector child : v.getChildrenFromFields()) {
      validateLayout(child);
    }
  }

  /** List and map offsets: n + 1 of them, starting at 0 or more, ascending, within the child. */
  private static void checkListOffsets(FieldVector v) {
    int n = v.getValueCount();
    if (n == 0) {
      return;
    }
    boolean large = v instanceof LargeListVector;
    int width = large ? 8 : 4;
    org.apache.arrow.memory.ArrowBuf offsets = v.getOffsetBuffer();
    if (offsets.capacity() < (long) (n + 1) * width) {
      throw new IllegalArgumentException("list offsets shorter than " + (n + 1) + " entries");
    }
    long childCount = v.getChildrenFromFields().get(0).getValueCount();
    long prev = large ? offsets.getLong(0) : offsets.getInt(0);
    if (prev < 0) {
      throw new IllegalArgumentException("list offset 0 is negative: " + prev);
    }
    for (int i = 1; i <= n; i++) {
      long at = large ? offsets.getLong((long) i * 8) : offsets.getInt((long) i * 4);
      if (at < prev || at > childCount) {
        throw new IllegalArgumentException("list offset " + i + " is " + at + " after " + prev
            + ", with a " + childCount + "-value child");
      }
      prev = at;
    }
  }

  /**
   * List views (which Arrow Java's validators do not support): every entry's
   * {@code offset + size} must lie within the child, or writing the batch out reads past it.
   */
  private static void checkListView(FieldVector v) {
    int n = v.getValueCount();
    boolean large = v instanceof LargeListViewVector;
    int width = large ? 8 : 4;
    org.apache.arrow.memory.ArrowBuf offsets = v.getOffsetBuffer();
    org.apache.arrow.memory.ArrowBuf sizes = large
        ? ((LargeListViewVector) v).getSizeBuffer() : ((ListViewVector) v).getSizeBuffer();
    if (n > 0 && (offsets.capacity() < (long) n * width || sizes.capacity() < (long) n * width)) {
      throw new IllegalArgumentException("list view offsets or sizes shorter than " + n
          + " entries");
    }
    long childCount = v.getChildrenFromFields().get(0).getValueCount();
    // Null entries too (as Arrow C++ validates): Arrow Java sizes the child from every entry.
    // LoadGuard refuses such entries before the load already; this keeps the invariant the
    // writers rely on stated where the batch is accepted.
    for (int i = 0; i < n; i++) {
      long off = large ? offsets.getLong((long) i * 8) : offsets.getInt((long) i * 4);
      long size = large ? sizes.getLong((long) i * 8) : sizes.getInt((long) i * 4);
      if (off < 0 || size < 0 || off + size > childCount) {
        throw new IllegalArgumentException("list view entry " + i + " [offset " + off + ", size "
            + size + "] lies outside its " + childCount + "-value child");
      }
    }
  }

  private static void checkDictionaryIndices(FieldVector v, DictionaryProvider dictionaries,
      Set<Long> checked) {
    DictionaryEncoding encoding = v.getField().getDictionary();
    if (encoding != null) {
      Dictionary dictionary = dictionaries == null ? null : dictionaries.lookup(encoding.getId());
      if (dictionary == null) {
        throw new IllegalArgumentException("dictionary " + encoding.getId() + " was never sent");
      }
      FieldVector values = dictionary.getVector();
      if (checked.add(encoding.getId())) {
        validateLayout(values);
        checkDictionaryIndices(values, dictionaries, checked);
      }
      if (!(v instanceof BaseIntVector indices)) {
        throw new IllegalArgumentException("dictionary indices are not integers");
      }
      long size = values.getValueCount();
      for (int i = 0; i < v.getValueCount(); i++) {
        if (!v.isNull(i)) {
          long index = indices.getValueAsLong(i);
          if (index < 0 || index >= size) {
            throw new IllegalArgumentException("row " + i + " has dictionary index " + index
                + " outside the " + size + "-entry dictionary " + encoding.getId());
          }
        }
      }
    }
    List<FieldVector> children = v.getChildrenFromFields();
    if (children != null) {
      for (FieldVector child : children) {
        checkDictionaryIndices(child, dictionaries, checked);
      }
    }
  }
}
