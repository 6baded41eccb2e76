package dev.quiver.server;

import com.google.protobuf.CodedInputStream;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.impl.Flight;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the header of every incoming FlightData before Arrow's marshaller decodes it.
 *
 * <p>Arrow Java 19 parses FlightData inside gRPC's deserializer: a corrupt IPC header throws
 * there after the body buffer was already allocated, so gRPC answers {@code UNKNOWN} and the
 * body leaks. This marshaller marks the stream, validates the descriptor and IPC header the way
 * Arrow will read them, resets, and only then delegates; on failure it returns {@code null} and
 * leaves the reason for {@link DecodeFailureInterceptor}, which ends the call with
 * {@code INVALID_ARGUMENT}. A message that passed is decoded by {@link FlightDataReader}, which
 * copies the body once instead of Arrow's twice.
 */
final class GuardedMarshaller<T> implements MethodDescriptor.Marshaller<T> {
  private static final Logger LOG = LoggerFactory.getLogger(GuardedMarshaller.class);
  private static final int DESCRIPTOR_TAG = (1 << 3) | 2;
  private static final int HEADER_TAG = (2 << 3) | 2;

  private final MethodDescriptor.Marshaller<T> delegate;
  /** Decodes checked messages with one copy of the body; null keeps Arrow's decoder. */
  private final FlightDataReader reader;
  /**
   * Hands what parsing learned to {@link DecodeFailureInterceptor}: gRPC parses a message and
   * delivers it to the call listener on the same thread, one message at a time.
   */
  private final ThreadLocal<ParseNote> notes;

  /** What the last parse on this thread found. */
  static final class ParseNote {
    /** Why parse returned null (null when it did not). */
    RuntimeException failure;
    /** The IPC header type of the message (NONE when it had no IPC header). */
    byte headerType;
    /** The message's IPC header (null when it had none). */
    MessageMetadataResult header;

    void reset() {
      failure = null;
      headerType = NONE;
      header = null;
    }
  }

  private GuardedMarshaller(MethodDescriptor.Marshaller<T> delegate,
      ThreadLocal<ParseNote> notes) {
    this.delegate = delegate;
    this.notes = notes;
    this.reader = FlightDataReader.forMarshaller(delegate);
    if (reader == null) {
      LOG.warn("Arrow's FlightData decoder is not the one this server knows; uploads are read"
          + " with Arrow's own (two copies of every body)");
    }
  }

  @Override
  public InputStream stream(T value) {
    return delegate.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    ParseNote note = notes.get();
    note.reset();
    if (stream.markSupported()) {
      stream.mark(Integer.MAX_VALUE);
      try {
        note.headerType = check(stream, note);
      } catch (IOException | RuntimeException e) {
        note.failure = new IllegalArgumentException("invalid FlightData: " + describe(e), e);
        return null;
      } finally {
        try {
          stream.reset();
        } catch (IOException e) {
          note.failure = new IllegalStateException("cannot rewind FlightData", e);
          return null;
        }
      }
      if (reader != null) {
        try {
          @SuppressWarnings("unchecked")
          T message = (T) reader.read(stream);
          if (message != null) {
            return message;
          }
          stream.reset();
        } catch (IOException e) {
          note.failure = new IllegalArgumentException("invalid FlightData: " + describe(e), e);
          return null;
        } catch (RuntimeException e) {
          note.failure = e;
          return null;
        }
      }
    }
    try {
      return delegate.parse(stream);
    } catch (RuntimeException e) {
      note.failure = e.getCause() instanceof RuntimeException r ? r : e;
      return null;
    }
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /**
   * Reads the descriptor, IPC header and body length of one FlightData and refuses what Arrow
   * Java 19 would mis-handle; returns the IPC header type. Arrow's decoder allocates the body
   * before it looks at the header, and its stream reader never releases the body of a message
   * that is not a batch (schema, header-less or tensor message) or of a batch whose header it
   * cannot apply: all of those are refused here, before anything is allocated.
   */
  private static byte check(InputStream stream, ParseNote note) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(stream);
    in.setSizeLimit(Integer.MAX_VALUE);
    MessageMetadataResult meta = null;
    long bodySize = 0;
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      if (tag == DESCRIPTOR_TAG) {
        Flight.FlightDescriptor.parseFrom(in.readBytes());
      } else if (tag == HEADER_TAG) {
        byte[] header = in.readByteArray();
        meta = MessageMetadataResult.create(ByteBuffer.wrap(header), header.length);
      } else if (tag == BODY_TAG) {
        int length = in.readRawVarint32();
        bodySize = Integer.toUnsignedLong(length);
        in.skipRawBytes(length);
      } else if (!in.skipField(tag)) {
        break;
      }
    }
    if (meta == null) {
      if (bodySize > 0) {
        throw new IllegalArgumentException("a " + bodySize
            + "-byte body without an IPC message header");
      }
      return NONE;
    }
    meta.getMessage().bodyLength();
    short version = meta.getMessage().version();
    // Arrow Java reads the body into memory before it maps the version, and leaks the body
    // when the version is unknown.
    if (version < 0 || version >= METADATA_VERSIONS) {
      throw new IllegalArgumentException("IPC metadata version " + version + " is unknown");
    }
    byte type = meta.headerType();
    note.header = meta;
    switch (type) {
      case NONE, SCHEMA -> {
        if (bodySize > 0) {
          throw new IllegalArgumentException("a " + (type == NONE ? "header-less" : "schema")
              + " message with a " + bodySize + "-byte body");
        }
        if (type == SCHEMA) {
          checkSchema(meta);
        }
      }
      case DICTIONARY_BATCH, RECORD_BATCH -> {
        org.apache.arrow.flatbuf.RecordBatch rb = recordBatchOf(meta);
        int limit = meta.getMessageLength();
        checkLength("field nodes", rb.nodesLength(), limit);
        checkLength("buffers", rb.buffersLength(), limit);
        checkLength("variadic buffer counts", rb.variadicBufferCountsLength(), limit);
        checkBatch(rb, bodySize);
      }
      case TENSOR -> throw new UnsupportedOperationException(
          "IPC tensor messages are not part of a Flight data stream");
      default -> throw new IllegalArgumentException("IPC message header type " + type
          + " is unknown");
    }
    return type;
  }

  /**
   * Arrow Java allocates arrays of the lengths a schema's flatbuffer vectors declare (a union's
   * type ids, a field's children or metadata) before it reads them: a mutated length asked for a
   * multi-gigabyte array and ended the call with an {@code OutOfMemoryError}. A vector cannot hold
   * more entries than the header has bytes, so longer ones are refused here.
   */
  private static void checkSchema(MessageMetadataResult meta) {
    org.apache.arrow.flatbuf.Schema schema = (org.apache.arrow.flatbuf.Schema)
        meta.getMessage().header(new org.apache.arrow.flatbuf.Schema());
    if (schema == null) {
      throw new IllegalArgumentException("schema message without a schema");
    }
    int limit = meta.getMessageLength();
    checkLength("schema fields", schema.fieldsLength(), limit);
    checkLength("schema metadata", schema.customMetadataLength(), limit);
    checkLength("schema features", schema.featuresLength(), limit);
    for (int i = 0; i < schema.fieldsLength(); i++) {
      checkField(schema.fields(i), limit, 0);
    }
  }

  private static void checkField(org.apache.arrow.flatbuf.Field field, int limit, int depth) {
    if (field == null) {
      throw new IllegalArgumentException("missing field in schema");
    }
    if (depth > 64) {
      throw new IllegalArgumentException("schema nested deeper than 64 levels");
    }
    checkLength("field children", field.childrenLength(), limit);
    checkLength("field metadata", field.customMetadataLength(), limit);
    if (field.typeType() == org.apache.arrow.flatbuf.Type.Union) {
      org.apache.arrow.flatbuf.Union union = (org.apache.arrow.flatbuf.Union)
          field.type(new org.apache.arrow.flatbuf.Union());
      if (union != null) {
        checkLength("union type ids", union.typeIdsLength(), limit);
      }
    }
    for (int i = 0; i < field.childrenLength(); i++) {
      checkField(field.children(i), limit, depth + 1);
    }
  }

  private static void checkLength(String what, int length, int limit) {
    if (length < 0 || length > limit) {
      throw new IllegalArgumentException(what + ": " + length + " entries in a " + limit
          + "-byte header");
    }
  }

  private static final int METADATA_VERSIONS =
      org.apache.arrow.vector.types.MetadataVersion.values().length;
  static final byte NONE = 0;
  static final byte SCHEMA = 1;
  static final byte DICTIONARY_BATCH = 2;
  static final byte RECORD_BATCH = 3;
  private static final byte TENSOR = 4;
  private static final int APP_METADATA_TAG = (3 << 3) | 2;
  private static final int BODY_TAG = (1000 << 3) | 2;

  /** The record batch a batch message carries, or null for other messages. */
  private static org.apache.arrow.flatbuf.RecordBatch recordBatchOf(MessageMetadataResult meta) {
    byte type = meta.headerType();
    if (type == RECORD_BATCH) {
      org.apache.arrow.flatbuf.RecordBatch rb = (org.apache.arrow.flatbuf.RecordBatch)
          meta.getMessage().header(new org.apache.arrow.flatbuf.RecordBatch());
      if (rb == null) {
        throw new IllegalArgumentException("record batch message without a record batch");
      }
      return rb;
    }
    if (type == DICTIONARY_BATCH) {
      org.apache.arrow.flatbuf.DictionaryBatch db = (org.apache.arrow.flatbuf.DictionaryBatch)
          meta.getMessage().header(new org.apache.arrow.flatbuf.DictionaryBatch());
      if (db == null || db.data() == null) {
        throw new IllegalArgumentException("dictionary batch message without data");
      }
      // Arrow reads these only after it took its reference to the body: a truncated table
      // must fail here instead.
      db.id();
      db.isDelta();
      return db.data();
    }
    return null;
  }

  /**
   * The conditions under which Arrow Java 19's record batch decoding throws after it already
   * took a reference to the body (which would then never be released).
   */
  private static void checkBatch(org.apache.arrow.flatbuf.RecordBatch rb, long bodySize) {
    if (rb.length() < 0 || rb.length() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("record batch length " + rb.length() + " is out of range");
    }
    for (int i = 0; i < rb.nodesLength(); i++) {
      org.apache.arrow.flatbuf.FieldNode node = rb.nodes(i);
      if (node.length() < 0 || node.length() > Integer.MAX_VALUE
          || node.nullCount() < 0 || node.nullCount() > node.length()) {
        throw new IllegalArgumentException("field node " + i + " has length " + node.length()
            + " and null count " + node.nullCount());
      }
    }
    for (int i = 0; i < rb.buffersLength(); i++) {
      org.apache.arrow.flatbuf.Buffer b = rb.buffers(i);
      if (b.offset() < 0 || b.length() < 0 || b.offset() + b.length() > bodySize
          || b.offset() + b.length() < 0) {
        throw new IllegalArgumentException("buffer " + i + " [offset " + b.offset() + ", length "
            + b.length() + "] lies outside the " + bodySize + "-byte body");
      }
    }
    if (rb.compression() != null) {
      byte codec = rb.compression().codec();
      if (codec != org.apache.arrow.flatbuf.CompressionType.LZ4_FRAME
          && codec != org.apache.arrow.flatbuf.CompressionType.ZSTD) {
        throw new IllegalArgumentException("unknown body compression codec " + codec);
      }
    }
    for (int i = 0; i < rb.variadicBufferCountsLength(); i++) {
      if (rb.variadicBufferCounts(i) < 0) {
        throw new IllegalArgumentException("negative variadic buffer count");
      }
    }
  }

  /**
   * Re-registers Flight's service on {@code builder} with guarded request marshallers for its
   * streaming methods. Relies on gRPC internals (the builder's service map); if they are not
   * there, logs and leaves the service as it was.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static void install(NettyServerBuilder builder, ThreadLocal<ParseNote> notes) {
    try {
      Object impl = field(builder, "serverImplBuilder");
      Object registry = field(impl, "registryBuilder");
      Map<String, ServerServiceDefinition> services =
          (Map<String, ServerServiceDefinition>) field(registry, "services");
      ServerServiceDefinition flight = services.get("arrow.flight.protocol.FlightService");
      if (flight == null) {
        throw new IllegalStateException("Flight service not registered yet");
      }
      ServiceDescriptor old = flight.getServiceDescriptor();
      ServiceDescriptor.Builder desc = ServiceDescriptor.newBuilder(old.getName())
          .setSchemaDescriptor(old.getSchemaDescriptor());
      List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
      for (ServerMethodDefinition<?, ?> m : flight.getMethods()) {
        MethodDescriptor md = m.getMethodDescriptor();
        boolean streamsArrow = !md.getType().clientSendsOneMessage()
            && md.getRequestMarshaller().getClass().getName().contains("ArrowMessage");
        MethodDescriptor replaced = streamsArrow
            ? md.toBuilder(new GuardedMarshaller(md.getRequestMarshaller(), notes),
                md.getResponseMarshaller()).build()
            : md;
        desc.addMethod(replaced);
        methods.add(ServerMethodDefinition.create(replaced, (io.grpc.ServerCallHandler)
            m.getServerCallHandler()));
      }
      ServerServiceDefinition.Builder def = ServerServiceDefinition.builder(desc.build());
      for (ServerMethodDefinition<?, ?> m : methods) {
        def.addMethod(m);
      }
      builder.addService(def.build());
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("cannot guard FlightData decoding ({}); corrupt headers will get UNKNOWN", e.toString());
    }
  }

  private static Object field(Object target, String name) throws ReflectiveOperationException {
    for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(target);
      } catch (NoSuchFieldException e) {
        // keep walking up
      }
    }
    throw new NoSuchFieldException(target.getClass().getName() + "." + name);
  }
}
