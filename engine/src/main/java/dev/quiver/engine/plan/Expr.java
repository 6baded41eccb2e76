package dev.quiver.engine.plan;

import java.util.List;
import java.util.Objects;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** A logical expression, as written in a plan (unresolved: names, not column indexes). */
public sealed interface Expr permits Expr.Column, Expr.Literal, Expr.Call, Expr.Cast {

  /** Adds the names of the columns {@code e} reads to {@code out}. */
  static void columns(Expr e, java.util.Set<String> out) {
    if (e instanceof Column c) {
      out.add(c.name());
    } else if (e instanceof Call c) {
      for (Expr a : c.args()) {
        columns(a, out);
      }
    } else if (e instanceof Cast c) {
      columns(c.input(), out);
    }
  }

  /** A column of the input by name. */
  record Column(String name) implements Expr {
    public Column {
      Objects.requireNonNull(name, "name");
    }
  }

  /**
   * A typed constant. {@code value} is null for a typed null, otherwise: Boolean, Long/BigInteger
   * (integers), Double (floats), BigDecimal (decimals), String (strings), byte[] (binaries),
   * Integer days or LocalDate (date32), Long (date64, timestamp in its unit).
   */
  record Literal(ArrowType type, Object value) implements Expr {
    public Literal {
      Objects.requireNonNull(type, "type");
    }
  }

  /** A call of a named scalar function. */
  record Call(String function, List<Expr> args) implements Expr {
    public Call {
      Objects.requireNonNull(function, "function");
      args = List.copyOf(args);
    }
  }

  /** Conversion to another type. */
  record Cast(Expr input, ArrowType type) implements Expr {
    public Cast {
      Objects.requireNonNull(input, "input");
      Objects.requireNonNull(type, "type");
    }
  }
}
