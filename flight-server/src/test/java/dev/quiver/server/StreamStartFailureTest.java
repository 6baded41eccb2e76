package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.message.IpcOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A DoGet whose stream thread cannot be started (a full heap) fails and is not left running. */
@ExtendWith(LeakCheck.class)
class StreamStartFailureTest {

  /** An executor that cannot start a thread, as a cached pool on a full heap. */
  private static final class NoThreads extends AbstractExecutorService {
    @Override
    public void execute(Runnable command) {
      throw new OutOfMemoryError("Java heap space");
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  /** A call without middleware. */
  private static final class Context implements FlightProducer.CallContext {
    @Override
    public String peerIdentity() {
      return "";
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public <T extends org.apache.arrow.flight.FlightServerMiddleware> T getMiddleware(
        org.apache.arrow.flight.FlightServerMiddleware.Key<T> key) {
      return null;
    }

    @Override
    public java.util.Map<org.apache.arrow.flight.FlightServerMiddleware.Key<?>,
        org.apache.arrow.flight.FlightServerMiddleware> getMiddleware() {
      return java.util.Map.of();
    }
  }

  /** Records how the call ended. */
  private static final class Listener implements FlightProducer.ServerStreamListener {
    Throwable error;
    boolean completed;

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {}

    @Override
    public void setOnReadyHandler(Runnable handler) {}

    @Override
    public void setUseZeroCopy(boolean enabled) {}

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void start(VectorSchemaRoot root, DictionaryProvider dictionaries, IpcOption option) {}

    @Override
    public void putNext() {}

    @Override
    public void putNext(ArrowBuf metadata) {}

    @Override
    public void putMetadata(ArrowBuf metadata) {}

    @Override
    public void error(Throwable ex) {
      error = ex;
    }

    @Override
    public void completed() {
      completed = true;
    }
  }

  @Test
  void aStreamThatCannotStartFailsWithTheHeapErrorAndIsNotCountedAsRunning(EngineMemory memory)
      throws Exception {
    try (Catalog catalog = new Catalog(memory);
        QueryEngine engine = new QueryEngine(catalog, ExecOptions.defaults());
        BufferAllocator transport = memory.child("transport")) {
      QuiverProducer producer = new QuiverProducer(memory, catalog,
          new EnginePlanExecutor(engine), transport, new NoThreads(), 64L << 20, 1 << 20);
      Listener listener = new Listener();
      producer.getStream(new Context(), new Ticket("anything".getBytes(StandardCharsets.UTF_8)), listener);
      assertFalse(listener.completed);
      assertTrue(listener.error instanceof FlightRuntimeException, String.valueOf(listener.error));
      CallStatus status = ((FlightRuntimeException) listener.error).status();
      assertEquals(FlightStatusCode.RESOURCE_EXHAUSTED, status.code());
      assertTrue(status.description().contains("Java heap"), status.description());
      assertEquals(0, producer.activeStreams());
    }
  }
}
