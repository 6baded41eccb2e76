package dev.quiver.engine.plan;

import static dev.quiver.engine.plan.PlanException.Kind.INVALID_PLAN;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.engine.plan.LogicalPlan.AggregateCall;
import dev.quiver.engine.plan.LogicalPlan.JoinType;
import dev.quiver.engine.plan.LogicalPlan.NamedExpr;
import dev.quiver.engine.plan.LogicalPlan.SortKey;
import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.TypeNames;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** The JSON wire form of plans, version 1 (docs/plan-format.md). */
public final class PlanJson {
  public static final int VERSION = 1;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private PlanJson() {}

  /** Parses a plan document; any structural problem is a {@link PlanException} (INVALID_PLAN). */
  public static LogicalPlan parse(String json) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new PlanException(INVALID_PLAN, "plan is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new PlanException(INVALID_PLAN, "a plan document is a JSON object {\"version\": 1, \"plan\": {...}}");
    }
    keys(root, "document", Set.of("version", "plan"));
    JsonNode v = root.get("version");
    if (v == null || !v.isInt()) {
      throw new PlanException(INVALID_PLAN, "plan document needs an integer \"version\"");
    }
    if (v.asInt() != VERSION) {
      throw new PlanException(INVALID_PLAN,
          "unsupported plan version " + v.asInt() + "; this engine reads version " + VERSION);
    }
    return node(required(root, "plan", "document"));
  }

  public static String toJson(LogicalPlan plan) {
    ObjectNode root = F.objectNode();
    root.put("version", VERSION);
    root.set("plan", write(plan));
    try {
      return MAPPER.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String toJson(Expr expr) {
    return write(expr).toString();
  }

  // ---------------------------------------------------------------- parsing

  private static JsonNode required(JsonNode obj, String key, String where) {
    JsonNode n = obj.get(key);
    if (n == null || n.isNull()) {
      throw new PlanException(INVALID_PLAN, where + " is missing \"" + key + "\"");
    }
    return n;
  }

  private static void keys(JsonNode obj, String where, Set<String> allowed) {
    for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!allowed.contains(k)) {
        throw new PlanException(INVALID_PLAN, "unknown key \"" + k + "\" in " + where
            + " (allowed: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
      }
    }
  }

  private static String text(JsonNode obj, String key, String where) {
    JsonNode n = required(obj, key, where);
    if (!n.isTextual()) {
      throw new PlanException(INVALID_PLAN, where + ": \"" + key + "\" must be a string, got " + n);
    }
    return n.asText();
  }

  private static ArrayNode array(JsonNode obj, String key, String where) {
    JsonNode n = required(obj, key, where);
    if (!n.isArray()) {
      throw new PlanException(INVALID_PLAN, where + ": \"" + key + "\" must be an array, got " + n);
    }
    return (ArrayNode) n;
  }

  private static long nonNegative(JsonNode n, String what) {
    if (!n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < 0) {
      throw new PlanException(INVALID_PLAN, what + " must be an integer >= 0, got " + n);
    }
    return n.asLong();
  }

  static LogicalPlan node(JsonNode n) {
    if (!n.isObject()) {
      throw new PlanException(INVALID_PLAN, "a plan node is a JSON object, got " + n);
    }
    String kind = text(n, "node", "plan node");
    String where = "\"" + kind + "\" node";
    switch (kind) {
      case "scan" -> {
        keys(n, where, Set.of("node", "dataset", "columns"));
        List<String> cols = null;
        if (n.hasNonNull("columns")) {
          cols = new ArrayList<>();
          for (JsonNode c : array(n, "columns", where)) {
            if (!c.isTextual()) {
              throw new PlanException(INVALID_PLAN, where + ": columns must be strings, got " + c);
            }
            cols.add(c.asText());
          }
        }
        return new LogicalPlan.Scan(text(n, "dataset", where), cols);
      }
      case "input" -> {
        keys(n, where, Set.of("node", "name"));
        return new LogicalPlan.Input(text(n, "name", where));
      }
      case "filter" -> {
        keys(n, where, Set.of("node", "input", "predicate"));
        return new LogicalPlan.Filter(node(required(n, "input", where)),
            expr(required(n, "predicate", where)));
      }
      case "project" -> {
        keys(n, where, Set.of("node", "input", "columns"));
        return new LogicalPlan.Project(node(required(n, "input", where)),
            namedExprs(array(n, "columns", where), where));
      }
      case "aggregate" -> {
        keys(n, where, Set.of("node", "input", "group_by", "aggregates"));
        List<NamedExpr> groups = n.hasNonNull("group_by")
            ? namedExprs(array(n, "group_by", where), where) : List.of();
        List<AggregateCall> aggs = new ArrayList<>();
        for (JsonNode a : array(n, "aggregates", where)) {
          String aw = "aggregate " + a;
          if (!a.isObject()) {
            throw new PlanException(INVALID_PLAN, where + ": aggregates are objects, got " + a);
          }
          keys(a, aw, Set.of("name", "function", "args"));
          List<Expr> args = new ArrayList<>();
          if (a.hasNonNull("args")) {
            for (JsonNode e : array(a, "args", aw)) {
              args.add(expr(e));
            }
          }
          aggs.add(new AggregateCall(text(a, "name", aw), text(a, "function", aw), args));
        }
        return new LogicalPlan.Aggregate(node(required(n, "input", where)), groups, aggs);
      }
      case "sort" -> {
        keys(n, where, Set.of("node", "input", "keys"));
        return new LogicalPlan.Sort(node(required(n, "input", where)), sortKeys(n, where));
      }
      case "top_k" -> {
        keys(n, where, Set.of("node", "input", "keys", "k"));
        return new LogicalPlan.TopK(node(required(n, "input", where)), sortKeys(n, where),
            nonNegative(required(n, "k", where), where + " k"));
      }
      case "join" -> {
        keys(n, where, Set.of("node", "type", "left", "right", "left_keys", "right_keys"));
        String t = text(n, "type", where);
        JoinType type = switch (t) {
          case "inner" -> JoinType.INNER;
          case "left" -> JoinType.LEFT;
          case "semi" -> JoinType.SEMI;
          case "anti" -> JoinType.ANTI;
          default -> throw new PlanException(INVALID_PLAN,
              where + ": type must be inner, left, semi or anti, got '" + t + "'");
        };
        return new LogicalPlan.Join(type, node(required(n, "left", where)),
            node(required(n, "right", where)), strings(array(n, "left_keys", where), where),
            strings(array(n, "right_keys", where), where));
      }
      case "limit" -> {
        keys(n, where, Set.of("node", "input", "limit", "offset"));
        Long limit = n.hasNonNull("limit") ? nonNegative(n.get("limit"), where + " limit") : null;
        long offset = n.hasNonNull("offset") ? nonNegative(n.get("offset"), where + " offset") : 0;
        return new LogicalPlan.Limit(node(required(n, "input", where)), limit, offset);
      }
      case "distinct" -> {
        keys(n, where, Set.of("node", "input"));
        return new LogicalPlan.Distinct(node(required(n, "input", where)));
      }
      case "union" -> {
        keys(n, where, Set.of("node", "inputs"));
        List<LogicalPlan> ins = new ArrayList<>();
        for (JsonNode c : array(n, "inputs", where)) {
          ins.add(node(c));
        }
        return new LogicalPlan.Union(ins);
      }
      default -> throw new PlanException(INVALID_PLAN, "unknown node kind '" + kind
          + "' (expected scan, input, filter, project, aggregate, sort, top_k, join, limit, distinct, union)");
    }
  }

  private static List<String> strings(ArrayNode a, String where) {
    List<String> out = new ArrayList<>();
    for (JsonNode c : a) {
      if (!c.isTextual()) {
        throw new PlanException(INVALID_PLAN, where + ": expected column names, got " + c);
      }
      out.add(c.asText());
    }
    return out;
  }

  private static List<NamedExpr> namedExprs(ArrayNode a, String where) {
    List<NamedExpr> out = new ArrayList<>();
    for (JsonNode c : a) {
      if (!c.isObject()) {
        throw new PlanException(INVALID_PLAN, where + ": expected {\"name\", \"expr\"}, got " + c);
      }
      keys(c, where + " column", Set.of("name", "expr"));
      out.add(new NamedExpr(text(c, "name", where), expr(required(c, "expr", where))));
    }
    return out;
  }

  private static List<SortKey> sortKeys(JsonNode n, String where) {
    List<SortKey> out = new ArrayList<>();
    for (JsonNode k : array(n, "keys", where)) {
      if (!k.isObject()) {
        throw new PlanException(INVALID_PLAN, where + ": sort keys are objects, got " + k);
      }
      keys(k, where + " key", Set.of("expr", "order", "nulls"));
      String order = k.hasNonNull("order") ? k.get("order").asText() : "asc";
      String nulls = k.hasNonNull("nulls") ? k.get("nulls").asText() : "last";
      if (!order.equals("asc") && !order.equals("desc")) {
        throw new PlanException(INVALID_PLAN, where + ": order must be asc or desc, got '" + order + "'");
      }
      if (!nulls.equals("first") && !nulls.equals("last")) {
        throw new PlanException(INVALID_PLAN, where + ": nulls must be first or last, got '" + nulls + "'");
      }
      out.add(new SortKey(expr(required(k, "expr", where)), order.equals("desc"), nulls.equals("first")));
    }
    return out;
  }

  static Expr expr(JsonNode n) {
    if (!n.isObject()) {
      throw new PlanException(INVALID_PLAN, "an expression is a JSON object, got " + n);
    }
    String kind = text(n, "expr", "expression");
    String where = "\"" + kind + "\" expression";
    switch (kind) {
      case "column" -> {
        keys(n, where, Set.of("expr", "name"));
        return new Expr.Column(text(n, "name", where));
      }
      case "literal" -> {
        keys(n, where, Set.of("expr", "type", "value"));
        ArrowType type = type(required(n, "type", where));
        return new Expr.Literal(type, literalValue(type, n.get("value")));
      }
      case "call" -> {
        keys(n, where, Set.of("expr", "function", "args"));
        List<Expr> args = new ArrayList<>();
        if (n.hasNonNull("args")) {
          for (JsonNode a : array(n, "args", where)) {
            args.add(expr(a));
          }
        }
        return new Expr.Call(text(n, "function", where), args);
      }
      case "cast" -> {
        keys(n, where, Set.of("expr", "input", "type"));
        return new Expr.Cast(expr(required(n, "input", where)), type(required(n, "type", where)));
      }
      default -> throw new PlanException(INVALID_PLAN,
          "unknown expression kind '" + kind + "' (expected column, literal, call, cast)");
    }
  }

  private static ArrowType type(JsonNode n) {
    try {
      return TypeNames.parse(n);
    } catch (IllegalArgumentException e) {
      throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE, e.getMessage(), e);
    }
  }

  /** Decodes a literal's JSON value into the Java form {@link Expr.Literal} documents. */
  public static Object literalValue(ArrowType type, JsonNode v) {
    if (v == null || v.isNull()) {
      return null;
    }
    String what = "literal of type " + TypeNames.describe(type) + ": ";
    try {
      switch (TypeKind.of(type)) {
        case BOOL -> {
          if (!v.isBoolean()) {
            throw new IllegalArgumentException("expected true or false, got " + v);
          }
          return v.asBoolean();
        }
        case INT, UINT -> {
          BigInteger b = v.isIntegralNumber() ? v.bigIntegerValue()
              : v.isTextual() ? new BigInteger(v.asText().trim()) : null;
          if (b == null) {
            throw new IllegalArgumentException("expected an integer, got " + v);
          }
          int bits = ((ArrowType.Int) type).getBitWidth();
          boolean signed = ((ArrowType.Int) type).getIsSigned();
          BigInteger min = signed ? BigInteger.ONE.shiftLeft(bits - 1).negate() : BigInteger.ZERO;
          BigInteger max = signed ? BigInteger.ONE.shiftLeft(bits - 1).subtract(BigInteger.ONE)
              : BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE);
          if (b.compareTo(min) < 0 || b.compareTo(max) > 0) {
            throw new IllegalArgumentException(b + " is out of range");
          }
          return b.longValue();
        }
        case FLOAT -> {
          if (v.isNumber()) {
            return v.asDouble();
          }
          return switch (v.asText()) {
            case "NaN" -> Double.NaN;
            case "Infinity" -> Double.POSITIVE_INFINITY;
            case "-Infinity" -> Double.NEGATIVE_INFINITY;
            default -> throw new IllegalArgumentException("expected a number, got " + v);
          };
        }
        case DECIMAL -> {
          BigDecimal d = v.isTextual() ? new BigDecimal(v.asText().trim()) : v.decimalValue();
          ArrowType.Decimal dt = (ArrowType.Decimal) type;
          BigDecimal scaled = d.setScale(dt.getScale(), java.math.RoundingMode.UNNECESSARY);
          if (scaled.precision() > dt.getPrecision() && scaled.signum() != 0) {
            throw new IllegalArgumentException(d + " has more digits than precision " + dt.getPrecision());
          }
          return scaled;
        }
        case STRING -> {
          if (!v.isTextual()) {
            throw new IllegalArgumentException("expected a string, got " + v);
          }
          return v.asText();
        }
        case BINARY -> {
          return Base64.getDecoder().decode(v.asText());
        }
        case DATE32 -> {
          if (v.isIntegralNumber()) {
            return v.asLong();
          }
          return LocalDate.parse(v.asText()).toEpochDay();
        }
        case DATE64 -> {
          return v.asLong();
        }
        case TIMESTAMP -> {
          if (v.isIntegralNumber()) {
            return v.asLong();
          }
          Instant inst = Instant.parse(v.asText());
          TimeUnit unit = ((ArrowType.Timestamp) type).getUnit();
          long secs = inst.getEpochSecond();
          int nanos = inst.getNano();
          return switch (unit) {
            case SECOND -> secs;
            case MILLISECOND -> secs * 1000 + nanos / 1_000_000;
            case MICROSECOND -> secs * 1_000_000 + nanos / 1000;
            case NANOSECOND -> secs * 1_000_000_000 + nanos;
          };
        }
        case NULL -> throw new IllegalArgumentException("a null-typed literal has value null");
        default -> throw new PlanException(PlanException.Kind.UNSUPPORTED_TYPE,
            what + "literals of this type are not supported");
      }
    } catch (PlanException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new PlanException(INVALID_PLAN, what + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- writing

  static ObjectNode write(LogicalPlan p) {
    ObjectNode o = F.objectNode();
    if (p instanceof LogicalPlan.Scan s) {
        o.put("node", "scan");
        o.put("dataset", s.dataset());
        if (s.columns() != null) {
          ArrayNode a = o.putArray("columns");
          s.columns().forEach(a::add);
        }
      } else if (p instanceof LogicalPlan.Input i) {
        o.put("node", "input");
        o.put("name", i.name());
      } else if (p instanceof LogicalPlan.Filter f) {
        o.put("node", "filter");
        o.set("input", write(f.input()));
        o.set("predicate", write(f.predicate()));
      } else if (p instanceof LogicalPlan.Project pr) {
        o.put("node", "project");
        o.set("input", write(pr.input()));
        o.set("columns", named(pr.columns()));
      } else if (p instanceof LogicalPlan.Aggregate a) {
        o.put("node", "aggregate");
        o.set("input", write(a.input()));
        o.set("group_by", named(a.groupBy()));
        ArrayNode aggs = o.putArray("aggregates");
        for (AggregateCall c : a.aggregates()) {
          ObjectNode co = aggs.addObject();
          co.put("name", c.name());
          co.put("function", c.function());
          ArrayNode args = co.putArray("args");
          c.args().forEach(e -> args.add(write(e)));
        }
      } else if (p instanceof LogicalPlan.Sort s) {
        o.put("node", "sort");
        o.set("input", write(s.input()));
        o.set("keys", sortKeys(s.keys()));
      } else if (p instanceof LogicalPlan.TopK t) {
        o.put("node", "top_k");
        o.set("input", write(t.input()));
        o.set("keys", sortKeys(t.keys()));
        o.put("k", t.k());
      } else if (p instanceof LogicalPlan.Join j) {
        o.put("node", "join");
        o.put("type", j.type().name().toLowerCase(Locale.ROOT));
        o.set("left", write(j.left()));
        o.set("right", write(j.right()));
        ArrayNode lk = o.putArray("left_keys");
        j.leftKeys().forEach(lk::add);
        ArrayNode rk = o.putArray("right_keys");
        j.rightKeys().forEach(rk::add);
      } else if (p instanceof LogicalPlan.Limit l) {
        o.put("node", "limit");
        o.set("input", write(l.input()));
        if (l.limit() != null) {
          o.put("limit", l.limit());
        }
        o.put("offset", l.offset());
      } else if (p instanceof LogicalPlan.Distinct d) {
        o.put("node", "distinct");
        o.set("input", write(d.input()));
      } else if (p instanceof LogicalPlan.Union u) {
        o.put("node", "union");
        ArrayNode a = o.putArray("inputs");
        u.inputs().forEach(c -> a.add(write(c)));
      }
    return o;
  }

  private static ArrayNode named(List<NamedExpr> cols) {
    ArrayNode a = F.arrayNode();
    for (NamedExpr c : cols) {
      ObjectNode co = a.addObject();
      co.put("name", c.name());
      co.set("expr", write(c.expr()));
    }
    return a;
  }

  private static ArrayNode sortKeys(List<SortKey> keys) {
    ArrayNode a = F.arrayNode();
    for (SortKey k : keys) {
      ObjectNode ko = a.addObject();
      ko.set("expr", write(k.expr()));
      ko.put("order", k.descending() ? "desc" : "asc");
      ko.put("nulls", k.nullsFirst() ? "first" : "last");
    }
    return a;
  }

  static ObjectNode write(Expr e) {
    ObjectNode o = F.objectNode();
    if (e instanceof Expr.Column c) {
        o.put("expr", "column");
        o.put("name", c.name());
      } else if (e instanceof Expr.Literal l) {
        o.put("expr", "literal");
        o.set("type", TypeNames.toJson(l.type()));
        o.set("value", literalJson(l.type(), l.value()));
      } else if (e instanceof Expr.Call c) {
        o.put("expr", "call");
        o.put("function", c.function());
        ArrayNode a = o.putArray("args");
        c.args().forEach(x -> a.add(write(x)));
      } else if (e instanceof Expr.Cast c) {
        o.put("expr", "cast");
        o.set("input", write(c.input()));
        o.set("type", TypeNames.toJson(c.type()));
      }
    return o;
  }

  private static JsonNode literalJson(ArrowType type, Object v) {
    if (v == null) {
      return F.nullNode();
    }
    return switch (TypeKind.of(type)) {
      case BOOL -> F.booleanNode((Boolean) v);
      case INT, UINT -> {
        long x = ((Number) v).longValue();
        if (TypeKind.of(type) == TypeKind.UINT && x < 0) {
          yield F.textNode(Long.toUnsignedString(x));
        }
        yield Math.abs(x) < (1L << 53) ? F.numberNode(x) : F.textNode(Long.toString(x));
      }
      case FLOAT -> {
        double d = ((Number) v).doubleValue();
        yield Double.isNaN(d) ? F.textNode("NaN") : Double.isInfinite(d)
            ? F.textNode(d > 0 ? "Infinity" : "-Infinity") : F.numberNode(d);
      }
      case DECIMAL -> F.textNode(((BigDecimal) v).toPlainString());
      case STRING -> F.textNode((String) v);
      case BINARY -> F.textNode(Base64.getEncoder().encodeToString((byte[]) v));
      case DATE32 -> F.textNode(LocalDate.ofEpochDay(((Number) v).longValue()).toString());
      default -> F.numberNode(((Number) v).longValue());
    };
  }
}
