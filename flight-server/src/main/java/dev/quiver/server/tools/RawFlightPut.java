package dev.quiver.server.tools;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.flight.impl.Flight;
import org.apache.arrow.flight.impl.FlightServiceGrpc;

/**
 * A deliberately low-level Flight client for robustness tests: it cuts a file into IPC messages
 * by the stream framing alone (continuation marker, metadata length, body length from the
 * message header) and sends them as raw FlightData in a DoPut, without validating anything, so
 * malformed input reaches the server exactly as it is.
 *
 * <pre>java -cp quiver-server.jar dev.quiver.server.tools.RawFlightPut HOST PORT DATASET FILE...</pre>
 *
 * Prints one line per file: {@code <file>\t<status code>\t<description>}.
 */
public final class RawFlightPut {
  private RawFlightPut() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 4) {
      System.err.println("usage: RawFlightPut HOST PORT DATASET FILE...");
      System.exit(2);
    }
    ManagedChannel channel = NettyChannelBuilder.forAddress(args[0], Integer.parseInt(args[1]))
        .usePlaintext().maxInboundMessageSize(64 << 20).build();
    try {
      FlightServiceGrpc.FlightServiceStub stub = FlightServiceGrpc.newStub(channel);
      for (int i = 3; i < args.length; i++) {
        Path file = Path.of(args[i]);
        Status status = put(stub, args[2], Files.readAllBytes(file));
        String desc = status.getDescription() == null ? "" : status.getDescription();
        System.out.println(file.getFileName() + "\t" + status.getCode() + "\t"
            + desc.replace('\n', ' ').replace('\t', ' '));
        System.out.flush();
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  static Status put(FlightServiceGrpc.FlightServiceStub stub, String dataset, byte[] bytes)
      throws Exception {
    CompletableFuture<Status> done = new CompletableFuture<>();
    StreamObserver<Flight.FlightData> out = stub.doPut(statusOf(done));
    Flight.FlightDescriptor descriptor = Flight.FlightDescriptor.newBuilder()
        .setType(Flight.FlightDescriptor.DescriptorType.PATH).addPath(dataset).build();
    sendAll(out, descriptor, frame(bytes), done);
    return done.get(60, TimeUnit.SECONDS);
  }

  /** A response observer that ignores responses and completes {@code done} with the status. */
  public static <T> StreamObserver<T> statusOf(CompletableFuture<Status> done) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {}

      @Override
      public void onError(Throwable t) {
        done.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        done.complete(Status.OK);
      }
    };
  }

  /**
   * Sends {@code messages} (the descriptor on the first) until the call ends, then half-closes.
   * The call's status arrives in {@code done}.
   */
  public static void sendAll(StreamObserver<Flight.FlightData> out,
      Flight.FlightDescriptor descriptor, List<Flight.FlightData> messages,
      CompletableFuture<Status> done) {
    try {
      for (int i = 0; i < messages.size() && !done.isDone(); i++) {
        Flight.FlightData m = messages.get(i);
        out.onNext(i == 0 ? m.toBuilder().setFlightDescriptor(descriptor).build() : m);
      }
      out.onCompleted();
    } catch (RuntimeException e) {
      // The server may already have closed the call; its status is what we report.
    }
  }

  /**
   * Splits an IPC stream (or the stream inside an IPC file) into FlightData by its framing only;
   * garbage stays garbage.
   */
  public static List<Flight.FlightData> frame(byte[] bytes) {
    List<Flight.FlightData> out = new ArrayList<>();
    ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length >= 8
        && new String(bytes, 0, 6, java.nio.charset.StandardCharsets.US_ASCII).equals("ARROW1")) {
      in.position(8); // IPC file format: the stream follows the magic and padding
    }
    while (in.remaining() >= 4) {
      int len = in.getInt();
      if (len == -1) {
        if (in.remaining() < 4) {
          break;
        }
        len = in.getInt();
      }
      if (len == 0) {
        break;
      }
      if (len < 0 || len > in.remaining()) {
        len = in.remaining();
      }
      byte[] header = new byte[len];
      in.get(header);
      long bodyLength;
      try {
        bodyLength = Message.getRootAsMessage(ByteBuffer.wrap(header)
            .order(ByteOrder.LITTLE_ENDIAN)).bodyLength();
      } catch (RuntimeException e) {
        bodyLength = 0;
      }
      int body = (int) Math.max(0, Math.min(bodyLength, in.remaining()));
      byte[] bodyBytes = new byte[body];
      in.get(bodyBytes);
      out.add(Flight.FlightData.newBuilder().setDataHeader(ByteString.copyFrom(header))
          .setDataBody(ByteString.copyFrom(bodyBytes)).build());
    }
    if (out.isEmpty()) {
      out.add(Flight.FlightData.newBuilder().setDataHeader(ByteString.copyFrom(bytes)).build());
    }
    return out;
  }
}
