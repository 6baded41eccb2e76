package dev.quiver.engine.udf;

/**
 * A scalar function over whole vectors, callable in plans ({@code qv.call("score", col)}).
 *
 * <p>Its evaluation contract is bound to the engine's function registry (see
 * docs/java-functions.md).
 */
public interface ScalarUdf extends QuiverUdf {}
