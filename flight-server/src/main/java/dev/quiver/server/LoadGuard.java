package dev.quiver.server;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.BufferLayout;
import org.apache.arrow.vector.TypeLayout;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.UnionMode;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Checks a batch message against its stream's schema before Arrow Java loads it: no vector may
 * be sized beyond the bytes the message carries.
 *
 * <p>Arrow Java's loader takes the buffers as they come, then sets every vector's value count
 * ({@code VectorSchemaRoot.setRowCount}), and a vector whose buffers are too short for that
 * count reallocates them, zero-filled, to fit. The counts come from the client: the batch length
 * for the columns, the last offset of a list for its child, the largest {@code offset + size}
 * of a list view (null entries included) for its child, and so on down the tree. A 14 KB upload
 * whose large list view claimed an entry at offset 16M so became a batch with a 64 MB child,
 * and a valid-looking one: {@link IncomingBatches} runs after the load and found nothing wrong.
 *
 * <p>So, walking the schema like Arrow's {@code VectorLoader} does, the count Arrow will give
 * every vector (derived exactly as its {@code setValueCount} does) must not exceed the length
 * the batch declares for that vector, and the buffers the message carries must hold that many
 * values. Everything else about the values (offsets ascending, UTF-8, dictionary indices) is
 * {@link IncomingBatches}' job once the batch is loaded.
 *
 * <p>Cost: O(1) per column, plus one pass over the offsets and sizes of list views and over the
 * type ids of dense unions (the values that decide a child's count).
 */
final class LoadGuard {
  private LoadGuard() {}

  /** The vectors Arrow Java loads a stream's batches into, as its Flight reader creates them. */
  static final class StreamLayout {
    private final List<Field> columns;
    /** Dictionary id to the field of its values. */
    private final Map<Long, Field> dictionaries;

    private StreamLayout(List<Field> columns, Map<Long, Field> dictionaries) {
      this.columns = columns;
      this.dictionaries = dictionaries;
    }
  }

  /** The layout of the stream a schema message starts. */
  static StreamLayout layoutOf(MessageMetadataResult schemaMessage) {
    Schema schema = MessageSerializer.deserializeSchema(schemaMessage);
    Map<Long, Field> dictionaries = new HashMap<>();
    List<Field> columns = new ArrayList<>();
    for (Field f : schema.getFields()) {
      columns.add(inMemory(f, dictionaries));
    }
    return new StreamLayout(columns, dictionaries);
  }

  /**
   * The field as Arrow's Flight reader turns it into a vector: a dictionary-encoded field
   * becomes its index type, and its values (the first field with that id) the dictionary's
   * vector (as {@code DictionaryUtility.toMemoryFormat}).
   */
  private static Field inMemory(Field f, Map<Long, Field> dictionaries) {
    List<Field> children = new ArrayList<>(f.getChildren().size());
    for (Field c : f.getChildren()) {
      children.add(inMemory(c, dictionaries));
    }
    DictionaryEncoding encoding = f.getDictionary();
    if (encoding == null) {
      return new Field(f.getName(), f.getFieldType(), children);
    }
    dictionaries.putIfAbsent(encoding.getId(), new Field(f.getName(),
        new FieldType(f.isNullable(), f.getType(), null, null), children));
    ArrowType index = encoding.getIndexType() == null
        ? new ArrowType.Int(32, true) : encoding.getIndexType();
    return new Field(f.getName(), new FieldType(f.isNullable(), index, encoding), null);
  }

  /**
   * Checks the record batch or dictionary batch that {@code message} (an incoming Flight
   * message with header {@code meta}) carries; throws IllegalArgumentException naming the column
   * when Arrow would size a vector beyond the message's bytes.
   */
  static void check(StreamLayout layout, MessageMetadataResult meta, Object message) {
    List<Field> fields;
    org.apache.arrow.flatbuf.RecordBatch rb;
    String what;
    refuseCompressed(meta);
    if (meta.headerType() == org.apache.arrow.flatbuf.MessageHeader.RecordBatch) {
      rb = (org.apache.arrow.flatbuf.RecordBatch)
          meta.getMessage().header(new org.apache.arrow.flatbuf.RecordBatch());
      fields = layout.columns;
      what = "column";
    } else {
      org.apache.arrow.flatbuf.DictionaryBatch db = (org.apache.arrow.flatbuf.DictionaryBatch)
          meta.getMessage().header(new org.apache.arrow.flatbuf.DictionaryBatch());
      Field values = layout.dictionaries.get(db.id());
      if (values == null) {
        return; // Arrow's reader refuses a dictionary the schema does not declare
      }
      rb = db.data();
      fields = List.of(values);
      what = "dictionary " + db.id() + " of column";
    }
    Walk walk = new Walk(rb, bodyOf(message), what);
    for (Field f : fields) {
      walk.vector(f, new Count(rb.length(), "the batch has " + rb.length() + " rows"),
          f.getName());
    }
    walk.consumedAll();
  }

  /**
   * Compressed bodies are refused: Arrow Java decompresses each buffer into an allocation of the
   * size its first 8 bytes claim, so a few bytes may stand for any amount of memory, and the
   * offsets that size the vectors are only readable after that. (Uploads were documented as
   * uncompressed; Arrow Java decompresses them when arrow-compression is on the class path.)
   */
  private static void refuseCompressed(MessageMetadataResult meta) {
    org.apache.arrow.flatbuf.RecordBatch rb;
    if (meta.headerType() == org.apache.arrow.flatbuf.MessageHeader.RecordBatch) {
      rb = (org.apache.arrow.flatbuf.RecordBatch)
          meta.getMessage().header(new org.apache.arrow.flatbuf.RecordBatch());
    } else {
      rb = ((org.apache.arrow.flatbuf.DictionaryBatch)
          meta.getMessage().header(new org.apache.arrow.flatbuf.DictionaryBatch())).data();
    }
    if (rb.compression() != null) {
      String codec = org.apache.arrow.flatbuf.CompressionType.name(rb.compression().codec());
      throw CallStatus.UNIMPLEMENTED.withDescription("compressed IPC bodies (" + codec + ") are"
          + " not accepted in uploads: send uncompressed batches").toRuntimeException();
    }
  }

  /**
   * The value count Arrow will set on a vector ({@code -1}: none, run-end encoded children keep
   * their declared length and nothing is reallocated), and where it comes from.
   */
  private record Count(long values, String source) {
    static final Count NONE = new Count(-1, "");
  }

  /**
   * Arrow's loader, one vector at a time, in its order: a vector's node and buffers, then its
   * children.
   */
  private static final class Walk {
    private final org.apache.arrow.flatbuf.RecordBatch rb;
    private final ArrowBuf body;
    /** How messages name the vectors: "column" or "dictionary N of column". */
    private final String what;
    private int node;
    private int buffer;
    private int variadic;

    Walk(org.apache.arrow.flatbuf.RecordBatch rb, ArrowBuf body, String what) {
      this.rb = rb;
      this.body = body;
      this.what = what;
    }

    /** Checks the vector of {@code field} and its children. */
    void vector(Field field, Count count, String path) {
      ArrowType type = field.getType();
      while (type instanceof ArrowType.ExtensionType ext) {
        type = ext.storageType();
      }
      if (node >= rb.nodesLength()) {
        throw new IllegalArgumentException("the batch has fewer field nodes than the schema has"
            + " fields (" + what + " '" + path + "' has none)");
      }
      org.apache.arrow.flatbuf.FieldNode n = rb.nodes(node++);
      long length = n.length();
      int first = buffer;
      int buffers = TypeLayout.getTypeBufferCount(type);
      if (type instanceof ArrowType.Utf8View || type instanceof ArrowType.BinaryView) {
        if (variadic >= rb.variadicBufferCountsLength()) {
          throw new IllegalArgumentException(what + " '" + path + "' (" + type + ") has no "
              + "variadic buffer count");
        }
        long extra = rb.variadicBufferCounts(variadic++);
        if (extra < 0 || extra > rb.buffersLength()) {
          throw new IllegalArgumentException(what + " '" + path + "' (" + type + ") declares "
              + extra + " variadic buffers");
        }
        buffers += (int) extra;
      }
      if ((long) buffer + buffers > rb.buffersLength()) {
        throw new IllegalArgumentException("the batch has fewer buffers than the schema needs"
            + " (" + what + " '" + path + "' (" + type + ") has too few)");
      }
      buffer += buffers;
      List<Field> children = field.getChildren();
      Count[] childCounts;
      try {
        childCounts = counts(type, children.size(), count, length, n.nullCount(), first);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(what + " '" + path + "' (" + type + "): "
            + e.getMessage(), e);
      }
      for (int i = 0; i < children.size(); i++) {
        vector(children.get(i), childCounts[i], path + "." + children.get(i).getName());
      }
    }

    /**
     * Checks this vector's own buffers against the count Arrow will set and returns the counts
     * it will set on the children.
     */
    private Count[] counts(ArrowType type, int childCount, Count counted, long length,
        long nulls, int first) {
      Count[] children = new Count[childCount];
      java.util.Arrays.fill(children, Count.NONE);
      long count = counted.values();
      if (count < 0) {
        return children;
      }
      if (count > length) {
        throw new IllegalArgumentException("it declares " + length + " values, but "
            + counted.source() + ": Arrow Java would size it for " + count);
      }
      List<BufferLayout> layout = TypeLayout.getTypeLayout(type).getBufferLayouts();
      if (!layout.isEmpty() && layout.get(0).getType() == BufferLayout.BufferType.VALIDITY) {
        long have = bufferLength(first);
        if (have == 0 && (nulls == 0 || nulls == length)) {
          have = (length + 7) / 8; // Arrow allocates a bitmap for the node's length
        }
        need(first, "validity bitmap", have, (count + 7) / 8, count);
      }
      switch (type.getTypeID()) {
        case Null, RunEndEncoded -> {
          return children;
        }
        case Int, FloatingPoint, Decimal, Date, Time, Timestamp, Interval, Duration,
            FixedSizeBinary, Bool -> {
          long bits = layout.get(1).getTypeBitWidth();
          need(first + 1, "data buffer", bufferLength(first + 1), (count * bits + 7) / 8, count);
        }
        case Utf8, Binary -> need(first + 1, "offset buffer", bufferLength(first + 1),
            count == 0 ? 0 : (count + 1) * 4, count);
        case LargeUtf8, LargeBinary -> need(first + 1, "offset buffer", bufferLength(first + 1),
            count == 0 ? 0 : (count + 1) * 8, count);
        case Utf8View, BinaryView -> need(first + 1, "view buffer", bufferLength(first + 1),
            count * 16, count);
        case Struct -> java.util.Arrays.fill(children,
            new Count(count, "its struct has " + count + " values"));
        case FixedSizeList -> {
          int size = ((ArrowType.FixedSizeList) type).getListSize();
          children[0] = new Count(count * size, "its " + count + " lists hold " + size
              + " values each");
        }
        case List, Map -> children[0] = listChildCount(first + 1, 4, count, length);
        case LargeList -> children[0] = listChildCount(first + 1, 8, count, length);
        case ListView -> children[0] = listViewChildCount(first + 1, 4, count, length);
        case LargeListView -> children[0] = listViewChildCount(first + 1, 8, count, length);
        case Union -> {
          ArrowType.Union union = (ArrowType.Union) type;
          need(first, "type id buffer", bufferLength(first), count, count);
          if (union.getMode() == UnionMode.Sparse) {
            java.util.Arrays.fill(children,
                new Count(count, "its sparse union has " + count + " values"));
          } else {
            need(first + 1, "offset buffer", bufferLength(first + 1), count * 4, count);
            // Arrow sizes each child for the entries of its type id.
            long[] perId = new long[256];
            for (long e = 0; e < count; e++) {
              perId[body.getByte(bufferOffset(first) + e) & 0xff]++;
            }
            for (int i = 0; i < childCount; i++) {
              int id = union.getTypeIds() == null ? i : union.getTypeIds()[i];
              children[i] = new Count(perId[id & 0xff], "its dense union has "
                  + perId[id & 0xff] + " values of type id " + id);
            }
          }
        }
        case NONE -> throw new IllegalArgumentException("a column without a type");
      }
      return children;
    }

    /** Arrow sets a list's child to the list's last offset (at the declared length). */
    private Count listChildCount(int offsets, int width, long count, long length) {
      if (count == 0) {
        return new Count(0, "");
      }
      need(offsets, "offset buffer", bufferLength(offsets), (length + 1) * width, length);
      long last = value(offsets, length, width);
      long childLength = nextNodeLength();
      if (last < 0 || last > childLength) {
        throw new IllegalArgumentException("list offset " + length + " is " + last
            + ", outside its " + childLength + "-value child");
      }
      return new Count(last, "its list's last offset is " + last);
    }

    /** The declared length of the vector whose node comes next: a list's child. */
    private long nextNodeLength() {
      if (node >= rb.nodesLength()) {
        throw new IllegalArgumentException("the batch has no field node for its child");
      }
      return rb.nodes(node).length();
    }

    /**
     * Arrow sets a list view's child to the largest {@code offset + size} of its first
     * {@code count} entries, null or not. Every declared entry must lie within the child's
     * declared length, so the child's own check bounds the largest.
     */
    private Count listViewChildCount(int offsets, int width, long count, long length) {
      int sizes = offsets + 1;
      need(offsets, "offset buffer", bufferLength(offsets), length * width, length);
      need(sizes, "size buffer", bufferLength(sizes), length * width, length);
      long childLength = nextNodeLength();
      long end = 0;
      for (long i = 0; i < length; i++) {
        long off = value(offsets, i, width);
        long size = value(sizes, i, width);
        if (off < 0 || size < 0 || off > childLength - size) {
          throw new IllegalArgumentException("list view entry " + i + " [offset " + off
              + ", size " + size + "] lies outside its " + childLength + "-value child");
        }
        if (i < count) {
          end = Math.max(end, off + size);
        }
      }
      return new Count(count == 0 ? 0 : end, "its list views end at " + end);
    }

    private long value(int buffer, long index, int width) {
      long at = bufferOffset(buffer) + index * width;
      return width == 4 ? body.getInt(at) : body.getLong(at);
    }

    private long bufferLength(int i) {
      return rb.buffers(i).length();
    }

    private long bufferOffset(int i) {
      return rb.buffers(i).offset();
    }

    private static void need(int buffer, String what, long have, long need, long count) {
      if (have < need) {
        throw new IllegalArgumentException("its " + what + " (buffer " + buffer + ") has "
            + have + " bytes, " + count + " values need " + need);
      }
    }

    /** Arrow refuses leftovers too, but only after it loaded (and grew) the vectors. */
    void consumedAll() {
      if (node != rb.nodesLength() || buffer != rb.buffersLength()
          || variadic != rb.variadicBufferCountsLength()) {
        throw new IllegalArgumentException("the batch has " + rb.nodesLength() + " field nodes, "
            + rb.buffersLength() + " buffers and " + rb.variadicBufferCountsLength()
            + " variadic buffer counts; the schema needs " + node + ", " + buffer + " and "
            + variadic);
      }
    }
  }

  /**
   * The body Arrow's Flight message holds ({@code ArrowMessage} is package-private: reflection),
   * or null for a message without one.
   */
  private static ArrowBuf bodyOf(Object message) {
    Method bufs = BUFS.get(message.getClass());
    try {
      for (Object b : (Iterable<?>) bufs.invoke(message)) {
        return (ArrowBuf) b;
      }
      return null;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot read the body of a Flight message", e);
    }
  }

  private static final ClassValue<Method> BUFS = new ClassValue<>() {
    @Override
    protected Method computeValue(Class<?> type) {
      try {
        Method m = type.getMethod("getBufs");
        m.setAccessible(true);
        return m;
      } catch (ReflectiveOperationException | RuntimeException e) {
        throw new IllegalStateException(type.getName() + " has no getBufs(): this Arrow Flight"
            + " version is not supported", e);
      }
    }
  };
}
