package dev.quiver.engine.udf;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.TransferPair;

/** A live {@link ObjectUdf} and its callable {@link UdfMethod} methods. */
public final class UdfInstance implements AutoCloseable {
  private final UdfCatalog.Entry entry;
  private final ObjectUdf object;
  private final Map<String, Method> methods;
  private boolean closed;

  UdfInstance(UdfCatalog.Entry entry, ObjectUdf object) {
    this.entry = entry;
    this.object = object;
    this.methods = methodsOf(entry.type());
  }

  /** The {@link UdfMethod} methods of a class by name; validates their shapes. */
  static Map<String, Method> methodsOf(Class<?> type) {
    Map<String, Method> out = new TreeMap<>();
    for (Method m : type.getMethods()) {
      if (!m.isAnnotationPresent(UdfMethod.class) || Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      Class<?>[] p = m.getParameterTypes();
      boolean perBatch = p.length == 3 && p[0] == VectorSchemaRoot.class
          && p[1] == UdfArgs.class && p[2] == BufferAllocator.class
          && m.getReturnType() == VectorSchemaRoot.class;
      boolean perStream = p.length == 3 && p[0] == ArrowReader.class && p[1] == UdfArgs.class
          && p[2] == BufferAllocator.class && ArrowReader.class.isAssignableFrom(m.getReturnType());
      if (!perBatch && !perStream) {
        throw new UdfException("@UdfMethod " + type.getName() + "." + m.getName()
            + " must be (VectorSchemaRoot, UdfArgs, BufferAllocator) -> VectorSchemaRoot or "
            + "(ArrowReader, UdfArgs, BufferAllocator) -> ArrowReader");
      }
      if (out.put(m.getName(), m) != null) {
        throw new UdfException("@UdfMethod " + type.getName() + "." + m.getName()
            + " is overloaded; give each method its own name");
      }
    }
    return out;
  }

  public UdfCatalog.Entry entry() {
    return entry;
  }

  /** The underlying object (for Java callers). */
  public ObjectUdf object() {
    return object;
  }

  public List<String> methodNames() {
    return List.copyOf(methods.keySet());
  }

  /**
   * Calls a method over a stream; the result streams lazily (a per-batch method runs as each
   * input batch is pulled). The caller keeps owning {@code input}.
   */
  public ArrowReader call(String method, ArrowReader input, UdfArgs args,
      BufferAllocator allocator) throws Exception {
    Method m = methods.get(method);
    if (m == null) {
      throw new UdfException(entry.className() + " has no @UdfMethod '" + method
          + "'; methods: " + String.join(", ", methods.keySet()));
    }
    if (closed) {
      throw new UdfException(entry.className() + " object is closed");
    }
    if (m.getParameterTypes()[0] == ArrowReader.class) {
      return (ArrowReader) invoke(m, input, args, allocator);
    }
    return new PerBatchReader(m, input, args, allocator);
  }

  public ArrowReader call(String method, ArrowReader input, String argsJson,
      BufferAllocator allocator) throws Exception {
    return call(method, input, UdfArgs.parse(argsJson), allocator);
  }

  private Object invoke(Method m, Object input, UdfArgs args, BufferAllocator allocator)
      throws Exception {
    try {
      synchronized (this) {
        return m.invoke(object, input, args, allocator);
      }
    } catch (InvocationTargetException e) {
      Throwable c = e.getCause();
      if (c instanceof Exception ex) {
        throw ex;
      }
      throw e;
    }
  }

  @Override
  public synchronized void close() throws Exception {
    if (!closed) {
      closed = true;
      object.close();
    }
  }

  /** Streams a per-batch method: the first result fixes the schema. */
  private final class PerBatchReader extends ArrowReader {
    private final Method method;
    private final ArrowReader input;
    private final UdfArgs args;
    private final BufferAllocator allocator;
    private VectorSchemaRoot first;
    private boolean firstTaken;
    private boolean inputHadBatch;

    PerBatchReader(Method method, ArrowReader input, UdfArgs args, BufferAllocator allocator) {
      super(allocator);
      this.method = method;
      this.input = input;
      this.args = args;
      this.allocator = allocator;
    }

    private VectorSchemaRoot apply(VectorSchemaRoot batch) throws IOException {
      try {
        VectorSchemaRoot out = (VectorSchemaRoot) invoke(method, batch, args, allocator);
        if (out == null) {
          throw new UdfException(entry.className() + "." + method.getName() + " returned null");
        }
        return out;
      } catch (IOException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new UdfException(entry.className() + "." + method.getName() + " failed: "
            + e.getMessage(), e);
      }
    }

    @Override
    protected Schema readSchema() throws IOException {
      inputHadBatch = input.loadNextBatch();
      if (inputHadBatch) {
        first = apply(input.getVectorSchemaRoot());
      } else {
        try (VectorSchemaRoot empty = VectorSchemaRoot.create(input.getVectorSchemaRoot()
            .getSchema(), allocator)) {
          empty.setRowCount(0);
          first = apply(empty);
        }
      }
      return first.getSchema();
    }

    @Override
    public boolean loadNextBatch() throws IOException {
      VectorSchemaRoot root = getVectorSchemaRoot(); // computes `first` on the first call
      VectorSchemaRoot result;
      if (!firstTaken) {
        firstTaken = true;
        if (!inputHadBatch) {
          first.close();
          first = null;
          return false;
        }
        result = first;
        first = null;
      } else {
        if (!input.loadNextBatch()) {
          return false;
        }
        result = apply(input.getVectorSchemaRoot());
      }
      try {
        List<FieldVector> from = result.getFieldVectors();
        if (!result.getSchema().equals(root.getSchema())) {
          throw new UdfException(entry.className() + "." + method.getName()
              + " returned batches of different schemas: " + root.getSchema() + " then "
              + result.getSchema());
        }
        for (int i = 0; i < from.size(); i++) {
          TransferPair tp = from.get(i).makeTransferPair(root.getVector(i));
          tp.transfer();
        }
        root.setRowCount(result.getRowCount());
      } finally {
        result.close();
      }
      return true;
    }

    @Override
    public long bytesRead() {
      return 0;
    }

    @Override
    protected void closeReadSource() {
      if (first != null) {
        first.close();
        first = null;
      }
    }
  }
}
