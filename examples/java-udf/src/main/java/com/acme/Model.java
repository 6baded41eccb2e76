package com.acme;

import dev.quiver.engine.udf.ObjectUdf;
import dev.quiver.engine.udf.Udf;
import dev.quiver.engine.udf.UdfArgs;
import dev.quiver.engine.udf.UdfException;
import dev.quiver.engine.udf.UdfMethod;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A linear model loaded once from a file and applied to many tables:
 * {@code model = eng.new("com.acme.Model", path="model.txt")}, then
 * {@code model.predict(table)} returns a {@code prediction} column.
 *
 * <p>File format (text): line 1 the comma-separated feature column names, line 2 their weights,
 * line 3 the intercept.
 */
@Udf(name = "linear_model", description = "linear model from a text file")
public final class Model implements ObjectUdf {
  private String[] features;
  private double[] weights;
  private double intercept;
  private long rowsScored;

  @Override
  public void open(UdfArgs args) throws IOException {
    Path path = Path.of(args.string("path"));
    if (!Files.isRegularFile(path)) {
      throw new UdfException("model file not found: " + path);
    }
    List<String> lines = Files.readAllLines(path, StandardCharsets.UTF_8);
    if (lines.size() < 3) {
      throw new UdfException(path + ": expected 3 lines (features, weights, intercept)");
    }
    features = lines.get(0).strip().split("\\s*,\\s*");
    String[] w = lines.get(1).strip().split("\\s*,\\s*");
    if (w.length != features.length) {
      throw new UdfException(path + ": " + features.length + " features but " + w.length
          + " weights");
    }
    weights = new double[w.length];
    for (int i = 0; i < w.length; i++) {
      weights[i] = Double.parseDouble(w[i]);
    }
    intercept = Double.parseDouble(lines.get(2).strip());
  }

  /** One {@code prediction} per input row; null where any feature is null. */
  @UdfMethod
  public VectorSchemaRoot predict(VectorSchemaRoot batch, UdfArgs args,
      BufferAllocator allocator) {
    int n = batch.getRowCount();
    Float8Vector[] x = new Float8Vector[features.length];
    for (int j = 0; j < features.length; j++) {
      FieldVector v = batch.getVector(features[j]);
      if (v == null) {
        throw new UdfException("predict: the model needs column '" + features[j]
            + "', the input has " + batch.getSchema());
      }
      if (!(v instanceof Float8Vector f)) {
        throw new UdfException("predict: column '" + features[j] + "' must be float64, got "
            + v.getField().getType());
      }
      x[j] = f;
    }
    Schema schema = new Schema(List.of(Field.nullable("prediction",
        new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    VectorSchemaRoot out = VectorSchemaRoot.create(schema, allocator);
    Float8Vector y = (Float8Vector) out.getVector(0);
    y.allocateNew(n);
    for (int i = 0; i < n; i++) {
      double acc = intercept;
      boolean isNull = false;
      for (int j = 0; j < x.length; j++) {
        if (x[j].isNull(i)) {
          isNull = true;
          break;
        }
        acc += weights[j] * x[j].get(i);
      }
      if (isNull) {
        y.setNull(i);
      } else {
        y.set(i, acc);
      }
    }
    out.setRowCount(n);
    rowsScored += n;
    return out;
  }

  /** How many rows this instance scored so far (shows the object keeps state). */
  @UdfMethod
  public VectorSchemaRoot stats(VectorSchemaRoot ignored, UdfArgs args,
      BufferAllocator allocator) {
    Schema schema = new Schema(List.of(Field.nullable("rows_scored", new ArrowType.Int(64, true))));
    VectorSchemaRoot out = VectorSchemaRoot.create(schema, allocator);
    org.apache.arrow.vector.BigIntVector v = (org.apache.arrow.vector.BigIntVector) out.getVector(0);
    v.allocateNew(1);
    v.set(0, rowsScored);
    out.setRowCount(1);
    return out;
  }
}
