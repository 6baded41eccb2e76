package dev.quiver.engine.expr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalDate;
import org.junit.jupiter.api.Test;

/** The calendar arithmetic behind year(), month() and day(), against java.time day by day. */
class DateFunctionsTest {
  @Test
  void yearMonthAndDayOfEveryDayOverTwelveThousandYearsMatchJavaTime() {
    // From 4000 BC to 8000 AD: the four-year shortcut's edges (1900, 1901, 2099, 2100) and the
    // proleptic Gregorian rules either side of them.
    long from = LocalDate.of(-4000, 1, 1).toEpochDay();
    long to = LocalDate.of(8000, 12, 31).toEpochDay();
    for (long d = from; d <= to; d++) {
      LocalDate date = LocalDate.ofEpochDay(d);
      if (DateFunctions.year(d) != date.getYear()) {
        assertEquals(date.getYear(), DateFunctions.year(d), "year of " + date);
      }
      if (DateFunctions.monthOrDay(d, 1) != date.getMonthValue()
          || DateFunctions.monthOrDay(d, 2) != date.getDayOfMonth()) {
        assertEquals(date.toString(), DateFunctions.year(d) + "-" + DateFunctions.monthOrDay(d, 1)
            + "-" + DateFunctions.monthOrDay(d, 2));
      }
    }
    assertEquals(DateFunctions.FOUR_YEAR_RULE_FROM, LocalDate.of(1901, 1, 1).toEpochDay());
    assertEquals(DateFunctions.FOUR_YEAR_RULE_TO, LocalDate.of(2099, 12, 31).toEpochDay());
  }
}
