package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** Received bytes: large reads are kept as they came, small ones merged. */
class ComposingReadsTest {
  private static ByteBuf read(int bytes, int seed) {
    ByteBuf b = Unpooled.directBuffer(bytes);
    for (int i = 0; i < bytes; i++) {
      b.writeByte(seed + i);
    }
    return b;
  }

  @Test
  void aLargeReadBecomesAComponentWithoutACopy() {
    ByteBuf pending = read(100, 0).retain();  // a DATA frame slice still holds it
    ByteBuf large = read(ComposingReads.MIN_COMPONENT_BYTES, 100);
    long largeAddress = large.memoryAddress();
    ByteBuf out = ComposingReads.cumulate(UnpooledByteBufAllocator.DEFAULT, pending, large);
    CompositeByteBuf c = assertInstanceOf(CompositeByteBuf.class, out);
    assertEquals(100 + ComposingReads.MIN_COMPONENT_BYTES, c.readableBytes());
    assertEquals(largeAddress, c.component(c.numComponents() - 1).memoryAddress());
    assertEquals((byte) 100, c.getByte(100));
    out.release();
    pending.release();
    assertEquals(0, pending.refCnt());
    assertEquals(0, large.refCnt());
  }

  @Test
  void smallReadsAreMergedSoPiecesStayFew() {
    ByteBuf pending = read(100, 0).retain();
    ByteBuf small = read(10, 100);
    ByteBuf out = ComposingReads.cumulate(UnpooledByteBufAllocator.DEFAULT, pending, small);
    assertEquals(false, out instanceof CompositeByteBuf);
    assertEquals(110, out.readableBytes());
    assertEquals((byte) 105, out.getByte(105));
    out.release();
    pending.release();
    assertEquals(0, small.refCnt());
  }
}
