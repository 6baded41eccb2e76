package dev.quiver.engine.bridge;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.jni.PrivateData;
import org.apache.arrow.memory.ArrowBuf;

/**
 * What one exported ArrowArray keeps alive on the Java side: a reference on each exported buffer,
 * the small pointer tables the C struct points into, and its children and dictionary.
 *
 * <p>The consumer's call to the struct's {@code release} callback reaches {@link #close()}
 * through Arrow's JNI glue, on whatever thread the consumer drops its last reference; closing
 * only gives references back, so it is safe whether or not the Java producer is still alive.
 */
final class ExportedArray implements PrivateData {
  final List<ArrowBuf> buffers = new ArrayList<>(3);
  ArrowBuf bufferPointers;
  ArrowBuf childPointers;
  final List<ArrowArray> children = new ArrayList<>(0);
  ArrowArray dictionary;
  private boolean closed;

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (ArrowBuf b : buffers) {
      if (b != null) {
        b.close();
      }
    }
    buffers.clear();
    if (bufferPointers != null) {
      bufferPointers.close();
    }
    if (childPointers != null) {
      childPointers.close();
    }
    // The children's own release callbacks were invoked by the JNI glue before this runs (or,
    // on a failed export, never installed); only their struct memory is ours to free.
    for (ArrowArray child : children) {
      child.close();
    }
    children.clear();
    if (dictionary != null) {
      dictionary.close();
    }
  }
}
