package dev.quiver.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import java.util.Map;

/**
 * Makes gRPC's HTTP/2 decoder keep large socket reads as they are instead of copying them.
 *
 * <p>Netty's HTTP/2 decoder accumulates socket reads until a whole frame is there. Its default
 * "merge" accumulation copies a read into a new buffer whenever the previous one is still
 * referenced, and gRPC holds a reference to every DATA frame until its message is complete, so
 * on an upload nearly every received byte was copied once more (into freshly allocated, zeroed
 * memory) before Flight even looked at it. gRPC's client side composes large reads for the same
 * reason; its server side does not. This handler sits first in each accepted connection's
 * pipeline and, once gRPC's HTTP/2 handler is there, gives it {@link #CUMULATOR}, then leaves.
 */
final class ComposingReads extends ChannelInboundHandlerAdapter {
  /**
   * Reads of at least this many bytes become components of the accumulation; smaller ones are
   * copied, so that a peer sending tiny segments cannot grow a composite of countless pieces.
   */
  static final int MIN_COMPONENT_BYTES = 4096;

  static final ByteToMessageDecoder.Cumulator CUMULATOR = (alloc, cumulation, in) ->
      in.readableBytes() >= MIN_COMPONENT_BYTES && cumulation.isReadable()
          ? ByteToMessageDecoder.COMPOSITE_CUMULATOR.cumulate(alloc, cumulation, in)
          : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(alloc, cumulation, in);

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    for (Map.Entry<String, io.netty.channel.ChannelHandler> h : ctx.pipeline()) {
      if (h.getValue() instanceof Http2ConnectionHandler http2) {
        http2.setCumulator(CUMULATOR);
        ctx.pipeline().remove(this);
        break;
      }
    }
    ctx.fireChannelRead(msg);
  }

  /** Visible for tests: how {@link #CUMULATOR} treats a read of {@code bytes}. */
  static ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
    return CUMULATOR.cumulate(alloc, cumulation, in);
  }
}
