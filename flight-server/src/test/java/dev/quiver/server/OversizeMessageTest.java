package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A message over {@code --max-message-size} fails its call and nothing else.
 *
 * <p>The client here speaks HTTP/2 over a plain socket so that it can do what a slow real client
 * sometimes does: keep its half of the refused stream open (no reset, no end of stream) while the
 * server finishes the call. gRPC-Java answers the oversize message by closing the stream from the
 * transport; when the handler's own close arrived after that, gRPC wrote a second set of trailers
 * on the half-closed stream, Netty refused it as an internal error, and the whole connection got
 * a GOAWAY: every other call on it failed with UNAVAILABLE.
 */
@ExtendWith(LeakCheck.class)
class OversizeMessageTest {
  private static final int LIMIT = 1 << 20;
  private static final int DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4,
      PING = 0x6, GOAWAY = 0x7;
  private static final int END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4;

  @Test
  void anOversizeUploadFailsItsStreamAndTheConnectionKeepsServing(EngineMemory memory)
      throws Exception {
    try (Catalog catalog = new Catalog(memory, memory.limitBytes());
         QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults())) {
      QuiverServer server = QuiverServer.start(
          ServerConfig.loopback(0).withMaxMessageBytes(LIMIT), memory, catalog,
          new EnginePlanExecutor(engine));
      try (RawConnection conn = new RawConnection(server.port())) {
        // Stream 1: a DoPut whose first gRPC message declares 2 MiB; only its start is sent.
        conn.request(1, "DoPut");
        ByteBuf put = Unpooled.buffer();
        put.writeByte(0).writeInt(2 * LIMIT).writeZero(64);
        conn.frame(DATA, 0, 1, put);
        Http2Headers refusal = conn.trailers(1, Duration.ofSeconds(20));
        assertEquals("8", String.valueOf(refusal.get("grpc-status")), refusal::toString);
        // The handler closes its call after the transport did: give it time to do so.
        conn.idle(Duration.ofSeconds(2));

        // Stream 3, same connection: a DoAction still gets its answer.
        conn.request(3, "DoAction");
        byte[] action = "\n\u0006health".getBytes(StandardCharsets.ISO_8859_1);
        ByteBuf call = Unpooled.buffer();
        call.writeByte(0).writeInt(action.length).writeBytes(action);
        conn.frame(DATA, END_STREAM, 3, call);
        Http2Headers done = conn.trailers(3, Duration.ofSeconds(20));
        assertEquals("0", String.valueOf(done.get("grpc-status")), done::toString);
        assertNotNull(conn.lastData(3), "the action's result");
      } finally {
        server.drainAndClose(Duration.ofSeconds(5));
      }
    }
  }

  /** Just enough HTTP/2 (prior knowledge, cleartext) to run gRPC calls frame by frame. */
  private static final class RawConnection implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;
    private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
    private final java.util.Map<Integer, ByteArrayOutputStream> data = new java.util.HashMap<>();
    private final java.util.Map<Integer, Http2Headers> ended = new java.util.HashMap<>();
    private final ByteArrayOutputStream headerBlock = new ByteArrayOutputStream();
    /** END_STREAM rides on the HEADERS frame, END_HEADERS on the last CONTINUATION. */
    private boolean blockEndsStream;

    RawConnection(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      out = socket.getOutputStream();
      in = new DataInputStream(socket.getInputStream());
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(SETTINGS, 0, 0, Unpooled.EMPTY_BUFFER);
    }

    void request(int stream, String method) throws Exception {
      Http2Headers h = new DefaultHttp2Headers()
          .method("POST").scheme("http").authority("127.0.0.1")
          .path("/arrow.flight.protocol.FlightService/" + method)
          .add("content-type", "application/grpc").add("te", "trailers");
      ByteBuf block = Unpooled.buffer();
      encoder.encodeHeaders(stream, h, block);
      frame(HEADERS, END_HEADERS, stream, block);
    }

    void frame(int type, int flags, int stream, ByteBuf payload) throws IOException {
      byte[] head = new byte[9];
      int n = payload.readableBytes();
      head[0] = (byte) (n >>> 16);
      head[1] = (byte) (n >>> 8);
      head[2] = (byte) n;
      head[3] = (byte) type;
      head[4] = (byte) flags;
      head[5] = (byte) (stream >>> 24);
      head[6] = (byte) (stream >>> 16);
      head[7] = (byte) (stream >>> 8);
      head[8] = (byte) stream;
      byte[] body = new byte[n];
      payload.readBytes(body);
      out.write(head);
      out.write(body);
      out.flush();
    }

    /** Reads frames until {@code stream} ends with trailers; fails on a GOAWAY or a reset. */
    Http2Headers trailers(int stream, Duration timeout) throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!ended.containsKey(stream)) {
        if (!readFrame(deadline)) {
          fail("no trailers on stream " + stream + " within " + timeout);
        }
      }
      return ended.get(stream);
    }

    /** Reads (and answers) whatever the server sends for {@code period}. */
    void idle(Duration period) throws Exception {
      long deadline = System.nanoTime() + period.toNanos();
      while (readFrame(deadline)) {
        // keep reading: a GOAWAY fails the test inside readFrame
      }
    }

    byte[] lastData(int stream) {
      ByteArrayOutputStream b = data.get(stream);
      return b == null ? null : b.toByteArray();
    }

    /** One frame, or false at the deadline. */
    private boolean readFrame(long deadline) throws Exception {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        return false;
      }
      socket.setSoTimeout((int) left);
      byte[] head = new byte[9];
      try {
        in.readFully(head);
      } catch (SocketTimeoutException e) {
        return false;
      }
      int length = ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
      int type = head[3] & 0xff;
      int flags = head[4] & 0xff;
      int stream = ((head[5] & 0x7f) << 24) | ((head[6] & 0xff) << 16) | ((head[7] & 0xff) << 8)
          | (head[8] & 0xff);
      byte[] body = new byte[length];
      socket.setSoTimeout(10_000);
      in.readFully(body);
      switch (type) {
        case SETTINGS, PING -> {
          if ((flags & ACK) == 0) {
            frame(type, ACK, 0,
                type == PING ? Unpooled.wrappedBuffer(body) : Unpooled.EMPTY_BUFFER);
          }
        }
        case GOAWAY -> fail("the server closed the connection: GOAWAY error "
            + ((body[4] & 0xff) << 24 | (body[5] & 0xff) << 16 | (body[6] & 0xff) << 8
            | (body[7] & 0xff)) + ", "
            + new String(body, 8, body.length - 8, StandardCharsets.UTF_8));
        case RST_STREAM -> {
          if (!ended.containsKey(stream)) {
            fail("stream " + stream + " was reset before its status arrived");
          }
        }
        case DATA -> data.computeIfAbsent(stream, s -> new ByteArrayOutputStream())
            .write(body);
        case HEADERS, 0x9 -> {
          if (type == HEADERS) {
            blockEndsStream = (flags & END_STREAM) != 0;
          }
          headerBlock.write(body);
          if ((flags & END_HEADERS) != 0) {
            Http2Headers h = decoder.decodeHeaders(stream,
                Unpooled.wrappedBuffer(headerBlock.toByteArray()));
            headerBlock.reset();
            if (blockEndsStream) {
              ended.put(stream, h);
            }
          }
        }
        default -> {
          // WINDOW_UPDATE and the rest need no answer here.
        }
      }
      return true;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
