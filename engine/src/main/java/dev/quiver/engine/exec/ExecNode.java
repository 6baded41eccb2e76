package dev.quiver.engine.exec;

import java.util.List;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A physical operator. {@link #open} may be called once per worker when {@link #splittable()}:
 * every stream then pulls a disjoint share of the rows (morsel-driven parallelism); otherwise it
 * is opened once. Operators validate their inputs at construction, naming the offending type.
 */
public abstract class ExecNode implements AutoCloseable {
  protected final OperatorMetrics metrics = new OperatorMetrics();

  /** Output schema (dictionary-encoded columns appear as their value type). */
  public abstract Schema schema();

  public abstract BatchStream open(ExecContext ctx);

  /**
   * Per output column: the dictionary encoding its batches keep, or null. A non-null entry is a
   * promise that every batch carries that column as codes of the encoding's index type together
   * with its dictionary ({@link Batch#dictionary}), so the result can hand both on instead of
   * decoding. The dictionary may change from batch to batch. Null (the default) leaves the form
   * open, and the result decodes the column.
   */
  public DictionaryEncoding[] dictionaryEncodings() {
    return new DictionaryEncoding[schema().getFields().size()];
  }

  /** Whether several streams may be opened, each seeing part of the output. */
  public abstract boolean splittable();

  /** Whether output batches' {@link Batch#seq()} numbers are contiguous and in source order. */
  public boolean preservesOrder() {
    return false;
  }

  public abstract List<ExecNode> children();

  /**
   * Whether pulling this subtree may wait on a stream the client feeds (an {@code input} node).
   * A thread that must stay free to send finished batches, such as a DoExchange's handler (the
   * client may send its next batch only after it has read the previous one's result), must not
   * pull such a subtree itself: {@link Gather} then leaves the work to its pool.
   */
  public boolean waitsOnClient() {
    for (ExecNode c : children()) {
      if (c.waitsOnClient()) {
        return true;
      }
    }
    return false;
  }

  /** One line describing this operator, without its children. */
  public abstract String explainLine();

  public OperatorMetrics metrics() {
    return metrics;
  }

  /** Releases state the operator holds across streams (hash tables, buffered results). */
  @Override
  public void close() {
    for (ExecNode c : children()) {
      c.close();
    }
  }

  /** The whole tree, indented, with metrics. */
  public String explainTree() {
    StringBuilder sb = new StringBuilder();
    explain(sb, 0);
    return sb.toString();
  }

  private void explain(StringBuilder sb, int depth) {
    sb.append("  ".repeat(depth)).append(explainLine()).append("  [").append(metrics).append("]\n");
    for (ExecNode c : children()) {
      c.explain(sb, depth + 1);
    }
  }
}
