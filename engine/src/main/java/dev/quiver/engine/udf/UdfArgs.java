package dev.quiver.engine.udf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The keyword arguments a Python call passed (JSON values: strings, numbers, booleans, null,
 * lists, objects). Getters without a default throw {@link UdfException} naming the missing or
 * mistyped argument.
 */
public final class UdfArgs {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ObjectNode values;

  private UdfArgs(ObjectNode values) {
    this.values = values;
  }

  /** No arguments. */
  public static UdfArgs empty() {
    return new UdfArgs(JsonNodeFactory.instance.objectNode());
  }

  /** Parses a JSON object; null or blank means no arguments. */
  public static UdfArgs parse(String json) {
    if (json == null || json.isBlank()) {
      return empty();
    }
    try {
      return of(JSON.readTree(json));
    } catch (JsonProcessingException e) {
      throw new UdfException("arguments are not valid JSON: " + e.getOriginalMessage());
    }
  }

  /** Wraps a JSON object node (null or missing means no arguments). */
  public static UdfArgs of(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return empty();
    }
    if (!node.isObject()) {
      throw new UdfException("arguments must be a JSON object, got " + node.getNodeType());
    }
    return new UdfArgs((ObjectNode) node.deepCopy());
  }

  public boolean has(String name) {
    return values.hasNonNull(name);
  }

  public List<String> names() {
    List<String> out = new ArrayList<>();
    Iterator<String> it = values.fieldNames();
    it.forEachRemaining(out::add);
    return out;
  }

  public String string(String name) {
    JsonNode v = require(name);
    if (!v.isTextual()) {
      throw mistyped(name, "a string", v);
    }
    return v.textValue();
  }

  public String string(String name, String defaultValue) {
    return has(name) ? string(name) : defaultValue;
  }

  public double number(String name) {
    JsonNode v = require(name);
    if (!v.isNumber()) {
      throw mistyped(name, "a number", v);
    }
    return v.doubleValue();
  }

  public double number(String name, double defaultValue) {
    return has(name) ? number(name) : defaultValue;
  }

  public long integer(String name) {
    JsonNode v = require(name);
    if (!v.canConvertToLong() || !v.isIntegralNumber()) {
      throw mistyped(name, "an integer", v);
    }
    return v.longValue();
  }

  public long integer(String name, long defaultValue) {
    return has(name) ? integer(name) : defaultValue;
  }

  public boolean bool(String name, boolean defaultValue) {
    if (!has(name)) {
      return defaultValue;
    }
    JsonNode v = values.get(name);
    if (!v.isBoolean()) {
      throw mistyped(name, "a boolean", v);
    }
    return v.booleanValue();
  }

  /** The raw JSON value (null if absent). */
  public JsonNode json(String name) {
    return values.get(name);
  }

  /** Canonical JSON text (for caching objects by their arguments). */
  public String toJson() {
    return values.toString();
  }

  private JsonNode require(String name) {
    JsonNode v = values.get(name);
    if (v == null || v.isNull()) {
      throw new UdfException("missing argument '" + name + "'"
          + (values.isEmpty() ? "" : "; given: " + String.join(", ", names())));
    }
    return v;
  }

  private static UdfException mistyped(String name, String expected, JsonNode v) {
    return new UdfException("argument '" + name + "' must be " + expected + ", got " + v);
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
