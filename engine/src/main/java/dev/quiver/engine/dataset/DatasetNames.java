package dev.quiver.engine.dataset;

import java.util.regex.Pattern;

/**
 * Dataset names are identifiers, never paths: they travel in Flight descriptors and may one day
 * name files, so anything that could escape a directory or confuse a log line is refused.
 */
public final class DatasetNames {
  public static final int MAX_LENGTH = 200;
  private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.\\-]*");

  private DatasetNames() {}

  /** Returns {@code name} if it is acceptable, else throws with the reason. */
  public static String validate(String name) {
    if (name == null || name.isEmpty()) {
      throw new InvalidDatasetName("dataset name must not be empty");
    }
    if (name.length() > MAX_LENGTH) {
      throw new InvalidDatasetName(
          "dataset name is " + name.length() + " characters long; the limit is " + MAX_LENGTH);
    }
    if (name.indexOf('\0') >= 0) {
      throw new InvalidDatasetName("dataset name must not contain a NUL character");
    }
    if (name.contains("..")) {
      throw new InvalidDatasetName("dataset name must not contain '..': " + printable(name));
    }
    if (!ALLOWED.matcher(name).matches()) {
      throw new InvalidDatasetName(
          "dataset name " + printable(name)
              + " may only use letters, digits, '_', '.', '-' and must not start with '.' or '-'");
    }
    return name;
  }

  private static String printable(String name) {
    StringBuilder sb = new StringBuilder("'");
    name.codePoints().limit(80).forEach(cp -> {
      if (cp < 0x20 || cp == 0x7f) {
        sb.append(String.format("\\x%02x", cp));
      } else {
        sb.appendCodePoint(cp);
      }
    });
    return sb.append('\'').toString();
  }

  /** Thrown for a name that {@link #validate} refuses. */
  public static final class InvalidDatasetName extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidDatasetName(String message) {
      super(message);
    }
  }
}
