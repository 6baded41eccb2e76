package dev.quiver.server;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.OwnershipTransferResult;
import org.apache.arrow.memory.ReferenceManager;

/**
 * A view of a batch buffer handed to gRPC, with its own reference count, so that the call learns
 * when gRPC has let go of it.
 *
 * <p>With zero-copy writes, Flight ties the Arrow buffers of an outgoing message to a Netty
 * buffer that Netty releases whenever it is done: after writing it, or when it drops it for a
 * cancelled stream, which can be after gRPC told the call it was cancelled. Nothing in gRPC or
 * Flight reports that moment, and the call must not close the allocators those buffers belong
 * to before it (a release into a closed allocator fails half-way and strands memory). The view
 * holds one reference to the real buffer, releases it when its own count reaches zero, and then
 * runs {@code onReleased}.
 */
final class OutboundBuf implements ReferenceManager {
  private final ArrowBuf source;
  private final Runnable onReleased;
  private final AtomicInteger refs = new AtomicInteger(1);

  private OutboundBuf(ArrowBuf source, Runnable onReleased) {
    this.source = source;
    this.onReleased = onReleased;
  }

  /**
   * A view of {@code source}'s readable bytes, with a reference count of one. Takes over one
   * reference to {@code source}: it is released, and {@code onReleased} runs, when the view's
   * count reaches zero.
   */
  static ArrowBuf view(ArrowBuf source, Runnable onReleased) {
    long length = source.readableBytes();
    ArrowBuf view = new ArrowBuf(new OutboundBuf(source, onReleased), null, length,
        source.memoryAddress() + source.readerIndex());
    view.writerIndex(length);
    return view;
  }

  @Override
  public int getRefCount() {
    return refs.get();
  }

  @Override
  public boolean release() {
    return release(1);
  }

  @Override
  public boolean release(int decrement) {
    if (decrement < 1) {
      throw new IllegalArgumentException("release by " + decrement);
    }
    int left = refs.addAndGet(-decrement);
    if (left < 0) {
      throw new IllegalStateException("outbound buffer released more often than retained");
    }
    if (left > 0) {
      return false;
    }
    try {
      source.getReferenceManager().release();
    } finally {
      onReleased.run();
    }
    return true;
  }

  @Override
  public void retain() {
    retain(1);
  }

  @Override
  public void retain(int increment) {
    if (increment < 1) {
      throw new IllegalArgumentException("retain by " + increment);
    }
    // Reviving a view whose source was already released would hand out freed memory.
    if (refs.getAndUpdate(n -> n == 0 ? 0 : n + increment) == 0) {
      throw new IllegalStateException("outbound buffer retained after its release");
    }
  }

  @Override
  public ArrowBuf retain(ArrowBuf srcBuffer, BufferAllocator targetAllocator) {
    throw new UnsupportedOperationException("an outbound buffer belongs to no allocator");
  }

  @Override
  public ArrowBuf deriveBuffer(ArrowBuf sourceBuffer, long index, long length) {
    return new ArrowBuf(this, null, length, sourceBuffer.memoryAddress() + index);
  }

  @Override
  public OwnershipTransferResult transferOwnership(ArrowBuf sourceBuffer,
      BufferAllocator targetAllocator) {
    throw new UnsupportedOperationException("an outbound buffer belongs to no allocator");
  }

  @Override
  public BufferAllocator getAllocator() {
    return source.getReferenceManager().getAllocator();
  }

  @Override
  public long getSize() {
    return source.readableBytes();
  }

  /** The memory stays accounted to the buffer this views. */
  @Override
  public long getAccountedSize() {
    return 0;
  }
}
