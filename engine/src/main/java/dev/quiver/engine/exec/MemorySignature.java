package dev.quiver.engine.exec;

import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;

/**
 * What memory a vector holds right now: its value count and each buffer's address and length.
 * Readers reload a replaced dictionary into the same vector object, so the object alone does not
 * tell whether the dictionary changed; its buffers do. Whoever compares signatures must keep the
 * earlier buffers referenced, or a new buffer could reuse a freed address.
 */
public final class MemorySignature {
  private MemorySignature() {}

  public static long[] of(FieldVector v) {
    List<ArrowBuf> buffers = v.getFieldBuffers();
    long[] s = new long[buffers.size() * 2 + 1];
    s[0] = v.getValueCount();
    for (int i = 0; i < buffers.size(); i++) {
      ArrowBuf b = buffers.get(i);
      s[2 * i + 1] = b == null ? 0 : b.memoryAddress();
      s[2 * i + 2] = b == null ? 0 : b.writerIndex();
    }
    return s;
  }
}
