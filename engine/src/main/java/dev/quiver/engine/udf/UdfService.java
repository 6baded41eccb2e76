package dev.quiver.engine.udf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * Serves user code to remote callers (the Flight server), which name it in JSON commands:
 *
 * <ul>
 *   <li>DoExchange {@code {"udf": {"operator": "com.acme.Clean", "args": {...}}}}: runs a {@link
 *       BatchUdf} over the exchanged stream;
 *   <li>DoExchange {@code {"udf": {"object": "com.acme.Model", "args": {...}, "method":
 *       "predict", "method_args": {...}}}}: calls a method of the object built with those
 *       constructor arguments; without {@code "method"} it only builds the object (so a bad
 *       argument fails at construction), with {@code "close": true} it releases it; both
 *       answer with an empty stream;
 *   <li>DoAction {@code udf.new} / {@code udf.close} with body {@code {"object": ..., "args":
 *       ...}}: builds (once) or releases that object; {@code udf.list}: {@link
 *       UdfCatalog#describeJson()}.
 * </ul>
 *
 * <p>Objects are identified by class and canonical constructor arguments, so clients need no
 * server-side handle: one instance serves every client asking for the same object, and calls on
 * it are serialized. At most {@link #MAX_OBJECTS} objects live at once (least recently used are
 * closed).
 */
public final class UdfService implements AutoCloseable {
  public static final int MAX_OBJECTS = 64;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final UdfCatalog catalog;
  private final Map<String, UdfInstance> objects = new LinkedHashMap<>(16, 0.75f, true);

  public UdfService(UdfCatalog catalog) {
    this.catalog = catalog;
  }

  public UdfCatalog catalog() {
    return catalog;
  }

  /** True if {@code command} is a UDF command rather than a plan document. */
  public static boolean isUdfCommand(String command) {
    if (command == null) {
      return false;
    }
    String t = command.stripLeading();
    if (!t.startsWith("{") || !t.contains("\"udf\"")) {
      return false;
    }
    try {
      return JSON.readTree(t).has("udf");
    } catch (JsonProcessingException e) {
      return false;
    }
  }

  /**
   * Runs a DoExchange UDF command over {@code input}. The caller keeps owning {@code input} and
   * closes it after the returned reader.
   */
  public ArrowReader execute(String command, ArrowReader input, BufferAllocator allocator)
      throws Exception {
    JsonNode udf = parse(command).get("udf");
    if (udf == null || !udf.isObject()) {
      throw new UdfException("a UDF command is {\"udf\": {\"operator\": ...} or {\"object\": ..., "
          + "\"method\": ...}}");
    }
    if (udf.has("operator")) {
      return catalog.runOperator(text(udf, "operator"), input, UdfArgs.of(udf.get("args")),
          allocator);
    }
    if (udf.has("object")) {
      String cls = text(udf, "object");
      UdfArgs args = UdfArgs.of(udf.get("args"));
      if (udf.path("close").asBoolean(false)) {
        action("udf.close", JSON.createObjectNode().put("object", cls)
            .set("args", JSON.readTree(args.toJson())).toString());
        return UdfReaders.empty(allocator);
      }
      UdfInstance obj = object(cls, args);
      if (!udf.has("method")) {
        return UdfReaders.empty(allocator); // construction only: errors surface now
      }
      return obj.call(text(udf, "method"), input, UdfArgs.of(udf.get("method_args")), allocator);
    }
    throw new UdfException("a UDF command needs \"operator\" or \"object\"; got " + udf);
  }

  /** Handles a DoAction; returns the JSON result. */
  public String action(String type, String body) throws Exception {
    switch (type) {
      case "udf.list":
        return catalog.describeJson();
      case "udf.new": {
        JsonNode b = parse(body);
        UdfInstance obj = object(text(b, "object"), UdfArgs.of(b.get("args")));
        return JSON.createObjectNode().put("object", obj.entry().className())
            .put("methods", String.join(",", obj.methodNames())).toString();
      }
      case "udf.close": {
        JsonNode b = parse(body);
        String key = key(text(b, "object"), UdfArgs.of(b.get("args")));
        UdfInstance removed;
        synchronized (objects) {
          removed = objects.remove(key);
        }
        if (removed != null) {
          removed.close();
        }
        return JSON.createObjectNode().put("closed", removed != null).toString();
      }
      default:
        throw new UdfException("unknown UDF action '" + type + "'; known: udf.list, udf.new, "
            + "udf.close");
    }
  }

  private UdfInstance object(String cls, UdfArgs args) throws Exception {
    String key = key(cls, args);
    UdfInstance evicted = null;
    UdfInstance obj;
    synchronized (objects) {
      obj = objects.get(key);
      if (obj == null) {
        obj = catalog.newObject(cls, args);
        objects.put(key, obj);
        if (objects.size() > MAX_OBJECTS) {
          String eldest = objects.keySet().iterator().next();
          evicted = objects.remove(eldest);
        }
      }
    }
    if (evicted != null) {
      evicted.close();
    }
    return obj;
  }

  private String key(String cls, UdfArgs args) {
    UdfCatalog.Entry e = catalog.require(cls, UdfCatalog.Kind.OBJECT);
    return e.className() + " " + args.toJson();
  }

  private static JsonNode parse(String json) {
    try {
      JsonNode n = JSON.readTree(json == null ? "" : json);
      if (n == null || !n.isObject()) {
        throw new UdfException("expected a JSON object, got: " + json);
      }
      return n;
    } catch (JsonProcessingException e) {
      throw new UdfException("not valid JSON: " + e.getOriginalMessage());
    }
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new UdfException("UDF command field '" + field + "' must be a string");
    }
    return v.textValue();
  }

  @Override
  public void close() throws Exception {
    Exception first = null;
    synchronized (objects) {
      for (UdfInstance o : objects.values()) {
        try {
          o.close();
        } catch (Exception e) {
          if (first == null) {
            first = e;
          }
        }
      }
      objects.clear();
    }
    if (first != null) {
      throw first;
    }
  }
}
