"""Authentication and TLS: bearer tokens (file and environment), the basic-auth handshake that
returns a token, TLS with the arrow-testing certificates, and mutual TLS."""
from __future__ import annotations

import subprocess

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from flight_server import SHARED, ServerProcess, action_json, java_exe
from quiver._jar import server_jar

CERTS = SHARED / "flight"


def bearer(token: str) -> flight.FlightCallOptions:
    return flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])


def test_tokens_from_file_and_environment(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("# service tokens\nfile-token-1\n\nfile-token-2\n")
    with ServerProcess.start("--tokens-file", str(tokens),
                             env={"QUIVER_TOKENS": "env-token"}) as s:
        c = s.client()
        with pytest.raises(flight.FlightUnauthenticatedError):
            list(c.list_flights())
        with pytest.raises(flight.FlightUnauthenticatedError):
            action_json(c, "health", options=bearer("wrong"))
        for tok in ("file-token-1", "file-token-2", "env-token"):
            assert action_json(c, "health", options=bearer(tok))["status"] == "serving"
        # Every call is checked, streaming ones included.
        t = pa.table({"a": [1, 2, 3]})
        with pytest.raises(flight.FlightUnauthenticatedError):
            c.do_get(flight.Ticket(b"x")).read_all()
        w, r = c.do_put(flight.FlightDescriptor.for_path("secured"), t.schema,
                        options=bearer("env-token"))
        w.write_table(t)
        w.done_writing()
        r.read()
        w.close()
        got = c.do_get(flight.Ticket(b"secured"), options=bearer("file-token-1")).read_all()
        assert got.equals(t)
        c.close()
        log = s.log()
        assert "method=DO_PUT target=secured" in log
        for secret in ("file-token-1", "file-token-2", "env-token"):
            assert secret not in log  # tokens are never logged


def test_basic_auth_handshake_returns_a_bearer_token(tmp_path):
    users = tmp_path / "users"
    users.write_text("alice:s3cret\nbob:hunter2\n")
    with ServerProcess.start("--users-file", str(users)) as s:
        c = s.client()
        with pytest.raises(flight.FlightUnauthenticatedError):
            c.authenticate_basic_token("alice", "wrong")
        with pytest.raises(flight.FlightUnauthenticatedError):
            list(c.list_flights())
        header = c.authenticate_basic_token("alice", "s3cret")
        assert header[0] == b"authorization" and header[1].startswith(b"Bearer ")
        options = flight.FlightCallOptions(headers=[header])
        assert action_json(c, "health", options=options)["status"] == "serving"
        assert list(c.list_flights(options=options)) == []
        with pytest.raises(flight.FlightUnauthenticatedError):
            action_json(c, "health", options=bearer("forged"))
        c.close()


def test_tls_with_the_arrow_testing_certificate():
    with ServerProcess.start("--tls-cert", str(CERTS / "cert0.pem"),
                             "--tls-key", str(CERTS / "cert0.pkcs1")) as s:
        assert s.location.startswith("grpc+tls://")
        root = (CERTS / "root-ca.pem").read_bytes()
        c = flight.connect(f"grpc+tls://localhost:{s.port}", tls_root_certs=root)
        assert action_json(c, "health")["status"] == "serving"
        t = pa.table({"a": list(range(1000))})
        w, r = c.do_put(flight.FlightDescriptor.for_path("tls"), t.schema)
        w.write_table(t)
        w.done_writing()
        r.read()
        w.close()
        assert c.do_get(flight.Ticket(b"tls")).read_all().equals(t)
        c.close()
        # A plaintext client cannot talk to it.
        plain = flight.connect(f"grpc://127.0.0.1:{s.port}")
        with pytest.raises(flight.FlightUnavailableError):
            action_json(plain, "health", options=flight.FlightCallOptions(timeout=5))
        plain.close()


def test_mutual_tls_requires_a_client_certificate():
    with ServerProcess.start("--tls-cert", str(CERTS / "cert0.pem"),
                             "--tls-key", str(CERTS / "cert0.pkcs1"),
                             "--tls-client-ca", str(CERTS / "root-ca.pem")) as s:
        root = (CERTS / "root-ca.pem").read_bytes()
        good = flight.connect(f"grpc+tls://localhost:{s.port}", tls_root_certs=root,
                              cert_chain=(CERTS / "cert1.pem").read_bytes(),
                              private_key=(CERTS / "cert1.key").read_bytes())
        assert action_json(good, "health")["status"] == "serving"
        good.close()
        anonymous = flight.connect(f"grpc+tls://localhost:{s.port}", tls_root_certs=root)
        with pytest.raises(flight.FlightUnavailableError):
            action_json(anonymous, "health", options=flight.FlightCallOptions(timeout=5))
        anonymous.close()


def test_pkcs1_key_is_refused_with_a_conversion_hint():
    proc = subprocess.run(
        [java_exe(), "-jar", str(server_jar()), "--port", "0",
         "--tls-cert", str(CERTS / "cert0.pem"), "--tls-key", str(CERTS / "cert0.key")],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "PKCS#1" in proc.stderr and "openssl pkcs8" in proc.stderr
