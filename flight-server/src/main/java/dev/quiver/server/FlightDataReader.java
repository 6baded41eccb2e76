package dev.quiver.server;

import com.google.protobuf.CodedInputStream;
import io.grpc.HasByteBuffer;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import org.apache.arrow.flight.impl.Flight;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;

/**
 * Decodes one incoming FlightData into Arrow's (package-private) {@code ArrowMessage}, copying
 * the body once: from gRPC's receive buffers straight into Arrow memory.
 *
 * <p>Arrow Java 19's own decoder reads every body into a fresh heap {@code byte[]} (which the
 * JVM zeroes first) and then copies that array into Arrow memory: two copies and a memset of
 * every byte uploaded. On a DoPut of 241 MB that was a quarter of the server's CPU. This reader
 * walks the same protobuf fields, and when gRPC's stream exposes its buffers
 * ({@link HasByteBuffer}) copies each of them directly into the body's {@link ArrowBuf}.
 *
 * <p>{@code ArrowMessage}'s constructor for received messages is private, so it is reached by
 * reflection once, when the server starts; {@link #forMarshaller} returns null when that fails
 * and the server then keeps Arrow's decoder. Only messages with the four FlightData fields Arrow
 * knows are decoded here; anything else returns null so the caller can rewind and let Arrow's
 * decoder see exactly what it always saw.
 */
final class FlightDataReader {
  private static final int DESCRIPTOR_TAG = (1 << 3) | 2;
  private static final int HEADER_TAG = (2 << 3) | 2;
  private static final int APP_METADATA_TAG = (3 << 3) | 2;
  private static final int BODY_TAG = (1000 << 3) | 2;
  /** Chunk for streams that do not expose their buffers. */
  private static final int COPY_CHUNK = 64 << 10;

  private final BufferAllocator allocator;
  private final MethodHandle newMessage;

  private FlightDataReader(BufferAllocator allocator, MethodHandle newMessage) {
    this.allocator = allocator;
    this.newMessage = newMessage;
  }

  /**
   * A reader that allocates where {@code arrowMarshaller} (Arrow's FlightData marshaller) does,
   * or null when Arrow's internals are not what this class expects.
   */
  static FlightDataReader forMarshaller(Object arrowMarshaller) {
    try {
      Field f = arrowMarshaller.getClass().getDeclaredField("allocator");
      f.setAccessible(true);
      BufferAllocator allocator = (BufferAllocator) f.get(arrowMarshaller);
      Class<?> message = Class.forName("org.apache.arrow.flight.ArrowMessage");
      Constructor<?> c = message.getDeclaredConstructor(
          Flight.FlightDescriptor.class, MessageMetadataResult.class, ArrowBuf.class,
          ArrowBuf.class);
      c.setAccessible(true);
      MethodHandle h = MethodHandles.lookup().unreflectConstructor(c).asType(MethodType.methodType(
          Object.class, Flight.FlightDescriptor.class, MessageMetadataResult.class,
          ArrowBuf.class, ArrowBuf.class));
      return allocator == null ? null : new FlightDataReader(allocator, h);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Decodes the message {@code stream} holds, or returns null, having read part of it, when the
   * message has a field this reader leaves to Arrow. The caller has already checked the header
   * ({@link GuardedMarshaller}); gRPC's message size limit bounds the body.
   */
  Object read(InputStream stream) throws IOException {
    Flight.FlightDescriptor descriptor = null;
    MessageMetadataResult header = null;
    ArrowBuf appMetadata = null;
    ArrowBuf body = null;
    boolean done = false;
    try {
      int first;
      while ((first = stream.read()) != -1) {
        int tag = CodedInputStream.readRawVarint32(first, stream);
        int size = varint(stream);
        if (size < 0) {
          throw new IOException("negative field length " + size);
        }
        switch (tag) {
          case DESCRIPTOR_TAG -> descriptor = Flight.FlightDescriptor.parseFrom(bytes(stream, size));
          case HEADER_TAG -> {
            byte[] bytes = bytes(stream, size);
            header = MessageMetadataResult.create(ByteBuffer.wrap(bytes), size);
          }
          // Like Arrow: a repeated field replaces the earlier one. Each is unset before the copy
          // so that a failed copy does not leave the finally block a closed buffer to close.
          case APP_METADATA_TAG -> {
            if (appMetadata != null) {
              appMetadata.close();
              appMetadata = null;
            }
            appMetadata = copyInto(stream, size);
          }
          case BODY_TAG -> {
            if (body != null) {
              body.close();
              body = null;
            }
            body = copyInto(stream, size);
          }
          default -> {
            return null;
          }
        }
      }
      if (header != null) {
        byte type = header.headerType();
        if (type == GuardedMarshaller.SCHEMA && body != null && body.capacity() == 0) {
          body.close();
          body = null;
        } else if ((type == GuardedMarshaller.RECORD_BATCH
            || type == GuardedMarshaller.DICTIONARY_BATCH) && body == null) {
          body = allocator.getEmpty();
        }
      }
      Object message = newMessage.invokeExact(descriptor, header, appMetadata, body);
      done = true;
      return message;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException("cannot build Arrow's FlightData message", e);
    } finally {
      if (!done) {
        if (appMetadata != null) {
          appMetadata.close();
        }
        if (body != null) {
          body.close();
        }
      }
    }
  }

  private static int varint(InputStream stream) throws IOException {
    int first = stream.read();
    if (first == -1) {
      throw new EOFException("FlightData ends inside a field header");
    }
    return CodedInputStream.readRawVarint32(first, stream);
  }

  private static byte[] bytes(InputStream stream, int size) throws IOException {
    byte[] out = stream.readNBytes(size);
    if (out.length != size) {
      throw new EOFException("FlightData field of " + size + " bytes ends after " + out.length);
    }
    return out;
  }

  /** A new buffer of {@code size} bytes read from {@code stream}; one copy when gRPC allows. */
  private ArrowBuf copyInto(InputStream stream, int size) throws IOException {
    ArrowBuf buf = allocator.buffer(size);
    try {
      long at = 0;
      if (stream instanceof HasByteBuffer direct && direct.byteBufferSupported()) {
        while (at < size) {
          ByteBuffer next = direct.getByteBuffer();
          if (next == null || !next.hasRemaining()) {
            break;
          }
          int n = (int) Math.min(next.remaining(), size - at);
          // Not through a ByteBuffer view of the ArrowBuf: each costs a reflective constructor
          // call, and an upload arrives in thousands of socket-read pieces.
          ByteBuffer from = next.duplicate();
          from.limit(from.position() + n);
          buf.setBytes(at, from);
          long skipped = stream.skip(n);
          if (skipped != n) {
            throw new IOException("gRPC skipped " + skipped + " of " + n + " bytes");
          }
          at += n;
        }
      }
      if (at < size) {
        byte[] chunk = new byte[(int) Math.min(COPY_CHUNK, size - at)];
        while (at < size) {
          int n = stream.read(chunk, 0, (int) Math.min(chunk.length, size - at));
          if (n < 0) {
            throw new EOFException("FlightData body of " + size + " bytes ends after " + at);
          }
          buf.setBytes(at, chunk, 0, n);
          at += n;
        }
      }
      buf.writerIndex(size);
      return buf;
    } catch (IOException | RuntimeException e) {
      buf.close();
      throw e;
    }
  }
}
