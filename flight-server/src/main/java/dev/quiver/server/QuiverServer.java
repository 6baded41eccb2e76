package dev.quiver.server;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.memory.EngineMemory;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Quiver Flight server: the gRPC endpoint, its producer and the memory it uses. The
 * catalog and engine memory belong to the caller and outlive the server.
 */
public final class QuiverServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(QuiverServer.class);

  private final FlightServer server;
  private final QuiverProducer producer;
  private final BufferAllocator transport;
  private final ExecutorService streamPool;
  /** Runs gRPC's call callbacks and Flight's handlers. */
  private final ExecutorService callbacks;
  private final List<EventLoopGroup> eventLoops;
  private final Location location;
  private final Duration drainTimeout;
  private boolean closed;

  private QuiverServer(FlightServer server, QuiverProducer producer, BufferAllocator transport,
      ExecutorService streamPool, ExecutorService callbacks, List<EventLoopGroup> eventLoops,
      Location location,
      Duration drainTimeout) {
    this.eventLoops = eventLoops;
    this.server = server;
    this.producer = producer;
    this.transport = transport;
    this.streamPool = streamPool;
    this.callbacks = callbacks;
    this.location = location;
    this.drainTimeout = drainTimeout;
  }

  /**
   * Binds and starts serving.
   *
   * @throws IOException if the address cannot be bound (port in use, no such interface)
   */
  public static QuiverServer start(ServerConfig config, EngineMemory memory, Catalog catalog,
      PlanExecutor executor) throws IOException {
    config.validate();
    BufferAllocator transport = memory.child("flight-transport");
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, daemonThreads("quiver-accept-"),
        NioIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(0, daemonThreads("quiver-io-"),
        NioIoHandler.newFactory());
    ExecutorService pool = Executors.newCachedThreadPool(daemonThreads("quiver-stream-"));
    // Ours rather than Flight's default, which Flight shuts down when the drain starts: the
    // completion or cancel of a call still running then could not be delivered, and the call
    // never released what it held.
    ExecutorService callbacks = Executors.newCachedThreadPool(daemonThreads("quiver-grpc-"));
    try {
      QuiverProducer producer = new QuiverProducer(memory, catalog, executor, transport, pool,
          config.partitionBytes(), config.maxMessageBytes());
      Location bind = config.tlsEnabled()
          ? Location.forGrpcTls(config.host(), config.port())
          : Location.forGrpcInsecure(config.host(), config.port());
      Consumer<NettyServerBuilder> netty = b -> {
        if (config.flowWindowBytes() > 0) {
          b.flowControlWindow(config.flowWindowBytes());
        }
        b.maxInboundMessageSize(config.maxMessageBytes());
        // Netty's default 32-64 KiB write watermarks make HTTP/2 flow control stop and resume
        // the socket writer every 64 KiB; megabyte batches want a deeper socket queue.
        b.withChildOption(io.netty.channel.ChannelOption.WRITE_BUFFER_WATER_MARK,
            new io.netty.channel.WriteBufferWaterMark(1 << 20, 4 << 20));
        DecodeFailureInterceptor.install(b, pool);
        // gRPC wants the channel type and both event loop groups together; they are ours to
        // shut down after the server (see drainAndClose).
        b.channelType(DirectWriteServerChannel.class)
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers);
      };
      FlightServer.Builder builder = FlightServer.builder(transport, bind, producer)
          .middleware(CallTracker.KEY, new CallTracker.Factory())
          .maxInboundMessageSize(config.maxMessageBytes())
          .backpressureThreshold(config.backpressureBytes())
          .executor(callbacks)
          .transportHint("grpc.builderConsumer", netty);
      if (config.authEnabled()) {
        builder.headerAuthenticator(new TokenAuthenticator(config.tokens(), config.users()));
      }
      if (config.tlsEnabled()) {
        builder.useTls(config.tlsCert().toFile(), config.tlsKey().toFile());
        if (config.tlsClientCa() != null) {
          builder.useMTlsClientVerification(config.tlsClientCa().toFile());
        }
      }
      FlightServer server = builder.build();
      server.start();
      Location actual = config.tlsEnabled()
          ? Location.forGrpcTls(config.host(), server.getPort())
          : Location.forGrpcInsecure(config.host(), server.getPort());
      LOG.info("serving {} (tls={}, auth={}, datasets={}, max message {} MB)", actual.getUri(),
          config.tlsEnabled(), config.authEnabled(), catalog.size(),
          config.maxMessageBytes() >> 20);
      return new QuiverServer(server, producer, transport, pool, callbacks, List.of(boss, workers),
          actual, config.drainTimeout());
    } catch (IOException | RuntimeException e) {
      pool.shutdownNow();
      callbacks.shutdownNow();
      boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      transport.close();
      throw e;
    }
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public Location location() {
    return location;
  }

  public int port() {
    return server.getPort();
  }

  public int activeStreams() {
    return producer.activeStreams();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Stops accepting calls, lets running streams finish for up to {@code timeout}, then aborts
   * what is left (UNAVAILABLE) and releases the server's memory.
   */
  public synchronized void drainAndClose(Duration timeout) throws InterruptedException {
    if (closed) {
      return;
    }
    closed = true;
    producer.beginDrain();
    server.shutdown();
    boolean drained = server.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (!drained) {
      LOG.warn("{} streams still running after {} ms; aborting them", producer.activeStreams(),
          timeout.toMillis());
      producer.abortStreams();
    }
    server.close();
    // The calls gRPC ended last may still have their completion queued here.
    callbacks.shutdown();
    if (!callbacks.awaitTermination(5, TimeUnit.SECONDS)) {
      callbacks.shutdownNow();
    }
    streamPool.shutdown();
    if (!streamPool.awaitTermination(5, TimeUnit.SECONDS)) {
      streamPool.shutdownNow();
    }
    for (EventLoopGroup group : eventLoops) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
    transport.close();
    LOG.info("server stopped ({})", drained ? "drained" : "aborted running streams");
  }

  @Override
  public void close() throws InterruptedException {
    drainAndClose(drainTimeout);
  }
}
