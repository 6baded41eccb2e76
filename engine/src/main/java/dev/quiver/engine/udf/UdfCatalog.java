package dev.quiver.engine.udf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * The user code found on a class path: every {@link QuiverUdf} listed in
 * {@code META-INF/services/dev.quiver.engine.udf.QuiverUdf}, by its {@link Udf#name()} and by its
 * class name. Classes are loaded but not instantiated until used. Immutable once loaded.
 */
public final class UdfCatalog {
  /** What a registered class is. */
  public enum Kind {
    SCALAR, BATCH, OBJECT
  }

  /**
   * One registered class. {@code kind} is its primary kind (scalar before batch); a class that
   * implements both {@link ScalarUdf} and {@link BatchUdf} is usable both ways, so one kernel
   * serves plans and whole-stream calls.
   */
  public record Entry(String name, String className, Kind kind, String description,
      Class<? extends QuiverUdf> type) {}

  private final Map<String, Entry> byKey;
  private final List<Entry> entries;

  private UdfCatalog(List<Entry> entries) {
    this.entries = List.copyOf(entries);
    Map<String, Entry> keys = new LinkedHashMap<>();
    for (Entry e : entries) {
      keys.put(e.className(), e);
      keys.putIfAbsent(e.name().toLowerCase(Locale.ROOT), e);
    }
    this.byKey = Collections.unmodifiableMap(keys);
  }

  /** The user code visible to the thread's context class loader (or this class's loader). */
  public static UdfCatalog load() {
    ClassLoader cl = Thread.currentThread().getContextClassLoader();
    return load(cl != null ? cl : UdfCatalog.class.getClassLoader());
  }

  /**
   * Loads every registered class of {@code loader}.
   *
   * @throws UdfException naming the class if one is not a proper Quiver UDF (no {@link Udf}
   *     annotation, no public no-argument constructor, not one of the three kinds)
   */
  public static UdfCatalog load(ClassLoader loader) {
    List<Entry> out = new ArrayList<>();
    try {
      for (ServiceLoader.Provider<QuiverUdf> p :
          ServiceLoader.load(QuiverUdf.class, loader).stream().toList()) {
        out.add(entry(p.type()));
      }
    } catch (ServiceConfigurationError e) {
      throw new UdfException("cannot load a Quiver UDF: " + e.getMessage(), e);
    }
    return new UdfCatalog(out);
  }

  /**
   * The user code in {@code jars} (and on the class path), through a new class loader whose
   * parent is this class's loader. The loader lives as long as the classes are used.
   */
  public static UdfCatalog loadJars(List<java.nio.file.Path> jars) {
    java.net.URL[] urls = new java.net.URL[jars.size()];
    for (int i = 0; i < urls.length; i++) {
      java.nio.file.Path p = jars.get(i);
      if (!java.nio.file.Files.isRegularFile(p)) {
        throw new UdfException("UDF jar not found: " + p);
      }
      try {
        urls[i] = p.toUri().toURL();
      } catch (java.net.MalformedURLException e) {
        throw new UdfException("bad UDF jar path " + p + ": " + e.getMessage(), e);
      }
    }
    return load(new java.net.URLClassLoader("quiver-udf", urls, UdfCatalog.class.getClassLoader()));
  }

  /** A catalog of exactly these classes (for tests and embedding). */
  @SafeVarargs
  public static UdfCatalog of(Class<? extends QuiverUdf>... types) {
    List<Entry> out = new ArrayList<>();
    for (Class<? extends QuiverUdf> t : types) {
      out.add(entry(t));
    }
    return new UdfCatalog(out);
  }

  private static Entry entry(Class<? extends QuiverUdf> type) {
    Udf ann = type.getAnnotation(Udf.class);
    if (ann == null) {
      throw new UdfException(type.getName() + " is registered as a Quiver UDF but has no @Udf "
          + "annotation naming it");
    }
    Kind kind;
    if (ScalarUdf.class.isAssignableFrom(type)) {
      kind = Kind.SCALAR;
    } else if (BatchUdf.class.isAssignableFrom(type)) {
      kind = Kind.BATCH;
    } else if (ObjectUdf.class.isAssignableFrom(type)) {
      kind = Kind.OBJECT;
    } else {
      throw new UdfException(type.getName() + " must implement ScalarUdf, BatchUdf or ObjectUdf");
    }
    return new Entry(ann.name(), type.getName(), kind, ann.description(), type);
  }

  public List<Entry> entries() {
    return entries;
  }

  /** Whether a class can act as {@code kind} (a class may be both scalar and batch UDF). */
  public static boolean implementsKind(Class<?> type, Kind kind) {
    return switch (kind) {
      case SCALAR -> ScalarUdf.class.isAssignableFrom(type);
      case BATCH -> BatchUdf.class.isAssignableFrom(type);
      case OBJECT -> ObjectUdf.class.isAssignableFrom(type);
    };
  }

  /** The entry for a registered name (case-insensitive) or class name, or null. */
  public Entry find(String nameOrClass) {
    Entry e = byKey.get(nameOrClass);
    return e != null ? e : byKey.get(nameOrClass.toLowerCase(Locale.ROOT));
  }

  /**
   * @throws UdfException naming what was asked and what exists when there is no such entry or
   *     it is of another kind
   */
  public Entry require(String nameOrClass, Kind kind) {
    Entry e = find(nameOrClass);
    if (e == null) {
      TreeSet<String> known = new TreeSet<>();
      entries.stream().filter(x -> implementsKind(x.type(), kind))
          .forEach(x -> known.add(x.name() + " (" + x.className() + ")"));
      throw new UdfException("unknown function '" + nameOrClass + "': no "
          + kind.name().toLowerCase(Locale.ROOT) + " UDF of that name or class; registered: " + (known.isEmpty() ? "none" : String.join(", ", known))
          + ". Is its jar on the class path and listed in META-INF/services/"
          + QuiverUdf.class.getName() + "?");
    }
    if (!implementsKind(e.type(), kind)) {
      throw new UdfException("'" + nameOrClass + "' is a " + e.kind().name().toLowerCase(Locale.ROOT)
          + " UDF, not a " + kind.name().toLowerCase(Locale.ROOT) + " one");
    }
    return e;
  }

  /** Runs a {@link BatchUdf} over {@code input}; see {@link BatchUdf#apply} for ownership. */
  public ArrowReader runOperator(String nameOrClass, ArrowReader input, UdfArgs args,
      BufferAllocator allocator) throws Exception {
    Entry e = require(nameOrClass, Kind.BATCH);
    BatchUdf op = (BatchUdf) instantiate(e);
    return op.apply(input, args, allocator);
  }

  /** Same, with the arguments as JSON text (for callers outside Java). */
  public ArrowReader runOperator(String nameOrClass, ArrowReader input, String argsJson,
      BufferAllocator allocator) throws Exception {
    return runOperator(nameOrClass, input, UdfArgs.parse(argsJson), allocator);
  }

  /** Constructs and opens an {@link ObjectUdf}. The caller closes the returned instance. */
  public UdfInstance newObject(String nameOrClass, UdfArgs args) throws Exception {
    Entry e = require(nameOrClass, Kind.OBJECT);
    ObjectUdf obj = (ObjectUdf) instantiate(e);
    try {
      obj.open(args);
    } catch (Exception ex) {
      try {
        obj.close();
      } catch (Exception suppressed) {
        ex.addSuppressed(suppressed);
      }
      throw ex;
    }
    return new UdfInstance(e, obj);
  }

  public UdfInstance newObject(String nameOrClass, String argsJson) throws Exception {
    return newObject(nameOrClass, UdfArgs.parse(argsJson));
  }

  /** A new instance of a registered class through its public no-argument constructor. */
  public static QuiverUdf instantiate(Entry e) {
    try {
      return e.type().getConstructor().newInstance();
    } catch (NoSuchMethodException ex) {
      throw new UdfException(e.className() + " needs a public no-argument constructor");
    } catch (java.lang.reflect.InvocationTargetException ex) {
      Throwable c = ex.getCause();
      throw new UdfException("constructing " + e.className() + " failed: " + c, c);
    } catch (ReflectiveOperationException ex) {
      throw new UdfException("cannot construct " + e.className() + ": " + ex, ex);
    }
  }

  /**
   * Registers every {@link ScalarUdf} of this catalog in {@code registry} under its {@link
   * Udf#name()}, with its class name as an alias. One instance serves all queries, so a scalar
   * UDF must be thread-safe (stateless is simplest).
   */
  public void registerScalars(dev.quiver.engine.expr.FunctionRegistry registry) {
    for (Entry e : entries) {
      if (implementsKind(e.type(), Kind.SCALAR)) {
        registry.register(new UdfScalarFunction(e.name(), List.of(e.className()),
            (ScalarUdf) instantiate(e)));
      }
    }
  }

  /** The entries as JSON: {@code [{"name","class","kind","description"}...]}. */
  public String describeJson() {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      var node = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
      node.put("name", e.name());
      node.put("class", e.className());
      node.put("kind", e.kind().name().toLowerCase(Locale.ROOT));
      var kinds = node.putArray("kinds");
      for (Kind k : Kind.values()) {
        if (implementsKind(e.type(), k)) {
          kinds.add(k.name().toLowerCase(Locale.ROOT));
        }
      }
      node.put("description", e.description());
      if (e.kind() == Kind.OBJECT) {
        var methods = node.putArray("methods");
        UdfInstance.methodsOf(e.type()).keySet().forEach(methods::add);
      }
      sb.append(i == 0 ? "" : ",").append(node);
    }
    return sb.append(']').toString();
  }
}
