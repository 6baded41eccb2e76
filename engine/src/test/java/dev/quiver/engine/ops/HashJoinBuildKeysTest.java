package dev.quiver.engine.ops;

import static dev.quiver.engine.plan.PlanBuilder.scan;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.Rows;
import dev.quiver.engine.exec.TestTables;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Joins on encoded keys whose build side has unique keys (a probe row's chain walk may stop at
 * its match) and build sides where a few keys repeat, even once (every match must be found):
 * pairs are counted against a map computed here. Keys of every length class the in-place
 * compare distinguishes (under 4, 4-7, 8-16 and over 16 bytes), as one string key and as a
 * (string, int64) pair.
 */
@ExtendWith(LeakCheck.class)
class HashJoinBuildKeysTest {
  private static String key(int i) {
    String digits = Integer.toString(i);
    return switch (i % 4) {
      case 0 -> "k" + digits; // under 8 bytes
      case 1 -> "key-" + digits + "-x"; // 7-10 bytes
      case 2 -> "Clerk#" + String.format("%09d", i); // 15 bytes
      default -> "a longer key of more than sixteen bytes #" + digits;
    };
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 37})
  void everyMatchIsFoundWhetherOrNotBuildKeysRepeat(int repeatedKeys, EngineMemory memory)
      throws Exception {
    Random random = new Random(11 + repeatedKeys);
    int distinct = 600;
    List<Object> buildKeys = new ArrayList<>();
    List<Object> buildInts = new ArrayList<>();
    for (int i = 0; i < distinct; i++) {
      buildKeys.add(key(i));
      buildInts.add((long) (i % 3));
    }
    for (int r = 0; r < repeatedKeys; r++) {
      int i = random.nextInt(distinct);
      buildKeys.add(key(i));
      buildInts.add((long) (i % 3));
    }
    Map<String, Integer> copies = new HashMap<>();
    for (Object k : buildKeys) {
      copies.merge((String) k, 1, Integer::sum);
    }
    List<Object> probeKeys = new ArrayList<>();
    List<Object> probeInts = new ArrayList<>();
    long expected = 0;
    long expectedLeft = 0;
    for (int r = 0; r < 20_000; r++) {
      int i = random.nextInt(distinct + 200); // some keys the build side lacks
      boolean nullKey = r % 97 == 0;
      probeKeys.add(nullKey ? null : key(i));
      probeInts.add((long) (i % 3));
      int m = nullKey ? 0 : copies.getOrDefault(key(i), 0);
      expected += m;
      expectedLeft += Math.max(m, 1);
    }
    try (Catalog catalog = new Catalog(memory)) {
      TestTables.load(catalog, "probe", 4096, new TestTables.Col("s", Types.UTF8, probeKeys),
          new TestTables.Col("n", Types.INT64, probeInts));
      TestTables.load(catalog, "build", 4096, new TestTables.Col("bs", Types.UTF8, buildKeys),
          new TestTables.Col("bn", Types.INT64, buildInts));
      for (int threads : new int[] {1, 2}) {
        var inner = Rows.run(catalog, memory, scan("probe").join(JoinType.INNER, scan("build"),
            List.of("s"), List.of("bs")).build(), threads, 1000);
        assertEquals(expected, inner.rows().size(), inner.explain());
        for (List<Object> row : inner.rows()) {
          assertEquals(row.get(0), row.get(2));
        }
        var pair = Rows.run(catalog, memory, scan("probe").join(JoinType.INNER, scan("build"),
            List.of("s", "n"), List.of("bs", "bn")).build(), threads, 1000);
        assertEquals(expected, pair.rows().size(), pair.explain());
        var left = Rows.run(catalog, memory, scan("probe").join(JoinType.LEFT, scan("build"),
            List.of("s"), List.of("bs")).build(), threads, 1000);
        assertEquals(expectedLeft, left.rows().size(), left.explain());
      }
    }
  }
}
