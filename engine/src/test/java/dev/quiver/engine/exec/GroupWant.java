package dev.quiver.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Test oracle for one group, computed row by row in plain Java: count(*), sum, count and min of
 * an int64 v, sum, count, max and population variance of a float64 x, sum of a decimal d, min
 * of a boolean f (logical and), max of a string s; nulls skipped as SQL does.
 */
final class GroupWant {
  long n;
  long sv;
  long cv;
  long lo = Long.MAX_VALUE;
  double sx;
  long cx;
  double hi = Double.NEGATIVE_INFINITY;
  final List<Double> xs = new ArrayList<>();
  BigDecimal sd;
  Boolean mf;
  String ms;

  void add(Long v, Double x, BigDecimal d, Boolean f, String s) {
    n++;
    if (v != null) {
      sv += v;
      cv++;
      lo = Math.min(lo, v);
    }
    if (x != null) {
      sx += x;
      cx++;
      hi = Math.max(hi, x);
      xs.add(x);
    }
    if (d != null) {
      sd = sd == null ? d : sd.add(d);
    }
    if (f != null) {
      mf = mf == null ? f : mf && f;
    }
    if (s != null && (ms == null || s.compareTo(ms) > 0)) {
      ms = s;
    }
  }

  double mean() {
    return sx / cx;
  }

  double varPop() {
    double mean = mean();
    double m2 = 0;
    for (double xi : xs) {
      m2 += (xi - mean) * (xi - mean);
    }
    return m2 / cx;
  }

  /** Checks mean(x), max(x) and var_pop(x) at {@code vals[at .. at + 3)} (all null if no x). */
  void assertMeanMaxVarPop(List<Object> vals, int at, String where) {
    if (cx == 0) {
      assertEquals(Arrays.asList(null, null, null), vals.subList(at, at + 3), where);
      return;
    }
    assertEquals(mean(), (Double) vals.get(at), 1e-9 * Math.max(1, Math.abs(mean())), where);
    assertEquals(hi, vals.get(at + 1), where);
    assertEquals(varPop(), (Double) vals.get(at + 2), 1e-7 * Math.max(1, varPop()), where);
  }
}
