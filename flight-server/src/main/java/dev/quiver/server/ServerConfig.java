package dev.quiver.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything that shapes a running server; {@link Main} fills it from flags and environment.
 *
 * @param partitionBytes target bytes per FlightInfo endpoint
 * @param maxMessageBytes largest inbound gRPC message (one FlightData) accepted
 * @param flowWindowBytes gRPC HTTP/2 flow-control window; 0 keeps gRPC's auto-tuning
 * @param backpressureBytes bytes gRPC may queue on an output stream before it reports not ready
 */
public record ServerConfig(
    String host,
    int port,
    Path tlsCert,
    Path tlsKey,
    Path tlsClientCa,
    List<String> tokens,
    Map<String, String> users,
    boolean insecure,
    long partitionBytes,
    int maxMessageBytes,
    int flowWindowBytes,
    int backpressureBytes,
    Duration drainTimeout) {

  public static final long DEFAULT_PARTITION_BYTES = 64L << 20;
  /** The largest default inbound message, where Netty's direct memory allows it. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 256 << 20;
  public static final int DEFAULT_BACKPRESSURE_BYTES = 8 << 20;

  /** Loopback, no auth, no TLS: for tests and embedding. */
  public static ServerConfig loopback(int port) {
    return new ServerConfig("127.0.0.1", port, null, null, null, List.of(), Map.of(), false,
        DEFAULT_PARTITION_BYTES, defaultMaxMessageBytes(), 0, DEFAULT_BACKPRESSURE_BYTES,
        Duration.ofSeconds(30));
  }

  /**
   * Netty's direct memory limit in this JVM: {@code -XX:MaxDirectMemorySize}, by default the
   * heap's {@code -Xmx} (or {@code -Dio.netty.maxDirectMemory}).
   */
  public static long nettyDirectMemory() {
    long max = io.netty.util.internal.PlatformDependent.maxDirectMemory();
    return max > 0 ? max : Long.MAX_VALUE;
  }

  /**
   * {@link #DEFAULT_MAX_MESSAGE_BYTES}, or a quarter of Netty's direct memory if that is less.
   *
   * <p>gRPC holds a whole inbound message in Netty's direct memory before the call sees it. A
   * message larger than that memory does not fail its call: Netty's allocation fails on the
   * connection's event loop and the connection is torn down (HTTP/2 GOAWAY), every call on it
   * with it. A quarter leaves room for two uploads at the limit at once; a message over the
   * limit is refused by gRPC alone with {@code RESOURCE_EXHAUSTED} before any of it is kept.
   */
  public static int defaultMaxMessageBytes() {
    return (int) Math.min(DEFAULT_MAX_MESSAGE_BYTES, nettyDirectMemory() / 4);
  }

  public ServerConfig withPartitionBytes(long bytes) {
    return new ServerConfig(host, port, tlsCert, tlsKey, tlsClientCa, tokens, users, insecure,
        bytes, maxMessageBytes, flowWindowBytes, backpressureBytes, drainTimeout);
  }

  public ServerConfig withMaxMessageBytes(int bytes) {
    return new ServerConfig(host, port, tlsCert, tlsKey, tlsClientCa, tokens, users, insecure,
        partitionBytes, bytes, flowWindowBytes, backpressureBytes, drainTimeout);
  }

  public ServerConfig withAuth(List<String> newTokens, Map<String, String> newUsers) {
    return new ServerConfig(host, port, tlsCert, tlsKey, tlsClientCa, newTokens, newUsers,
        insecure, partitionBytes, maxMessageBytes, flowWindowBytes, backpressureBytes,
        drainTimeout);
  }

  public boolean authEnabled() {
    return !tokens.isEmpty() || !users.isEmpty();
  }

  public boolean tlsEnabled() {
    return tlsCert != null;
  }

  /** Refuses unsafe or inconsistent settings with a one-line reason. */
  public void validate() {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535, got " + port);
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("--tls-cert and --tls-key must be given together");
    }
    if (tlsKey != null) {
      String head;
      try {
        head = java.nio.file.Files.readString(tlsKey).strip();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("cannot read --tls-key " + tlsKey + ": " + e);
      }
      if (head.startsWith("-----BEGIN RSA PRIVATE KEY-----")) {
        throw new IllegalArgumentException("--tls-key " + tlsKey + " is a PKCS#1 key; Netty needs "
            + "PKCS#8: convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`");
      }
    }
    if (tlsClientCa != null && tlsCert == null) {
      throw new IllegalArgumentException("--tls-client-ca (mutual TLS) needs --tls-cert/--tls-key");
    }
    if (partitionBytes <= 0 || maxMessageBytes <= 0 || backpressureBytes <= 0
        || flowWindowBytes < 0) {
      throw new IllegalArgumentException("sizes must be positive");
    }
    long direct = nettyDirectMemory();
    if (maxMessageBytes > direct / 2) {
      throw new IllegalArgumentException("--max-message-size " + (maxMessageBytes >> 20)
          + " MB is more than this JVM can buffer: gRPC holds a whole inbound message in "
          + "Netty's direct memory, which is " + (direct >> 20) + " MB here "
          + "(-XX:MaxDirectMemorySize, by default the -Xmx heap size); give at most half of it ("
          + (direct >> 21) + " MB), or raise -XX:MaxDirectMemorySize");
    }
    boolean loopback;
    try {
      InetAddress[] all = InetAddress.getAllByName(host);
      loopback = all.length > 0;
      for (InetAddress a : all) {
        loopback &= a.isLoopbackAddress();
      }
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("cannot resolve host '" + host + "'");
    }
    if (!loopback && !authEnabled() && !insecure) {
      throw new IllegalArgumentException("refusing to bind non-loopback address '" + host
          + "' without authentication: give --tokens-file/--users-file (QUIVER_TOKENS_FILE/"
          + "QUIVER_USERS_FILE) or --insecure");
    }
  }
}
