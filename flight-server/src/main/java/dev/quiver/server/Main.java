package dev.quiver.server;

import ch.qos.logback.classic.Level;
import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.exec.ExecOptions;
import dev.quiver.engine.exec.QueryEngine;
import dev.quiver.engine.expr.FunctionRegistry;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.tpch.TpchGenerator;
import dev.quiver.engine.udf.UdfCatalog;
import dev.quiver.engine.udf.UdfService;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar quiver-server.jar}: the Quiver Arrow Flight server. */
@Command(
    name = "quiver-server",
    mixinStandardHelpOptions = true,
    version = "quiver-server 0.1.0",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
        "Serves Quiver datasets and plans over Arrow Flight.",
        "Every option can also be set with the environment variable shown in brackets;",
        "a flag wins over the variable. See docs/server.md."})
public final class Main implements Callable<Integer> {
  @Option(names = "--host", defaultValue = "${env:QUIVER_HOST:-127.0.0.1}",
      description = "Address to bind [QUIVER_HOST] (default: ${DEFAULT-VALUE}). A non-loopback "
          + "address needs authentication or --insecure.")
  String host;

  @Option(names = "--port", defaultValue = "${env:QUIVER_PORT:-8815}",
      description = "Port; 0 picks a free one [QUIVER_PORT] (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--tpch-scale", defaultValue = "${env:QUIVER_TPCH_SCALE:-0}",
      description = "Register the TPC-H tables at this scale factor at start-up, e.g. 0.1; "
          + "0 registers none [QUIVER_TPCH_SCALE] (default: ${DEFAULT-VALUE}).")
  double tpchScale;

  @Option(names = "--memory-limit", defaultValue = "${env:QUIVER_MEMORY_LIMIT:-8g}",
      description = "Off-heap memory limit for datasets and streams, bytes with optional k/m/g "
          + "suffix [QUIVER_MEMORY_LIMIT] (default: ${DEFAULT-VALUE}).")
  String memoryLimit;

  @Option(names = "--memory-cache", defaultValue = "${env:QUIVER_MEMORY_CACHE:-auto}",
      description = "Most bytes of freed large blocks kept for reuse (k/m/g suffix), 0 for none, "
          + "auto for an eighth of the memory limit up to 512m; a block unused for 5 s is given "
          + "back [QUIVER_MEMORY_CACHE] (default: ${DEFAULT-VALUE}).")
  String memoryCache;

  @Option(names = "--threads", defaultValue = "${env:QUIVER_THREADS:-0}",
      description = "Worker threads per query phase; 0 uses every core [QUIVER_THREADS] "
          + "(default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--partition-size", defaultValue = "${env:QUIVER_PARTITION_SIZE:-64m}",
      description = "Target bytes per FlightInfo endpoint; larger datasets are split into "
          + "several [QUIVER_PARTITION_SIZE] (default: ${DEFAULT-VALUE}).")
  String partitionSize;

  @Option(names = "--max-message-size", defaultValue = "${env:QUIVER_MAX_MESSAGE_SIZE:-auto}",
      description = "Largest inbound gRPC message (one FlightData), at most half of Netty's "
          + "direct memory (-XX:MaxDirectMemorySize, by default -Xmx); auto for 256m or a "
          + "quarter of that memory if less [QUIVER_MAX_MESSAGE_SIZE] (default: ${DEFAULT-VALUE}).")
  String maxMessageSize;

  @Option(names = "--flow-window", defaultValue = "${env:QUIVER_FLOW_WINDOW:-0}",
      description = "HTTP/2 flow-control window in bytes; 0 keeps gRPC's auto-tuning "
          + "[QUIVER_FLOW_WINDOW] (default: ${DEFAULT-VALUE}).")
  String flowWindow;

  @Option(names = "--backpressure-size", defaultValue = "${env:QUIVER_BACKPRESSURE_SIZE:-8m}",
      description = "Bytes gRPC may queue per output stream before the server waits for the "
          + "client [QUIVER_BACKPRESSURE_SIZE] (default: ${DEFAULT-VALUE}).")
  String backpressureSize;

  @Option(names = "--tls-cert", defaultValue = "${env:QUIVER_TLS_CERT}",
      description = "PEM certificate chain; enables TLS [QUIVER_TLS_CERT].")
  Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${env:QUIVER_TLS_KEY}",
      description = "PEM private key (PKCS#8) for --tls-cert [QUIVER_TLS_KEY].")
  Path tlsKey;

  @Option(names = "--tls-client-ca", defaultValue = "${env:QUIVER_TLS_CLIENT_CA}",
      description = "PEM CA; clients must present a certificate it signed (mutual TLS) "
          + "[QUIVER_TLS_CLIENT_CA].")
  Path tlsClientCa;

  @Option(names = "--tokens-file", defaultValue = "${env:QUIVER_TOKENS_FILE}",
      description = "File with accepted bearer tokens, one per line ('#' comments) "
          + "[QUIVER_TOKENS_FILE]. Tokens may also come from QUIVER_TOKENS (comma-separated).")
  Path tokensFile;

  @Option(names = "--tokens", defaultValue = "${env:QUIVER_TOKENS}", split = ",",
      description = "Accepted bearer tokens, comma-separated [QUIVER_TOKENS]. Prefer the "
          + "variable or --tokens-file: flags are visible in the process list.")
  List<String> tokens;

  @Option(names = "--users-file", defaultValue = "${env:QUIVER_USERS_FILE}",
      description = "File of 'user:password' lines enabling the basic-auth handshake that "
          + "returns a bearer token [QUIVER_USERS_FILE].")
  Path usersFile;

  @Option(names = "--insecure", defaultValue = "${env:QUIVER_INSECURE:-false}",
      description = "Allow a non-loopback bind without authentication [QUIVER_INSECURE].")
  boolean insecure;

  @Option(names = "--drain-timeout", defaultValue = "${env:QUIVER_DRAIN_TIMEOUT:-30}",
      description = "Seconds SIGTERM waits for running streams before aborting them "
          + "[QUIVER_DRAIN_TIMEOUT] (default: ${DEFAULT-VALUE}).")
  double drainTimeout;

  @Option(names = {"--classpath", "--udf-jars"}, defaultValue = "${env:QUIVER_CLASSPATH}",
      split = "[,:]", splitSynopsisLabel = ":",
      description = "Jars with user functions (Quiver UDFs, docs/java-functions.md), separated "
          + "by ':' or ',' [QUIVER_CLASSPATH]. Jars on the JVM class path (-cp) work too.")
  List<Path> udfJars;

  @Option(names = "--log-level", defaultValue = "${env:QUIVER_LOG_LEVEL:-INFO}",
      description = "Root log level: ERROR, WARN, INFO, DEBUG [QUIVER_LOG_LEVEL] "
          + "(default: ${DEFAULT-VALUE}).")
  String logLevel;

  @Option(names = "--access-log", defaultValue = "${env:QUIVER_ACCESS_LOG:-true}",
      negatable = true, fallbackValue = "true",
      description = "One log line per call on logger quiver.access [QUIVER_ACCESS_LOG] "
          + "(default: ${DEFAULT-VALUE}).")
  boolean accessLog;

  public static void main(String[] args) {
    // Before any Netty class loads: with java.nio opened (the jar's Add-Opens) this lets Netty
    // allocate its pooled chunks without ByteBuffer.allocateDirect, which zeroes every new chunk
    // (3% of the server's CPU on uploads, where receive buffers come and go). An explicit
    // -Dio.netty.tryReflectionSetAccessible=false still wins.
    if (System.getProperty("io.netty.tryReflectionSetAccessible") == null) {
      System.setProperty("io.netty.tryReflectionSetAccessible", "true");
    }
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit code (for tests). */
  public static int run(String... args) {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      cmd.getErr().println("quiver-server: " + oneLine(ex));
      return 2;
    });
    return cl.execute(args);
  }

  static String oneLine(Throwable ex) {
    String m = ex.getMessage();
    return (m == null ? ex.getClass().getSimpleName() : m).replace('\n', ' ');
  }

  @Override
  public Integer call() throws Exception {
    configureLogging();
    ServerConfig config = new ServerConfig(host, port, tlsCert, tlsKey, tlsClientCa,
        readTokens(), readUsers(), insecure, parseSize(partitionSize, "--partition-size"),
        "auto".equals(maxMessageSize) ? ServerConfig.defaultMaxMessageBytes()
            : toInt(parseSize(maxMessageSize, "--max-message-size"), "--max-message-size"),
        toInt(parseSize(flowWindow, "--flow-window"), "--flow-window"),
        toInt(parseSize(backpressureSize, "--backpressure-size"), "--backpressure-size"),
        Duration.ofMillis((long) (drainTimeout * 1000)));
    config.validate();
    long limit = parseSize(memoryLimit, "--memory-limit");
    long cache = "auto".equals(memoryCache) ? EngineMemory.defaultCacheBytes(limit)
        : parseSize(memoryCache, "--memory-cache");
    EngineMemory memory = new EngineMemory(limit, cache, EngineMemory.DEFAULT_CACHE_IDLE);
    Catalog catalog = new Catalog(memory);
    if (tpchScale > 0) {
      long t0 = System.nanoTime();
      new TpchGenerator(tpchScale).loadAll(catalog);
      LoggerFactory.getLogger(Main.class).info("registered TPC-H sf={} ({} tables) in {} ms",
          tpchScale, catalog.size(), (System.nanoTime() - t0) / 1_000_000);
    }
    if (threads < 0) {
      throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
    }
    ExecOptions execOptions = threads == 0 ? ExecOptions.defaults()
        : ExecOptions.defaults().withThreads(threads);
    UdfCatalog udfCatalog = udfJars == null || udfJars.isEmpty() ? UdfCatalog.load()
        : UdfCatalog.loadJars(udfJars);
    FunctionRegistry functions = FunctionRegistry.withBuiltinsAndServices();
    udfCatalog.registerScalars(functions);
    QueryEngine engine = new QueryEngine(catalog, execOptions, functions);
    UdfService udfService = new UdfService(udfCatalog);
    if (!udfCatalog.entries().isEmpty()) {
      LoggerFactory.getLogger(Main.class).info("user functions: {}", udfCatalog.entries().stream()
          .map(e -> e.name() + " (" + e.className() + ")").toList());
    }
    PlanExecutor executor = new UdfAwareExecutor(new EnginePlanExecutor(engine), udfService);
    QuiverServer server;
    try {
      server = QuiverServer.start(config, memory, catalog, executor);
    } catch (IOException e) {
      closeQuietly(udfService);
      engine.close();
      catalog.close();
      memory.close();
      Throwable cause = e;
      while (cause.getCause() != null && !(cause instanceof BindException)) {
        cause = cause.getCause();
      }
      throw new IllegalStateException("cannot listen on " + host + ":" + port + ": "
          + oneLine(cause), e);
    }
    Thread hook = new Thread(() -> {
      try {
        server.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        closeQuietly(udfService);
        engine.close();
        catalog.close();
        memory.close();
        ((ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory()).stop();
      }
    }, "quiver-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    out.println("quiver-server listening on " + server.location().getUri());
    out.flush();
    server.awaitTermination();
    return 0;
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      LoggerFactory.getLogger(Main.class).warn("closing {} failed: {}", c, e.toString());
    }
  }

  private void configureLogging() {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger)
        LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(logLevel, Level.INFO));
    ch.qos.logback.classic.Logger access =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("quiver.access");
    access.setLevel(accessLog ? Level.INFO : Level.OFF);
  }

  private List<String> readTokens() throws IOException {
    List<String> all = new ArrayList<>();
    if (tokens != null) {
      tokens.stream().map(String::strip).filter(s -> !s.isEmpty()).forEach(all::add);
    }
    if (tokensFile != null) {
      for (String line : Files.readAllLines(tokensFile, StandardCharsets.UTF_8)) {
        String t = line.strip();
        if (!t.isEmpty() && !t.startsWith("#")) {
          all.add(t);
        }
      }
    }
    return all;
  }

  private Map<String, String> readUsers() throws IOException {
    Map<String, String> users = new LinkedHashMap<>();
    if (usersFile == null) {
      return users;
    }
    int n = 0;
    for (String line : Files.readAllLines(usersFile, StandardCharsets.UTF_8)) {
      n++;
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("#")) {
        continue;
      }
      int colon = t.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException(usersFile + ":" + n + ": expected 'user:password'");
      }
      users.put(t.substring(0, colon), t.substring(colon + 1));
    }
    return users;
  }

  /** Parses "123", "64k", "8m", "2g" (binary multiples). */
  static long parseSize(String s, String option) {
    String t = s.strip().toLowerCase(Locale.ROOT);
    long mult = 1;
    if (t.endsWith("b")) {
      t = t.substring(0, t.length() - 1);
    }
    if (!t.isEmpty()) {
      switch (t.charAt(t.length() - 1)) {
        case 'k' -> mult = 1L << 10;
        case 'm' -> mult = 1L << 20;
        case 'g' -> mult = 1L << 30;
        case 't' -> mult = 1L << 40;
        default -> mult = 1;
      }
      if (mult != 1) {
        t = t.substring(0, t.length() - 1);
      }
    }
    try {
      double v = Double.parseDouble(t);
      if (v < 0) {
        throw new NumberFormatException();
      }
      return (long) (v * mult);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + ": not a size: '" + s + "' (e.g. 512m, 2g)");
    }
  }

  private static int toInt(long v, String option) {
    if (v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(option + " must be below 2g");
    }
    return (int) v;
  }
}
