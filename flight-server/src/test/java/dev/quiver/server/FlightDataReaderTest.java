package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.MethodDescriptor;
import io.grpc.internal.CompositeReadableBuffer;
import io.grpc.internal.ReadableBuffers;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.IpcOption;
import org.junit.jupiter.api.Test;

/**
 * The one-copy FlightData decoder against Arrow's own: same header, same body bytes, whether
 * gRPC hands the message over as several direct buffers or as a plain stream.
 */
class FlightDataReaderTest {
  private static final Class<?> MESSAGE = message();

  private static Class<?> message() {
    try {
      return Class.forName("org.apache.arrow.flight.ArrowMessage");
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static MethodDescriptor.Marshaller<Object> arrowMarshaller(BufferAllocator a)
      throws Exception {
    Method m = MESSAGE.getDeclaredMethod("createMarshaller", BufferAllocator.class);
    m.setAccessible(true);
    return (MethodDescriptor.Marshaller<Object>) m.invoke(null, a);
  }

  private static Object call(Object message, String method) throws Exception {
    Method m = MESSAGE.getDeclaredMethod(method);
    m.setAccessible(true);
    return m.invoke(message);
  }

  /** The message's one body buffer (Arrow keeps a received body as its only buffer). */
  private static ArrowBuf body(Object message) throws Exception {
    Iterable<?> bufs = (Iterable<?>) call(message, "getBufs");
    java.util.Iterator<?> it = bufs.iterator();
    ArrowBuf only = (ArrowBuf) it.next();
    assertEquals(false, it.hasNext());
    return only;
  }

  private static byte[] bytes(ArrowBuf b) {
    byte[] out = new byte[(int) b.readableBytes()];
    b.getBytes(0, out);
    return out;
  }

  /** FlightData bytes of one record batch (ids and short strings), encoded by Arrow. */
  private static byte[] encodedBatch(BufferAllocator a, int rows) throws Exception {
    try (BigIntVector ids = new BigIntVector("id", a);
         VarCharVector tags = new VarCharVector("tag", a)) {
      ids.allocateNew(rows);
      tags.allocateNew();
      for (int i = 0; i < rows; i++) {
        ids.set(i, i * 7L);
        tags.setSafe(i, ("w" + i % 97).getBytes());
      }
      ids.setValueCount(rows);
      tags.setValueCount(rows);
      try (VectorSchemaRoot root = new VectorSchemaRoot(List.of(ids.getField(), tags.getField()),
               List.of(ids, tags), rows);
           ArrowRecordBatch batch = new VectorUnloader(root).getRecordBatch()) {
        var make = MESSAGE.getConstructor(ArrowRecordBatch.class, ArrowBuf.class, boolean.class,
            IpcOption.class);
        make.setAccessible(true);
        Object msg = make.newInstance(batch, null, false, IpcOption.DEFAULT);
        try (InputStream in = arrowMarshaller(a).stream(msg)) {
          return in.readAllBytes();
        }
      }
    }
  }

  /** gRPC's stream over the message split into direct buffers of {@code chunk} bytes. */
  private static InputStream grpcStream(byte[] wire, int chunk) {
    CompositeReadableBuffer parts = new CompositeReadableBuffer();
    for (int at = 0; at < wire.length; at += chunk) {
      int n = Math.min(chunk, wire.length - at);
      ByteBuffer direct = ByteBuffer.allocateDirect(n);
      direct.put(wire, at, n).flip();
      parts.addBuffer(ReadableBuffers.wrap(direct));
    }
    return ReadableBuffers.openStream(parts, true);
  }

  @Test
  void decodesWhatArrowDecodesFromSplitAndPlainStreams() throws Exception {
    try (BufferAllocator a = new RootAllocator(64 << 20)) {
      byte[] wire = encodedBatch(a, 20_000);
      FlightDataReader reader = FlightDataReader.forMarshaller(arrowMarshaller(a));
      assertNotNull(reader, "Arrow's decoder is the one the reader knows");
      Object expected = arrowMarshaller(a).parse(new ByteArrayInputStream(wire));
      byte[] body = bytes(body(expected));
      for (InputStream in : List.of(grpcStream(wire, 7_001), grpcStream(wire, wire.length),
          new ByteArrayInputStream(wire))) {
        Object got = reader.read(in);
        assertNotNull(got);
        assertEquals(call(expected, "getMessageType"), call(got, "getMessageType"));
        assertArrayEquals(body, bytes(body(got)));
        ((AutoCloseable) got).close();
      }
      ((AutoCloseable) expected).close();
      assertEquals(0, a.getAllocatedMemory());
    }
  }

  @Test
  void aTruncatedBodyFailsAndFreesWhatItTook() throws Exception {
    try (BufferAllocator a = new RootAllocator(64 << 20)) {
      byte[] wire = encodedBatch(a, 1_000);
      FlightDataReader reader = FlightDataReader.forMarshaller(arrowMarshaller(a));
      byte[] cut = java.util.Arrays.copyOf(wire, wire.length - 100);
      assertThrows(java.io.EOFException.class, () -> reader.read(grpcStream(cut, 4096)));
      assertEquals(0, a.getAllocatedMemory());
    }
  }

  @Test
  void anUnknownFieldIsLeftToArrow() throws Exception {
    try (BufferAllocator a = new RootAllocator(1 << 20)) {
      FlightDataReader reader = FlightDataReader.forMarshaller(arrowMarshaller(a));
      byte[] wire = {(byte) ((9 << 3) | 2), 1, 0};  // field 9, one byte
      assertNull(reader.read(new ByteArrayInputStream(wire)));
      assertEquals(0, a.getAllocatedMemory());
    }
  }
}
