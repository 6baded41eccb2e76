package dev.quiver.bench;

import static dev.quiver.engine.plan.PlanBuilder.agg;
import static dev.quiver.engine.plan.PlanBuilder.as;
import static dev.quiver.engine.plan.PlanBuilder.call;
import static dev.quiver.engine.plan.PlanBuilder.col;
import static dev.quiver.engine.plan.PlanBuilder.lit;
import static dev.quiver.engine.plan.PlanBuilder.scan;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.DatasetBuilder;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.exec.QueryResult;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ns per input row of the engine's main kernels, each run as a whole query over an in-memory
 * dataset of {@link #ROWS} rows (int64 key with 1,000 distinct values, float64 value, int64 join
 * key). Queries end in a one-row aggregate so result transfer does not count.
 *
 * <pre>
 * java --add-opens=java.base/java.nio=org.apache.arrow.memory.core,ALL-UNNAMED \
 *   -jar benchmarks/target/quiver-benchmarks.jar KernelBench -p threads=1,2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=org.apache.arrow.memory.core,ALL-UNNAMED"})
public class KernelBench {
  public static final int ROWS = 4_000_000;
  static final int BATCH = 128 * 1024;

  @Param({"1"})
  public int threads;

  EngineMemory memory;
  Catalog catalog;
  QueryEngine engine;
  LogicalPlan filter;
  LogicalPlan sum;
  LogicalPlan hashAggregate;
  LogicalPlan joinProbe;

  @Setup(Level.Trial)
  public void setup() {
    memory = new EngineMemory(8L << 30);
    catalog = new Catalog(memory);
    Schema schema = new Schema(List.of(
        Field.notNullable("k", new ArrowType.Int(64, true)),
        Field.notNullable("x", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
        Field.notNullable("j", new ArrowType.Int(64, true))));
    SplittableRandom rnd = new SplittableRandom(42);
    try (DatasetBuilder b = catalog.newDataset("facts", schema)) {
      for (int from = 0; from < ROWS; from += BATCH) {
        int n = Math.min(BATCH, ROWS - from);
        try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, memory.root())) {
          BigIntVector k = (BigIntVector) root.getVector(0);
          Float8Vector x = (Float8Vector) root.getVector(1);
          BigIntVector j = (BigIntVector) root.getVector(2);
          k.allocateNew(n);
          x.allocateNew(n);
          j.allocateNew(n);
          for (int i = 0; i < n; i++) {
            k.set(i, rnd.nextInt(1000));
            x.set(i, rnd.nextDouble() * 2 - 1);
            j.set(i, rnd.nextInt(20_000));
          }
          for (FieldVector v : root.getFieldVectors()) {
            v.setValueCount(n);
          }
          root.setRowCount(n);
          b.appendTransfer(root);
        }
      }
      catalog.commit(b.build());
    }
    Schema dim = new Schema(List.of(Field.notNullable("dj", new ArrowType.Int(64, true))));
    try (DatasetBuilder b = catalog.newDataset("dim", dim);
         VectorSchemaRoot root = VectorSchemaRoot.create(dim, memory.root())) {
      BigIntVector dj = (BigIntVector) root.getVector(0);
      dj.allocateNew(10_000);
      for (int i = 0; i < 10_000; i++) {
        dj.set(i, i * 2L);
      }
      dj.setValueCount(10_000);
      root.setRowCount(10_000);
      b.appendTransfer(root);
      catalog.commit(b.build());
    }
    engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(threads));
    filter = scan("facts", "x").filter(call("gt", col("x"), lit(0.5)))
        .aggregate(List.of(), agg("n", "count")).build();
    sum = scan("facts", "x").aggregate(List.of(), agg("s", "sum", col("x"))).build();
    hashAggregate = scan("facts", "k", "x").aggregate(List.of(as("k", col("k"))), agg("s", "sum", col("x")))
        .aggregate(List.of(), agg("groups", "count")).build();
    joinProbe = scan("facts", "j").join(JoinType.INNER, scan("dim"), List.of("j"), List.of("dj"))
        .aggregate(List.of(), agg("n", "count")).build();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    engine.close();
    catalog.close();
    memory.close();
  }

  private long run(LogicalPlan plan) throws Exception {
    try (QueryResult r = engine.execute(plan, memory.root())) {
      long rows = 0;
      while (r.loadNextBatch()) {
        rows += r.getVectorSchemaRoot().getRowCount();
      }
      return rows;
    }
  }

  /** Filter x &gt; 0.5 (selection vector) then count. */
  @Benchmark
  @OperationsPerInvocation(ROWS)
  public long filter() throws Exception {
    return run(filter);
  }

  /** Global sum of a float64 column. */
  @Benchmark
  @OperationsPerInvocation(ROWS)
  public long sum() throws Exception {
    return run(sum);
  }

  /** Group by an int64 key with 1,000 values, sum float64. */
  @Benchmark
  @OperationsPerInvocation(ROWS)
  public long hashAggregate() throws Exception {
    return run(hashAggregate);
  }

  /** Probe 4M rows into a 10,000-row hash table (half of the probes match), count matches. */
  @Benchmark
  @OperationsPerInvocation(ROWS)
  public long hashJoinProbe() throws Exception {
    return run(joinProbe);
  }
}
