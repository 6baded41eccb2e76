package dev.quiver.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.vector.compression.CompressionUtil;

/**
 * The wire formats of Quiver's Flight requests: descriptors, tickets and the compression option.
 * They are documented in docs/server.md; this class is their single implementation.
 *
 * <ul>
 *   <li>Descriptor path {@code [name]}: a dataset. For DoPut, {@code [name, "append"]} appends
 *       and {@code [name, "replace"]} (or just {@code [name]}) replaces.
 *   <li>Descriptor command: a JSON plan document.
 *   <li>Ticket: a bare dataset name (UTF-8), a dataset partition {@code
 *       {"dataset":"name","batches":[from,to]}}, or a plan document {@code {"version":1,...}}.
 *       A dataset ticket may carry {@code "compression":"zstd"|"lz4_frame"}.
 * </ul>
 */
public final class Requests {
  /** Request header asking the server to compress IPC bodies it sends. */
  public static final String COMPRESSION_HEADER = "x-quiver-compression";

  private static final ObjectMapper JSON = new ObjectMapper();

  private Requests() {}

  /** What a path descriptor asks for. */
  public record DatasetRef(String name, boolean append) {}

  /** A parsed ticket: either a dataset range or a plan. */
  public sealed interface TicketRequest permits DatasetTicket, PlanTicket {}

  /** Batches {@code [fromBatch, toBatch)} of a dataset; toBatch -1 means to the end. */
  public record DatasetTicket(String name, int fromBatch, int toBatch, Compression compression)
      implements TicketRequest {}

  public record PlanTicket(String planJson) implements TicketRequest {}

  /** IPC body compression the client may ask for. */
  public enum Compression {
    NONE(CompressionUtil.CodecType.NO_COMPRESSION),
    LZ4_FRAME(CompressionUtil.CodecType.LZ4_FRAME),
    ZSTD(CompressionUtil.CodecType.ZSTD);

    public final CompressionUtil.CodecType codec;

    Compression(CompressionUtil.CodecType codec) {
      this.codec = codec;
    }

    /** Parses "zstd", "lz4_frame" (or "lz4"), "none"; null or empty means no preference. */
    public static Compression parse(String s) {
      if (s == null || s.isBlank()) {
        return null;
      }
      return switch (s.trim().toLowerCase(Locale.ROOT)) {
        case "none", "uncompressed" -> NONE;
        case "lz4", "lz4_frame", "lz4-frame" -> LZ4_FRAME;
        case "zstd" -> ZSTD;
        default -> throw new IllegalArgumentException(
            "unknown compression '" + s + "'; use zstd, lz4_frame or none");
      };
    }
  }

  /** The dataset a path descriptor names; INVALID_ARGUMENT for anything else. */
  public static DatasetRef dataset(FlightDescriptor descriptor, boolean forPut) {
    if (descriptor == null || descriptor.isCommand()) {
      throw new IllegalArgumentException(
          "expected a path descriptor [name]" + (forPut ? " or [name, \"append\"]" : "")
              + ", got a command descriptor");
    }
    List<String> path = descriptor.getPath();
    if (path.size() == 1) {
      return new DatasetRef(path.get(0), false);
    }
    if (forPut && path.size() == 2) {
      String mode = path.get(1).toLowerCase(Locale.ROOT);
      if (mode.equals("append")) {
        return new DatasetRef(path.get(0), true);
      }
      if (mode.equals("replace")) {
        return new DatasetRef(path.get(0), false);
      }
      throw new IllegalArgumentException(
          "second descriptor path element must be \"append\" or \"replace\", got '"
              + path.get(1) + "'");
    }
    throw new IllegalArgumentException("expected a path descriptor [name]"
        + (forPut ? " or [name, \"append\"]" : "") + ", got a path of " + path.size()
        + " elements " + path);
  }

  public static String command(FlightDescriptor descriptor) {
    return new String(descriptor.getCommand(), StandardCharsets.UTF_8);
  }

  public static Ticket datasetTicket(String name, int fromBatch, int toBatch) {
    ObjectNode o = JSON.createObjectNode();
    o.put("dataset", name);
    o.putArray("batches").add(fromBatch).add(toBatch);
    return new Ticket(o.toString().getBytes(StandardCharsets.UTF_8));
  }

  public static Ticket planTicket(String planJson) {
    return new Ticket(planJson.getBytes(StandardCharsets.UTF_8));
  }

  public static TicketRequest parseTicket(Ticket ticket) {
    String text = new String(ticket.getBytes(), StandardCharsets.UTF_8);
    String trimmed = text.strip();
    if (!trimmed.startsWith("{")) {
      return new DatasetTicket(trimmed, 0, -1, null);
    }
    JsonNode doc;
    try {
      doc = JSON.readTree(trimmed);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("ticket is not valid JSON: " + e.getOriginalMessage());
    }
    if (doc.has("dataset")) {
      JsonNode name = doc.get("dataset");
      if (!name.isTextual()) {
        throw new IllegalArgumentException("ticket 'dataset' must be a string");
      }
      int from = 0;
      int to = -1;
      JsonNode range = doc.get("batches");
      if (range != null) {
        if (!range.isArray() || range.size() != 2 || !range.get(0).isInt()
            || !range.get(1).isInt() || range.get(0).intValue() < 0
            || range.get(1).intValue() < range.get(0).intValue()) {
          throw new IllegalArgumentException(
              "ticket 'batches' must be [from, to] with 0 <= from <= to, got " + range);
        }
        from = range.get(0).intValue();
        to = range.get(1).intValue();
      }
      JsonNode c = doc.get("compression");
      return new DatasetTicket(name.textValue(), from, to,
          Compression.parse(c == null ? null : c.asText()));
    }
    if (doc.has("plan")) {
      return new PlanTicket(trimmed);
    }
    throw new IllegalArgumentException(
        "ticket must be a dataset name, {\"dataset\":...} or a plan document {\"version\":1,"
            + "\"plan\":...}");
  }
}
