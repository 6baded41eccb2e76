package dev.quiver.engine.bridge;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.NativeUtil;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.message.ArrowFieldNode;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * Loads C Data Interface arrays into Arrow Java vectors without copying and in time independent
 * of the row count.
 *
 * <p>Every buffer of the producer becomes an ArrowBuf over the same address (a foreign
 * allocation charged to this importer's allocator); the producer's release callback runs when
 * the last of them is closed. Compared with Arrow Java's own importer this one
 * <ul>
 *   <li>points columns without a validity bitmap at the shared {@link AllValidBitmap} instead of
 *       allocating and filling a bitmap per column (which is what made the stock import
 *       proportional to the row count);
 *   <li>honours the C {@code offset} of sliced arrays: data and offset buffers are addressed at
 *       the offset (zero-copy); only a validity or boolean bitmap whose offset is not a multiple
 *       of 8 cannot be addressed and is copied (shifted), the one documented copy of this path;
 *   <li>keeps a dictionary whose C array is the same memory as the previous batch's, so a stream
 *       of batches sharing one dictionary imports it once.
 * </ul>
 * Types it does not handle (unions, run-end encoded, list views, extension types) are reported by
 * {@link #supports(Field)}; callers use Arrow Java's importer for those.
 */
final class ArrayImporter {
  private static final long NULL = 0L;
  private static final int MAX_DEPTH = 64;

  private final BufferAllocator allocator;
  /** Holds the moved C structs, which live as long as any buffer of theirs, maybe beyond the reader. */
  private final BufferAllocator structAllocator;
  private final AllValidBitmap allValid;
  /** Per dictionary id: the shape and buffer addresses of the C array last imported into it. */
  private final Map<Long, long[]> dictionarySignatures = new HashMap<>();
  private long dictionaryReplacements;
  private long copiedBitmapBytes;

  ArrayImporter(BufferAllocator allocator, BufferAllocator structAllocator, AllValidBitmap allValid) {
    this.allocator = allocator;
    this.structAllocator = structAllocator;
    this.allValid = allValid;
  }

  /** Whether this importer handles {@code field} and all its descendants and dictionaries. */
  static boolean supports(Field field, DictionaryProvider dictionaries) {
    switch (field.getType().getTypeID()) {
      case Null: case Int: case FloatingPoint: case Decimal: case Date: case Time: case Timestamp:
      case Interval: case Duration: case FixedSizeBinary: case Bool: case Utf8: case Binary:
      case LargeUtf8: case LargeBinary: case Utf8View: case BinaryView: case List: case LargeList:
      case FixedSizeList: case Struct: case Map:
        break;
      default:
        return false;
    }
    for (Field child : field.getChildren()) {
      if (!supports(child, dictionaries)) {
        return false;
      }
    }
    DictionaryEncoding encoding = field.getDictionary();
    if (encoding != null) {
      Dictionary d = dictionaries == null ? null : dictionaries.lookup(encoding.getId());
      return d != null && supports(d.getVector().getField(), dictionaries);
    }
    return true;
  }

  /** Dictionaries whose memory changed between batches after the first import. */
  long dictionaryReplacements() {
    return dictionaryReplacements;
  }

  /** Bytes of bitmaps that had to be copied because of an unaligned C offset. */
  long copiedBitmapBytes() {
    return copiedBitmapBytes;
  }

  /**
   * Imports the struct array at {@code source} (a record batch) into {@code root}, whose vectors
   * are replaced. Takes ownership of the C array: it is moved out of {@code source} and released
   * when the last vector using it is closed (or right away if this fails).
   */
  void importRoot(ArrowArray source, VectorSchemaRoot root, DictionaryProvider dictionaries) {
    ImportedArrayOwner owner = new ImportedArrayOwner(source, structAllocator);
    try {
      ArrowArray.Snapshot top = owner.array().snapshot();
      List<FieldVector> columns = root.getFieldVectors();
      if (top.n_children != columns.size()) {
        throw new IllegalArgumentException(
            "the C array has " + top.n_children + " columns but the schema has " + columns.size());
      }
      if (top.null_count != 0 && top.null_count != -1) {
        throw new IllegalArgumentException(
            "a record batch cannot have null rows (the C struct array has " + top.null_count
                + ")");
      }
      long rows = checkedLength(top.length, "record batch");
      long[] children = NativeUtil.toJavaArray(top.children, (int) top.n_children);
      for (int i = 0; i < columns.size(); i++) {
        ArrowArray.Snapshot c = ArrowArray.wrap(children[i]).snapshot();
        importNode(columns.get(i), c, c.offset + top.offset, rows, owner, dictionaries, 0);
      }
      root.setRowCount((int) rows);
    } finally {
      owner.release();
    }
  }

  private void importNode(
      FieldVector vector,
      ArrowArray.Snapshot s,
      long offset,
      long length,
      ImportedArrayOwner owner,
      DictionaryProvider dictionaries,
      int depth) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("C array nests deeper than " + MAX_DEPTH + " levels");
    }
    Field field = vector.getField();
    if (s.release == NULL) {
      throw new IllegalArgumentException("C array for '" + field.getName() + "' is released");
    }
    if (offset + length > s.offset + s.length) {
      throw new IllegalArgumentException(
          "C array for '" + field.getName() + "' has " + s.length + " values after offset "
              + s.offset + ", fewer than the " + (offset + length - s.offset) + " its parent needs");
    }
    long[] buffers = s.n_buffers == 0 ? new long[0] : NativeUtil.toJavaArray(s.buffers, (int) s.n_buffers);
    long[] children = s.n_children == 0 ? new long[0] : NativeUtil.toJavaArray(s.children, (int) s.n_children);
    List<FieldVector> childVectors = vector.getChildrenFromFields();
    ArrowType type = field.getType();
    List<ArrowBuf> own = new ArrayList<>(3);
    try {
      switch (type.getTypeID()) {
        case Null:
          break;
        case Bool:
          expectBuffers(field, buffers, 2);
          own.add(validity(field, s, buffers[0], offset, length, owner));
          own.add(bits(buffers[1], offset, length, owner, field));
          break;
        case Int: case FloatingPoint: case Decimal: case Date: case Time: case Timestamp:
        case Interval: case Duration: case FixedSizeBinary: {
          expectBuffers(field, buffers, 2);
          long width = byteWidth(type);
          own.add(validity(field, s, buffers[0], offset, length, owner));
          own.add(wrap(owner, buffers[1], offset * width, length * width, field));
          break;
        }
        case Utf8: case Binary: case LargeUtf8: case LargeBinary: {
          expectBuffers(field, buffers, 3);
          int ow = (type.getTypeID() == ArrowType.ArrowTypeID.Utf8
              || type.getTypeID() == ArrowType.ArrowTypeID.Binary) ? 4 : 8;
          own.add(validity(field, s, buffers[0], offset, length, owner));
          own.add(offsets(field, buffers[1], offset, length, ow, owner));
          long end = length == 0 && buffers[1] == NULL ? 0 : readOffset(buffers[1], offset + length, ow);
          own.add(wrap(owner, buffers[2], 0, end, field));
          break;
        }
        case Utf8View: case BinaryView: {
          if (buffers.length < 3) {
            throw new IllegalArgumentException(
                "C array for '" + field.getName() + "' (" + type + ") has " + buffers.length
                    + " buffers; a view array has at least 3");
          }
          own.add(validity(field, s, buffers[0], offset, length, owner));
          own.add(wrap(owner, buffers[1], offset * 16, length * 16, field));
          int variadic = buffers.length - 3;
          long sizes = buffers[buffers.length - 1];
          for (int i = 0; i < variadic; i++) {
            own.add(wrap(owner, buffers[2 + i], 0, MemoryUtil.getLong(sizes + 8L * i), field));
          }
          break;
        }
        case List: case Map: case LargeList: {
          expectBuffers(field, buffers, 2);
          int ow = type.getTypeID() == ArrowType.ArrowTypeID.LargeList ? 8 : 4;
          own.add(validity(field, s, buffers[0], offset, length, owner));
          own.add(offsets(field, buffers[1], offset, length, ow, owner));
          expectChildren(field, children, 1);
          ArrowArray.Snapshot c = ArrowArray.wrap(children[0]).snapshot();
          importNode(childVectors.get(0), c, c.offset, c.length, owner, dictionaries, depth + 1);
          break;
        }
        case FixedSizeList: {
          expectBuffers(field, buffers, 1);
          long size = ((ArrowType.FixedSizeList) type).getListSize();
          own.add(validity(field, s, buffers[0], offset, length, owner));
          expectChildren(field, children, 1);
          ArrowArray.Snapshot c = ArrowArray.wrap(children[0]).snapshot();
          importNode(childVectors.get(0), c, c.offset + offset * size, length * size, owner,
              dictionaries, depth + 1);
          break;
        }
        case Struct: {
          expectBuffers(field, buffers, 1);
          own.add(validity(field, s, buffers[0], offset, length, owner));
          expectChildren(field, children, childVectors.size());
          for (int i = 0; i < children.length; i++) {
            ArrowArray.Snapshot c = ArrowArray.wrap(children[i]).snapshot();
            importNode(childVectors.get(i), c, c.offset + offset, length, owner, dictionaries,
                depth + 1);
          }
          break;
        }
        default:
          throw new UnsupportedOperationException(
              "Quiver's importer does not handle " + type + " (column '" + field.getName() + "')");
      }
      if (field.getDictionary() != null) {
        importDictionary(field, s, owner, dictionaries, depth);
      }
      // null count -1: Arrow Java then keeps the given validity buffer instead of allocating one.
      vector.loadFieldBuffers(new ArrowFieldNode(length, -1), own);
    } finally {
      AutoCloseables.closeNoChecked(() -> AutoCloseables.close(own));
    }
  }

  private void importDictionary(
      Field field, ArrowArray.Snapshot s, ImportedArrayOwner owner,
      DictionaryProvider dictionaries, int depth) {
    long id = field.getDictionary().getId();
    if (s.dictionary == NULL) {
      throw new IllegalArgumentException(
          "column '" + field.getName() + "' is dictionary-encoded but its C array has no dictionary");
    }
    Dictionary dictionary = dictionaries == null ? null : dictionaries.lookup(id);
    if (dictionary == null) {
      throw new IllegalStateException("no dictionary vector for id " + id + " of '" + field.getName() + "'");
    }
    long[] signature = signature(s.dictionary, 0);
    long[] previous = dictionarySignatures.get(id);
    if (previous != null && Arrays.equals(previous, signature)) {
      return; // the same memory as the dictionary already loaded
    }
    if (previous != null) {
      dictionaryReplacements++;
    }
    FieldVector vector = dictionary.getVector();
    vector.clear();
    ArrowArray.Snapshot d = ArrowArray.wrap(s.dictionary).snapshot();
    importNode(vector, d, d.offset, checkedLength(d.length, "dictionary"), owner, dictionaries, depth + 1);
    dictionarySignatures.put(id, signature);
  }

  /** Shape and addresses of a C array tree: equal signatures mean the same memory. */
  static long[] signature(long address, int depth) {
    List<Long> out = new ArrayList<>();
    collect(address, depth, out);
    long[] a = new long[out.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = out.get(i);
    }
    return a;
  }

  private static void collect(long address, int depth, List<Long> out) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("C array nests deeper than " + MAX_DEPTH + " levels");
    }
    ArrowArray.Snapshot s = ArrowArray.wrap(address).snapshot();
    out.add(s.length);
    out.add(s.offset);
    out.add(s.null_count);
    out.add(s.n_buffers);
    for (long b : s.n_buffers == 0 ? new long[0] : NativeUtil.toJavaArray(s.buffers, (int) s.n_buffers)) {
      out.add(b);
    }
    out.add(s.n_children);
    for (long c : s.n_children == 0 ? new long[0] : NativeUtil.toJavaArray(s.children, (int) s.n_children)) {
      collect(c, depth + 1, out);
    }
    if (s.dictionary != NULL) {
      collect(s.dictionary, depth + 1, out);
    }
  }

  private ArrowBuf validity(
      Field field, ArrowArray.Snapshot s, long address, long offset, long length,
      ImportedArrayOwner owner) {
    long bytes = (length + 7) / 8;
    if (address == NULL) {
      if (s.null_count > 0) {
        throw new IllegalArgumentException(
            "C array for '" + field.getName() + "' declares " + s.null_count
                + " nulls but has no validity bitmap");
      }
      return length == 0 ? allocator.getEmpty() : allValid.slice(bytes);
    }
    return bits(address, offset, length, owner, field);
  }

  private ArrowBuf bits(long address, long offset, long length, ImportedArrayOwner owner, Field field) {
    long bytes = (length + 7) / 8;
    if (length == 0) {
      return allocator.getEmpty();
    }
    if (address == NULL) {
      throw new IllegalArgumentException("C array for '" + field.getName() + "' lacks a bitmap");
    }
    if (offset % 8 == 0) {
      return owner.wrap(allocator, address + offset / 8, bytes);
    }
    // A bitmap starting mid-byte cannot be addressed: shift it into a new buffer.
    ArrowBuf out = allocator.buffer(bytes);
    long first = offset >>> 3;
    int shift = (int) (offset & 7);
    long sourceBytes = (offset + length + 7) / 8 - first;
    for (long j = 0; j < bytes; j++) {
      int lo = (MemoryUtil.getByte(address + first + j) & 0xFF) >>> shift;
      int hi = j + 1 < sourceBytes ? (MemoryUtil.getByte(address + first + j + 1) & 0xFF) << (8 - shift) : 0;
      out.setByte(j, (byte) (lo | hi));
    }
    copiedBitmapBytes += bytes;
    return out;
  }

  private ArrowBuf offsets(Field field, long address, long offset, long length, int width, ImportedArrayOwner owner) {
    if (address == NULL) {
      if (length == 0) {
        return allocator.getEmpty();
      }
      throw new IllegalArgumentException("C array for '" + field.getName() + "' has no offsets buffer");
    }
    return owner.wrap(allocator, address + offset * width, (length + 1) * width);
  }

  private static long readOffset(long address, long index, int width) {
    return width == 4 ? MemoryUtil.getInt(address + index * 4) : MemoryUtil.getLong(address + index * 8);
  }

  private ArrowBuf wrap(ImportedArrayOwner owner, long address, long skip, long size, Field field) {
    if (size == 0) {
      return allocator.getEmpty();
    }
    if (address == NULL) {
      throw new IllegalArgumentException(
          "C array for '" + field.getName() + "' has a NULL buffer where " + size + " bytes are needed");
    }
    return owner.wrap(allocator, address + skip, size);
  }

  private static long byteWidth(ArrowType type) {
    switch (type.getTypeID()) {
      case Int: return ((ArrowType.Int) type).getBitWidth() / 8;
      case FloatingPoint:
        switch (((ArrowType.FloatingPoint) type).getPrecision()) {
          case HALF: return 2;
          case SINGLE: return 4;
          default: return 8;
        }
      case Decimal: return ((ArrowType.Decimal) type).getBitWidth() / 8;
      case Date: return ((ArrowType.Date) type).getUnit() == org.apache.arrow.vector.types.DateUnit.DAY ? 4 : 8;
      case Time: return ((ArrowType.Time) type).getBitWidth() / 8;
      case Timestamp: case Duration: return 8;
      case Interval:
        switch (((ArrowType.Interval) type).getUnit()) {
          case YEAR_MONTH: return 4;
          case DAY_TIME: return 8;
          default: return 16;
        }
      case FixedSizeBinary: return ((ArrowType.FixedSizeBinary) type).getByteWidth();
      default:
        throw new IllegalArgumentException("not a fixed-width type: " + type);
    }
  }

  private static void expectBuffers(Field field, long[] buffers, int n) {
    if (buffers.length != n) {
      throw new IllegalArgumentException(
          "C array for '" + field.getName() + "' (" + field.getType() + ") has " + buffers.length
              + " buffers, expected " + n);
    }
  }

  private static void expectChildren(Field field, long[] children, int n) {
    if (children.length != n) {
      throw new IllegalArgumentException(
          "C array for '" + field.getName() + "' (" + field.getType() + ") has " + children.length
              + " children, expected " + n);
    }
  }

  private static long checkedLength(long length, String what) {
    if (length < 0 || length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          what + " length " + length + " is outside what Arrow Java vectors hold (0.."
              + Integer.MAX_VALUE + ")");
    }
    return length;
  }
}
