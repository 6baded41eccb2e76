package dev.quiver.engine.expr;

/**
 * Rows of bytes (strings, binaries) as min / max read them: copied into a chunk ({@link BytesVec})
 * or where they lie in an Arrow column ({@code exec.StringColumnKeys}).
 */
public interface ByteRows {
  boolean isNull(int i);

  /** Row i's bytes, as a new array. */
  byte[] bytes(int i);

  /** Row i's bytes against b, compared as unsigned bytes (as {@link java.util.Arrays#compareUnsigned}). */
  int compareUnsigned(int i, byte[] b);
}
