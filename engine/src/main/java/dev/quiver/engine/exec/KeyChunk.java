package dev.quiver.engine.exec;

/**
 * A chunk of rows' keys as hash tables see them: one hash per row and an equality test against
 * a key stored in {@link RowKeys}' encoding. Either the encoded keys themselves ({@link RowKeys})
 * or one string column's bytes read in place ({@link StringColumnKeys}), which hash and compare
 * the same, so a table built from one takes chunks of the other.
 */
public interface KeyChunk {
  /** Per row, its key's hash: valid for the rows {@link #hash} was called on. */
  long[] hashes();

  /**
   * Makes the hashes of rows {@code [from, to)} valid in {@link #hashes}. Tables call it a block
   * at a time just before probing the block, while the block's keys are in cache.
   */
  void hash(int from, int to);

  /** Per row: true if a key column is null; null when no row has one. */
  boolean[] anyNull();

  /** Whether row i's key equals the encoded key of {@code len} bytes at {@code off} in d. */
  boolean same(int i, byte[] d, int off, int len);
}
