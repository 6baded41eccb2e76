package dev.quiver.engine.expr;

/**
 * The per-chunk implementation of a bound scalar function: one call per chunk of rows, never per
 * row, so an implementation loops over the whole arrays itself.
 */
@FunctionalInterface
public interface VectorKernel {
  /**
   * @param args argument chunks, each {@code n} rows
   * @return the result chunk of {@code n} rows, of the bound result type
   */
  Vec apply(Vec[] args, int n);
}
