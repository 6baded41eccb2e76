package dev.quiver.engine.dataset;

/** No dataset of that name is committed in the catalog. */
public final class DatasetNotFound extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String name;

  public DatasetNotFound(String name) {
    super("dataset '" + name + "' not found");
    this.name = name;
  }

  public String name() {
    return name;
  }
}
