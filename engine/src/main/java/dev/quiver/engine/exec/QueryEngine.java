package dev.quiver.engine.exec;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.plan.LogicalPlan;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Runs logical plans against a catalog. Thread-safe; one engine serves any number of concurrent
 * queries, each with its own child allocator, operators and cancellation.
 *
 * <pre>{@code
 * QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults());
 * try (QueryResult r = engine.execute(PlanJson.parse(json), memory.root())) {
 *   while (r.loadNextBatch()) { VectorSchemaRoot batch = r.getVectorSchemaRoot(); ... }
 * }
 * }</pre>
 */
public final class QueryEngine implements AutoCloseable {
  private final Catalog catalog;
  private final ExecOptions options;
  private final FunctionRegistry registry;
  private final ExecutorService pool;
  private final AtomicLong querySeq = new AtomicLong();

  public QueryEngine(Catalog catalog, ExecOptions options) {
    this(catalog, options, FunctionRegistry.withBuiltinsAndServices());
  }

  public QueryEngine(Catalog catalog, ExecOptions options, FunctionRegistry registry) {
    this.catalog = catalog;
    this.options = options;
    this.registry = registry;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf = r -> {
      Thread t = new Thread(r, "quiver-worker-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
    // Cached: a worker may block on a nested parallel phase (a join build under a probe), so a
    // fixed pool could deadlock; each phase still runs at most options.threads() workers.
    this.pool = Executors.newCachedThreadPool(tf);
  }

  public FunctionRegistry functions() {
    return registry;
  }

  public ExecOptions options() {
    return options;
  }

  public QueryResult execute(LogicalPlan plan, BufferAllocator parent) {
    return execute(plan, Map.of(), parent, options);
  }

  /**
   * @param inputs streams for the plan's {@code input} nodes, by name; pulled lazily; the caller
   *     keeps ownership and closes them after closing the result
   */
  public QueryResult execute(LogicalPlan plan, Map<String, ArrowReader> inputs, BufferAllocator parent) {
    return execute(plan, inputs, parent, options);
  }

  public QueryResult execute(LogicalPlan plan, Map<String, ArrowReader> inputs, BufferAllocator parent,
      ExecOptions opts) {
    String id = "query:" + querySeq.incrementAndGet();
    ExecNode root = new PhysicalPlanner(catalog, registry, opts, inputs, null).plan(plan);
    BufferAllocator allocator;
    try {
      allocator = parent.newChildAllocator(id, 0, Math.min(opts.queryMemoryLimit(), parent.getLimit()));
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
    ExecContext ctx = new ExecContext(id, allocator, opts, pool);
    return new QueryResult(root, ctx, allocator);
  }

  /**
   * The schema a plan would produce, without running it (datasets are only looked up), in
   * Arrow's message form: a column that keeps its dictionary encoding has its value type and the
   * encoding, as in IPC. Input schemas are given in the same form.
   */
  public Schema outputSchema(LogicalPlan plan, Map<String, Schema> inputSchemas) {
    try (ExecNode root = new PhysicalPlanner(catalog, registry, options, null, inputSchemas).plan(plan)) {
      return QueryResult.messageSchema(root.schema(), root.dictionaryEncodings());
    }
  }

  /** The operator tree a plan would run, without running it. */
  public String explain(LogicalPlan plan, Map<String, Schema> inputSchemas) {
    try (ExecNode root = new PhysicalPlanner(catalog, registry, options, null, inputSchemas).plan(plan)) {
      return root.explainTree();
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
