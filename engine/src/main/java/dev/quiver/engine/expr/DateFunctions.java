package dev.quiver.engine.expr;

import static dev.quiver.engine.expr.Functions.arity;
import static dev.quiver.engine.expr.Functions.kind;
import static dev.quiver.engine.expr.Functions.mismatch;

import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.Types;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** year, month, day of date32, date64 and timestamps (in their time zone). */
final class DateFunctions {
  private DateFunctions() {}

  static void register(FunctionRegistry r) {
    r.register(Functions.of("year", List.of(), (a, reg) -> part("year", a, 0)));
    r.register(Functions.of("month", List.of(), (a, reg) -> part("month", a, 1)));
    r.register(Functions.of("day", List.of(), (a, reg) -> part("day", a, 2)));
  }

  private static PhysicalExpr part(String fn, List<PhysicalExpr> args, int which) {
    arity(fn, args, 1, 1);
    TypeKind k = kind(args.get(0));
    if (k != TypeKind.DATE32 && k != TypeKind.DATE64 && k != TypeKind.TIMESTAMP) {
      throw mismatch(fn, args, "a date32, date64 or timestamp");
    }
    ArrowType t = args.get(0).type();
    long perDay = Casts.perDay(t);
    String tz = t instanceof ArrowType.Timestamp ts ? ts.getTimezone() : null;
    ZoneId zone = tz == null || tz.equals("UTC") || tz.equals("+00:00") ? null : ZoneId.of(tz);
    return new PhysicalExpr.CallExpr(fn, args, Types.INT32, (in, n) -> {
      LongVec x = (LongVec) in[0];
      long[] v = x.values;
      long[] out = new long[n];
      if (zone != null) {
        long perSec = perDay / 86_400L;
        for (int i = 0; i < n; i++) {
          ZonedDateTime z = Instant.ofEpochSecond(Math.floorDiv(v[i], perSec)).atZone(zone);
          out[i] = which == 0 ? z.getYear() : which == 1 ? z.getMonthValue() : z.getDayOfMonth();
        }
      } else if (which == 0 && perDay == 1) {
        for (int i = 0; i < n; i++) {
          out[i] = year(v[i]);
        }
      } else if (which == 0) {
        for (int i = 0; i < n; i++) {
          out[i] = year(Math.floorDiv(v[i], perDay));
        }
      } else {
        for (int i = 0; i < n; i++) {
          out[i] = monthOrDay(Math.floorDiv(v[i], perDay), which);
        }
      }
      return new LongVec(Types.INT32, out, n, x.nulls);
    });
  }

  /**
   * Month (which 1) or day of month (which 2) of a day since the epoch: between 1901 and 2099
   * from its place in the four-year cycle and a table by day of year, else by the general
   * calendar.
   */
  static long monthOrDay(long days, int which) {
    if (days >= FOUR_YEAR_RULE_FROM && days <= FOUR_YEAR_RULE_TO) {
      int r = (int) (days - FOUR_YEAR_RULE_FROM) % 1461;
      int yearInCycle = Math.min(r / 365, 3);
      int dayOfYear = r - 365 * yearInCycle;
      int at = (yearInCycle == 3 ? 366 : 0) + dayOfYear;
      return which == 1 ? MONTH_BY_DAY[at] : DAY_BY_DAY[at];
    }
    return civil(days, which);
  }

  /** Month and day of month by day of year: a common year's 365 entries, then a leap year's 366. */
  private static final byte[] MONTH_BY_DAY = new byte[366 + 366];
  private static final byte[] DAY_BY_DAY = new byte[366 + 366];

  static {
    int[] common = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int leap = 0; leap < 2; leap++) {
      int at = leap * 366;
      for (int m = 0; m < 12; m++) {
        int len = common[m] + (m == 1 ? leap : 0);
        for (int d = 1; d <= len; d++, at++) {
          MONTH_BY_DAY[at] = (byte) (m + 1);
          DAY_BY_DAY[at] = (byte) d;
        }
      }
    }
  }

  /** Days since the epoch of 1901-01-01 and 2099-12-31, between which every fourth year is leap. */
  static final long FOUR_YEAR_RULE_FROM = -25_202;
  static final long FOUR_YEAR_RULE_TO = 47_481;

  /**
   * The year of a day since the epoch. From 1901 to 2099, years run in four-year cycles of
   * 365, 365, 365 and 366 days from 1901-01-01, so one division by a constant finds the year;
   * the general calendar took about 11 ns a row here (a chain of seven divisions).
   */
  static long year(long days) {
    if (days >= FOUR_YEAR_RULE_FROM && days <= FOUR_YEAR_RULE_TO) {
      int e = (int) (days - FOUR_YEAR_RULE_FROM);
      return 1901 + (4 * e + 3) / 1461;
    }
    return civil(days, 0);
  }

  /** Days since epoch to year/month/day (H. Hinnant's civil_from_days), branch-light. */
  static long civil(long z, int which) {
    z += 719468;
    long era = Math.floorDiv(z, 146097);
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    if (which == 0) {
      return m <= 2 ? y + 1 : y;
    }
    return which == 1 ? m : d;
  }
}
