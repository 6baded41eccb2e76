package dev.quiver.engine.ops;

import dev.quiver.engine.exec.BatchStream;
import dev.quiver.engine.exec.ExecContext;
import dev.quiver.engine.exec.ExecNode;
import dev.quiver.engine.expr.PhysicalExpr;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/** Distinct rows: a hash aggregation keyed on every column, with no aggregates. */
public final class DistinctExec extends ExecNode {
  private final ExecNode child;
  private final HashAggregateExec aggregate;

  public DistinctExec(ExecNode child) {
    this.child = child;
    List<PhysicalExpr> keys = new ArrayList<>();
    List<Field> fields = child.schema().getFields();
    for (int i = 0; i < fields.size(); i++) {
      keys.add(new PhysicalExpr.ColumnRef(i, fields.get(i).getName(), fields.get(i).getType()));
    }
    this.aggregate = new HashAggregateExec(child, keys, List.of(), child.schema(), "Distinct");
  }

  @Override
  public Schema schema() {
    return child.schema();
  }

  @Override
  public boolean splittable() {
    return aggregate.splittable();
  }

  @Override
  public boolean preservesOrder() {
    return aggregate.preservesOrder();
  }

  @Override
  public BatchStream open(ExecContext ctx) {
    return aggregate.open(ctx);
  }

  @Override
  public List<ExecNode> children() {
    return List.of(child);
  }

  @Override
  public String explainLine() {
    return "Distinct";
  }

  @Override
  public void close() {
    aggregate.close();
  }
}
