package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The socket-side half of zero-copy writes: Arrow memory is written in place, not copied. */
class DirectWriteServerChannelTest {
  @Test
  void mixedCompositeBecomesDirectOverTheSameMemory() {
    ByteBuffer arrow = ByteBuffer.allocateDirect(64 * 1024);
    for (int i = 0; i < arrow.capacity(); i++) {
      arrow.put(i, (byte) i);
    }
    ByteBuf header = Unpooled.buffer(16).writeBytes(new byte[] {1, 2, 3, 4, 5});
    ByteBuf body = Unpooled.wrappedBuffer(arrow);
    CompositeByteBuf message = Unpooled.compositeBuffer();
    message.addComponents(true, header, body);
    ByteBuf frame = message.retainedSlice(2, 40_000);  // like an HTTP/2 DATA frame slice
    message.release();
    assertFalse(frame.isDirect(), "the heap header makes Netty copy the whole frame");

    ByteBuf out = DirectWriteServerChannel.DirectWrites.directView(
        UnpooledByteBufAllocator.DEFAULT, frame);
    assertTrue(out.isDirect());
    assertEquals(40_000, out.readableBytes());
    CompositeByteBuf composite = (CompositeByteBuf) out;
    // The Arrow part is the original memory: same address, no copy.
    assertEquals(body.memoryAddress(), composite.component(1).memoryAddress());
    assertEquals(3, composite.getByte(0));
    assertEquals((byte) 1000, composite.getByte(3 + 1000));
    assertEquals(1, frame.refCnt());
    out.release();
    assertEquals(0, frame.refCnt(), "releasing the direct view releases the source");
  }
}
