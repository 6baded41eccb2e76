package dev.quiver.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The server socket channel Quiver gives gRPC, so that Arrow buffers reach the socket without a
 * copy.
 *
 * <p>Arrow Flight's zero-copy write hands gRPC a composite of a small heap buffer (the protobuf
 * header) and direct buffers wrapping Arrow memory. Because one component lives on the heap the
 * composite is not "direct", and Netty's NIO transport copies every such message (each HTTP/2
 * DATA frame slice) into a pooled direct buffer before writing it: a full copy of every batch.
 * Each accepted connection here gets {@link DirectWrites} as its outermost outbound handler; it
 * rebuilds such messages as all-direct composites, copying only the small heap parts, so the
 * socket writes (gathering) straight from Arrow's buffers. On the way in, each connection also
 * gets {@link ComposingReads}, which stops the HTTP/2 decoder from copying large socket reads.
 */
public final class DirectWriteServerChannel extends NioServerSocketChannel {
  @Override
  protected int doReadMessages(List<Object> accepted) throws Exception {
    int before = accepted.size();
    int n = super.doReadMessages(accepted);
    for (int i = before; i < accepted.size(); i++) {
      if (accepted.get(i) instanceof Channel child) {
        child.pipeline().addFirst("quiver-direct-writes", new DirectWrites());
        child.pipeline().addFirst("quiver-composing-reads", new ComposingReads());
      }
    }
    return n;
  }

  /** Rewrites non-direct outbound buffers as direct composites over the same memory. */
  static final class DirectWrites extends ChannelOutboundHandlerAdapter {
    /** Below this a copy is cheaper than a composite. */
    static final int MIN_BYTES = 4096;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof ByteBuf buf && !buf.isDirect() && buf.readableBytes() >= MIN_BYTES) {
        ctx.write(directView(ctx.alloc(), buf), promise);
      } else {
        ctx.write(msg, promise);
      }
    }

    /** Takes over {@code buf}'s reference: it is released when the returned buffer is. */
    static ByteBuf directView(ByteBufAllocator alloc, ByteBuf buf) {
      ByteBuffer[] parts = buf.nioBuffers();
      SourceReleasingComposite out = new SourceReleasingComposite(alloc, parts.length, buf);
      for (ByteBuffer part : parts) {
        if (!part.hasRemaining()) {
          continue;
        }
        ByteBuf component;
        if (part.isDirect()) {
          component = Unpooled.wrappedBuffer(part);
        } else {
          component = alloc.directBuffer(part.remaining());
          component.writeBytes(part.duplicate());
        }
        out.addComponent(true, component);
      }
      return out;
    }
  }

  /** A composite that keeps the buffer it views alive and releases it when freed. */
  static final class SourceReleasingComposite extends CompositeByteBuf {
    private final ByteBuf source;

    SourceReleasingComposite(ByteBufAllocator alloc, int components, ByteBuf source) {
      super(alloc, true, Math.max(2, components));
      this.source = source;
    }

    @Override
    protected void deallocate() {
      try {
        super.deallocate();
      } finally {
        source.release();
      }
    }
  }
}
