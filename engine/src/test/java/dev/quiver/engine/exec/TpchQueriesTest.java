package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.PlanJson;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.tpch.TpchGenerator;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class TpchQueriesTest {
  static String docExample(int which) throws Exception {
    Path doc = Path.of("..", "docs", "plan-format.md");
    String md = Files.readString(doc);
    Matcher m = Pattern.compile("```json\\n(\\{\"version\": 1, \"plan\":.*?)```", Pattern.DOTALL).matcher(md);
    int i = 0;
    while (m.find()) {
      if (i++ == which) {
        return m.group(1);
      }
    }
    throw new AssertionError("example " + which + " not in docs/plan-format.md");
  }

  @Test
  void q6FromTheDocMatchesANaiveLoop(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory)) {
      new TpchGenerator(0.01, 10_000).loadAll(catalog);
      for (int threads : new int[] {1, 2}) {
        try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(threads).withMorselRows(4096));
             QueryResult r = engine.execute(PlanJson.parse(docExample(1)), memory.root())) {
          List<List<Object>> rows = Rows.drain(r);
          assertEquals(1, rows.size());
          assertEquals(naiveQ6(catalog), rows.get(0).get(0), "threads=" + threads);
        }
      }
    }
  }

  static BigDecimal naiveQ6(Catalog catalog) {
    BigDecimal sum = BigDecimal.ZERO.setScale(4);
    try (var d = catalog.get("lineitem")) {
      long lo = LocalDate.parse("1994-01-01").toEpochDay();
      long hi = LocalDate.parse("1995-01-01").toEpochDay();
      for (var b : d.batches()) {
        var ship = (org.apache.arrow.vector.DateDayVector) b.getVector("l_shipdate");
        var disc = (org.apache.arrow.vector.DecimalVector) b.getVector("l_discount");
        var qty = (org.apache.arrow.vector.DecimalVector) b.getVector("l_quantity");
        var price = (org.apache.arrow.vector.DecimalVector) b.getVector("l_extendedprice");
        for (int i = 0; i < b.getRowCount(); i++) {
          int s = ship.get(i);
          BigDecimal dc = disc.getObject(i);
          if (s >= lo && s < hi && dc.compareTo(new BigDecimal("0.05")) >= 0
              && dc.compareTo(new BigDecimal("0.07")) <= 0 && qty.getObject(i).compareTo(new BigDecimal("24")) < 0) {
            sum = sum.add(price.getObject(i).multiply(dc));
          }
        }
      }
    }
    return sum;
  }

  @Test
  void q1FromTheDocRuns(EngineMemory memory) throws Exception {
    try (Catalog catalog = new Catalog(memory)) {
      new TpchGenerator(0.01, 10_000).loadAll(catalog);
      try (QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults().withThreads(2));
           QueryResult r = engine.execute(PlanJson.parse(docExample(2)), memory.root())) {
        List<List<Object>> rows = Rows.drain(r);
        System.out.println(r.explain());
        rows.forEach(System.out::println);
        assertEquals(4, rows.size());
        assertEquals("A", rows.get(0).get(0));
        assertEquals("F", rows.get(0).get(1));
      }
    }
  }
}
