package dev.quiver.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import java.util.Map;
import java.util.TreeSet;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The stand-in plan executor used until the query engine is plugged in: it understands exactly
 * two plans,
 *
 * <pre>{@code
 * {"version":1,"plan":{"node":"input","name":"input"}}   // stream the named input through
 * {"version":1,"plan":{"node":"scan","dataset":"lineitem"}}  // read a dataset
 * }</pre>
 *
 * and refuses anything else with an {@link IllegalArgumentException} naming the problem.
 */
public final class IdentityPlanExecutor implements PlanExecutor {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Catalog catalog;

  public IdentityPlanExecutor(Catalog catalog) {
    this.catalog = catalog;
  }

  private record Node(String kind, String name) {}

  private static Node parse(String planJson) {
    JsonNode doc;
    try {
      doc = JSON.readTree(planJson);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("plan is not valid JSON: " + e.getOriginalMessage());
    }
    if (doc == null || !doc.isObject()) {
      throw new IllegalArgumentException("plan must be a JSON object with 'version' and 'plan'");
    }
    JsonNode version = doc.get("version");
    if (version == null || !version.isInt() || version.intValue() != 1) {
      throw new IllegalArgumentException("plan 'version' must be 1, got " + version);
    }
    JsonNode plan = doc.get("plan");
    if (plan == null || !plan.isObject()) {
      throw new IllegalArgumentException("plan document has no 'plan' object");
    }
    String node = plan.path("node").asText("");
    return switch (node) {
      case "input" -> new Node("input", requireText(plan, "name", "input"));
      case "scan" -> new Node("scan", requireText(plan, "dataset", "scan"));
      default -> throw new IllegalArgumentException(
          "plan node '" + node + "' is not supported by this server (it runs only 'input' and "
              + "'scan' plans until the query engine is plugged in)");
    };
  }

  private static String requireText(JsonNode plan, String field, String node) {
    JsonNode v = plan.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException("'" + node + "' node needs a string '" + field + "'");
    }
    return v.textValue();
  }

  @Override
  public Schema outputSchema(String planJson, Map<String, Schema> inputs) {
    Node n = parse(planJson);
    if (n.kind().equals("input")) {
      Schema s = inputs.get(n.name());
      if (s == null) {
        throw unknownInput(n.name(), inputs.keySet());
      }
      return s;
    }
    try (Dataset d = catalog.get(n.name())) {
      return BatchSource.toMessageSchema(d.schema(), d.dictionaries());
    }
  }

  @Override
  public ArrowReader execute(
      String planJson, Map<String, ArrowReader> inputs, BufferAllocator allocator) {
    Node n = parse(planJson);
    if (n.kind().equals("input")) {
      ArrowReader in = inputs.get(n.name());
      if (in == null) {
        throw unknownInput(n.name(), inputs.keySet());
      }
      return new SharingReader(allocator, new ReaderSource(in), false);
    }
    return new SharingReader(allocator, new DatasetSource(catalog.get(n.name())), true);
  }

  private static IllegalArgumentException unknownInput(String name, java.util.Set<String> have) {
    return new IllegalArgumentException(
        "plan reads input '" + name + "' but this call provides " + new TreeSet<>(have));
  }
}
