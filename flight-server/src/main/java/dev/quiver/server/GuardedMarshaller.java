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
 * {@code INVALID_ARGUMENT}. The stream passed on is gRPC's own, so zero-copy reads still apply.
 */
final class GuardedMarshaller<T> implements MethodDescriptor.Marshaller<T> {
  private static final Logger LOG = LoggerFactory.getLogger(GuardedMarshaller.class);
  private static final int DESCRIPTOR_TAG = (1 << 3) | 2;
  private static final int HEADER_TAG = (2 << 3) | 2;
  /** Arrow's HeaderType: NONE, SCHEMA, DICTIONARY_BATCH, RECORD_BATCH, TENSOR. */
  private static final int HEADER_TYPES = 5;

  private final MethodDescriptor.Marshaller<T> delegate;
  /**
   * Hands the reason for a null parse result to {@link DecodeFailureInterceptor}: gRPC parses a
   * message and delivers it to the call listener on the same thread, one message at a time.
   */
  private final ThreadLocal<RuntimeException> failure;

  private GuardedMarshaller(MethodDescriptor.Marshaller<T> delegate,
      ThreadLocal<RuntimeException> failure) {
    this.delegate = delegate;
    this.failure = failure;
  }

  @Override
  public InputStream stream(T value) {
    return delegate.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    failure.remove();
    if (stream.markSupported()) {
      stream.mark(Integer.MAX_VALUE);
      try {
        check(stream);
      } catch (IOException | RuntimeException e) {
        failure.set(new IllegalArgumentException("invalid FlightData: " + describe(e), e));
        return null;
      } finally {
        try {
          stream.reset();
        } catch (IOException e) {
          failure.set(new IllegalStateException("cannot rewind FlightData", e));
          return null;
        }
      }
    }
    try {
      return delegate.parse(stream);
    } catch (RuntimeException e) {
      failure.set(e.getCause() instanceof RuntimeException r ? r : e);
      return null;
    }
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /** Reads the leading descriptor and header fields; stops at app metadata or the body. */
  private static void check(InputStream stream) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(stream);
    in.setSizeLimit(Integer.MAX_VALUE);
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      if (tag == DESCRIPTOR_TAG) {
        Flight.FlightDescriptor.parseFrom(in.readBytes());
      } else if (tag == HEADER_TAG) {
        byte[] header = in.readByteArray();
        MessageMetadataResult meta =
            MessageMetadataResult.create(ByteBuffer.wrap(header), header.length);
        short version = meta.getMessage().version();
        // Arrow Java reads the body into memory before it maps the version, and leaks the body
        // when the version is unknown.
        if (version < 0 || version >= METADATA_VERSIONS) {
          throw new IllegalArgumentException("IPC metadata version " + version + " is unknown");
        }
        byte type = meta.headerType();
        if (type < 0 || type >= HEADER_TYPES) {
          throw new IllegalArgumentException("IPC message header type " + type + " is unknown");
        }
        org.apache.arrow.flatbuf.RecordBatch batch = recordBatchOf(meta);
        if (batch == null) {
          return;
        }
        long bodySize = bodySize(in);
        checkBatch(batch, bodySize);
        return;
      } else {
        return;
      }
    }
  }

  private static final int METADATA_VERSIONS =
      org.apache.arrow.vector.types.MetadataVersion.values().length;
  private static final byte DICTIONARY_BATCH = 2;
  private static final byte RECORD_BATCH = 3;
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
      return db.data();
    }
    return null;
  }

  /** Size of the body field that follows the header (0 if absent). */
  private static long bodySize(CodedInputStream in) throws IOException {
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      if (tag == BODY_TAG) {
        return Integer.toUnsignedLong(in.readRawVarint32());
      }
      if (tag == APP_METADATA_TAG) {
        in.skipRawBytes(in.readRawVarint32());
      } else {
        return 0;
      }
    }
    return 0;
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
  static void install(NettyServerBuilder builder, ThreadLocal<RuntimeException> failure) {
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
            ? md.toBuilder(new GuardedMarshaller(md.getRequestMarshaller(), failure),
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
