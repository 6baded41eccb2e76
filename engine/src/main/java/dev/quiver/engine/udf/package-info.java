/**
 * User code called from Python like a native extension: {@link dev.quiver.engine.udf.ScalarUdf}
 * (scalar functions in plans), {@link dev.quiver.engine.udf.BatchUdf} (operators over a stream of
 * record batches) and {@link dev.quiver.engine.udf.ObjectUdf} (stateful objects whose {@link
 * dev.quiver.engine.udf.UdfMethod} methods take and return Arrow data). Register classes with
 * {@link dev.quiver.engine.udf.Udf} plus {@code META-INF/services/dev.quiver.engine.udf.QuiverUdf};
 * {@link dev.quiver.engine.udf.UdfCatalog} finds them, {@link dev.quiver.engine.udf.UdfService}
 * serves them to remote callers.
 */
package dev.quiver.engine.udf;
