package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.quiver.engine.expr.AggregateKind;
import dev.quiver.engine.expr.DoubleVec;
import dev.quiver.engine.expr.LongVec;
import dev.quiver.engine.expr.Vec;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import dev.quiver.engine.types.Types;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Sums keep no per-group counts until a chunk with nulls arrives: a group whose every value is
 * null must still come out null, whether it appears before, at or after that switch, and through
 * a merge of a counting state with one that is not.
 */
@ExtendWith(LeakCheck.class)
class AggregateStateTest {

  @Test
  void sumIsNullExactlyForGroupsWithoutValues(EngineMemory memory) {
    for (ArrowType t : List.of(Types.FLOAT64, Types.INT64)) {
      AggregateState a = AggregateState.create(AggregateKind.SUM, t);
      // chunk 1, no nulls: groups 0 and 1
      add(a, t, new int[] {0, 1, 0}, new Long[] {1L, 2L, 3L}, 2);
      // chunk 2, nulls: group 2 only null, group 1 gets a null and a value, group 3 a value
      add(a, t, new int[] {2, 1, 1, 3}, new Long[] {null, null, 5L, 7L}, 4);
      // chunk 3, no nulls: group 4 new
      add(a, t, new int[] {4, 0}, new Long[] {11L, 13L}, 5);
      assertEquals(List.of(17.0, 7.0, "null", 7.0, 11.0), values(memory, a, t, 5), t.toString());

      // A worker that never saw a null merged into one that did, and the other way round.
      AggregateState plain = AggregateState.create(AggregateKind.SUM, t);
      add(plain, t, new int[] {0, 1}, new Long[] {100L, 200L}, 2);
      AggregateState withNulls = AggregateState.create(AggregateKind.SUM, t);
      add(withNulls, t, new int[] {0, 1}, new Long[] {null, 1000L}, 2);
      withNulls.ensure(3);
      withNulls.merge(plain, 0, new int[] {1, 2}, 2); // plain's 0 -> 1, plain's 1 -> new group 2
      assertEquals(List.of("null", 1100.0, 200.0), values(memory, withNulls, t, 3), t.toString());

      AggregateState plain2 = AggregateState.create(AggregateKind.SUM, t);
      add(plain2, t, new int[] {0}, new Long[] {1L}, 1);
      AggregateState nullsOnly = AggregateState.create(AggregateKind.SUM, t);
      add(nullsOnly, t, new int[] {0, 1}, new Long[] {null, 4L}, 2);
      plain2.ensure(3);
      plain2.merge(nullsOnly, 0, new int[] {1, 2}, 2);
      assertEquals(List.of(1.0, "null", 4.0), values(memory, plain2, t, 3), t.toString());
    }
  }

  static void add(AggregateState a, ArrowType t, int[] gids, Long[] xs, int groups) {
    int n = gids.length;
    boolean[] nulls = null;
    long[] l = new long[n];
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      if (xs[i] == null) {
        nulls = nulls == null ? new boolean[n] : nulls;
        nulls[i] = true;
      } else {
        l[i] = xs[i];
        d[i] = xs[i];
      }
    }
    Vec v = t.equals(Types.FLOAT64) ? new DoubleVec(t, d, n, nulls) : new LongVec(t, l, n, nulls);
    a.ensure(groups);
    a.update(gids, v, n);
  }

  static List<Object> values(EngineMemory memory, AggregateState a, ArrowType t, int groups) {
    try (FieldVector v = a.result(Field.nullable("s", t), groups, memory.root())) {
      List<Object> out = new ArrayList<>();
      for (int g = 0; g < groups; g++) {
        out.add(v.isNull(g) ? "null" : ((Number) v.getObject(g)).doubleValue());
      }
      return out;
    }
  }
}
