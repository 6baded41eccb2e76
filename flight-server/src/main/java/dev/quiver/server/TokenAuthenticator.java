package dev.quiver.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.auth2.Auth2Constants;
import org.apache.arrow.flight.auth2.BasicCallHeaderAuthenticator;
import org.apache.arrow.flight.auth2.CallHeaderAuthenticator;
import org.apache.arrow.flight.auth2.GeneratedBearerTokenAuthenticator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks every call: {@code authorization: Bearer <token>} with a static token (from a file or
 * the environment), or a token this server issued after a basic-auth handshake
 * ({@code authorization: Basic ...}, answered with a bearer token in the response headers, the
 * protocol {@code pyarrow.flight.FlightClient.authenticate_basic_token} speaks).
 */
public final class TokenAuthenticator implements CallHeaderAuthenticator {
  private static final Logger LOG = LoggerFactory.getLogger(TokenAuthenticator.class);
  private final List<byte[]> staticTokens;
  private final CallHeaderAuthenticator issued;

  /**
   * @param staticTokens accepted bearer tokens
   * @param users user name to password for the basic-auth handshake (empty: no handshake)
   */
  public TokenAuthenticator(List<String> staticTokens, Map<String, String> users) {
    this.staticTokens = staticTokens.stream()
        .map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
    this.issued = users.isEmpty() ? null : new GeneratedBearerTokenAuthenticator(
        new BasicCallHeaderAuthenticator((user, password) -> {
          String expected = users.get(user);
          if (expected == null || !MessageDigest.isEqual(
              expected.getBytes(StandardCharsets.UTF_8),
              password.getBytes(StandardCharsets.UTF_8))) {
            LOG.info("rejected basic-auth handshake for user '{}'", user);
            throw CallStatus.UNAUTHENTICATED.withDescription("invalid user name or password")
                .toRuntimeException();
          }
          return () -> user;
        }));
  }

  @Override
  public AuthResult authenticate(CallHeaders headers) {
    String auth = headers.get(Auth2Constants.AUTHORIZATION_HEADER);
    if (auth != null && auth.startsWith(Auth2Constants.BEARER_PREFIX)) {
      byte[] presented =
          auth.substring(Auth2Constants.BEARER_PREFIX.length()).getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < staticTokens.size(); i++) {
        if (MessageDigest.isEqual(staticTokens.get(i), presented)) {
          String peer = "token#" + (i + 1);
          return () -> peer;
        }
      }
    }
    if (issued != null) {
      return issued.authenticate(headers);
    }
    throw CallStatus.UNAUTHENTICATED.withDescription(
        auth == null ? "this server requires 'authorization: Bearer <token>'"
            : "invalid bearer token").toRuntimeException();
  }
}
