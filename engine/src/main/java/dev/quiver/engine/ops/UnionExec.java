package dev.quiver.engine.ops;

import dev.quiver.engine.exec.Batch;
import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * UNION ALL: every stream walks the inputs in order. Splittable inputs are shared by all streams
 * (their morsels are divided); a non-splittable input is read by whichever stream claims it first.
 */
public final class UnionExec extends ExecNode {
  private final List<ExecNode> inputs;
  private final Schema schema;
  private final AtomicBoolean[] claimed;

  public UnionExec(List<ExecNode> inputs, Schema schema) {
    this.inputs = List.copyOf(inputs);
    this.schema = schema;
    this.claimed = new AtomicBoolean[inputs.size()];
    for (int i = 0; i < claimed.length; i++) {
      claimed[i] = new AtomicBoolean();
    }
  }

  @Override
  public Schema schema() {
    return schema;
  }

  /**
   * A column stays dictionary codes when every input keeps it so with the same index type; each
   * batch brings its own input's dictionary.
   */
  @Override
  public DictionaryEncoding[] dictionaryEncodings() {
    DictionaryEncoding[] out = inputs.get(0).dictionaryEncodings();
    for (int i = 1; i < inputs.size(); i++) {
      DictionaryEncoding[] other = inputs.get(i).dictionaryEncodings();
      for (int c = 0; c < out.length; c++) {
        if (out[c] != null && (other[c] == null
            || !other[c].getIndexType().equals(out[c].getIndexType()))) {
          out[c] = null;
        }
      }
    }
    return out;
  }

  @Override
  public boolean splittable() {
    return true;
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    return new BatchStream() {
      int current = -1;
      BatchStream in;

      @Override
      public Batch next() {
        while (true) {
          if (in != null) {
            Batch b = in.next();
            if (b != null) {
              metrics.rowsOut.addAndGet(b.count());
              return b;
            }
            in.close();
            in = null;
          }
          current++;
          if (current >= inputs.size()) {
            return null;
          }
          ExecNode c = inputs.get(current);
          if (c.splittable() || claimed[current].compareAndSet(false, true)) {
            in = c.open(ctx);
          }
        }
      }

      @Override
      public void close() {
        if (in != null) {
          in.close();
          in = null;
        }
      }
    };
  }

  @Override
  public List<ExecNode> children() {
    return inputs;
  }

  @Override
  public String explainLine() {
    return "Union all (" + inputs.size() + " inputs)";
  }
}
