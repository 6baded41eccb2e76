"""Security checks: every RPC refuses missing and wrong credentials; TLS with the arrow-testing
certificates (plaintext and untrusted clients refused); a non-loopback bind without auth is
refused; dataset names with path tricks are refused on every way in."""
from __future__ import annotations

import subprocess

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import quiver as qv
from flight_server import SHARED, ServerProcess, action_json, java_exe
from quiver._jar import server_jar
from trust_paths import IDENTITY_PLAN

TOKEN = "trust-token-0123456789abcdef"
CERTS = SHARED / "flight"
T = pa.table({"x": pa.array([1, 2, 3], pa.int64())})


def _bearer(token: str) -> flight.FlightCallOptions:
    return flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])


def _rpcs(c: flight.FlightClient, opts: flight.FlightCallOptions | None):
    """One call of every RPC the server implements, each forcing a server round trip."""
    desc = flight.FlightDescriptor.for_path("secret")

    def do_put():
        w, r = c.do_put(flight.FlightDescriptor.for_path("intruder"), T.schema, options=opts)
        w.write_table(T)
        w.done_writing()
        r.read()
        w.close()

    def do_exchange():
        w, r = c.do_exchange(flight.FlightDescriptor.for_command(IDENTITY_PLAN), options=opts)
        w.begin(T.schema)
        w.write_table(T)
        w.done_writing()
        r.read_all()
        w.close()

    return {
        "ListFlights": lambda: list(c.list_flights(options=opts)),
        "GetFlightInfo": lambda: c.get_flight_info(desc, options=opts),
        "GetSchema": lambda: c.get_schema(desc, options=opts),
        "DoGet": lambda: c.do_get(flight.Ticket(b"secret"), options=opts).read_all(),
        "DoPut": do_put,
        "DoExchange": do_exchange,
        "DoAction(stats)": lambda: list(c.do_action(flight.Action("stats", b""), options=opts)),
        "DoAction(drop)": lambda: list(c.do_action(flight.Action("drop", b"secret"),
                                                   options=opts)),
        "ListActions": lambda: list(c.list_actions(options=opts)),
    }


@pytest.fixture(scope="module")
def auth_srv():
    with ServerProcess.start("--memory-limit", "256m", env={"QUIVER_TOKENS": TOKEN}) as s:
        c = s.client()
        w, r = c.do_put(flight.FlightDescriptor.for_path("secret"), T.schema,
                        options=_bearer(TOKEN))
        w.write_table(T)
        w.done_writing()
        r.read()
        w.close()
        c.close()
        yield s


@pytest.mark.parametrize("credentials", ["none", "wrong_token", "token_prefix", "basic_garbage"])
@pytest.mark.parametrize("rpc", list(_rpcs(None, None)))  # type: ignore[arg-type]
def test_every_rpc_rejects_bad_credentials(auth_srv, rpc, credentials):
    opts = {
        "none": None,
        "wrong_token": _bearer("not-the-token"),
        "token_prefix": _bearer(TOKEN[:-1]),
        "basic_garbage": flight.FlightCallOptions(headers=[(b"authorization", b"Basic !!!")]),
    }[credentials]
    c = auth_srv.client()
    try:
        # (pyarrow reports GetSchema's status as a plain OSError; the code is in the message)
        with pytest.raises((flight.FlightUnauthenticatedError, OSError),
                           match="unauthenticated error"):
            _rpcs(c, opts)[rpc]()
    finally:
        c.close()


def test_good_token_works_and_rejected_calls_changed_nothing(auth_srv):
    c = auth_srv.client()
    ok = _bearer(TOKEN)
    stats = action_json(c, "stats", options=ok)
    assert set(stats["datasets"]) == {"secret"}, "a rejected DoPut/drop had an effect"
    for name, call in _rpcs(c, ok).items():
        if name != "DoAction(drop)":
            call()  # the positive control: the same calls succeed with the token
    assert c.do_get(flight.Ticket(b"secret"), options=ok).read_all().equals(T)
    c.close()


def _tls_key() -> str:
    # cert0.pkcs1 holds the PKCS#8 form of cert0.key (the server wants PKCS#8).
    return str(CERTS / "cert0.pkcs1")


def test_tls_with_the_test_certificates():
    root = (CERTS / "root-ca.pem").read_bytes()
    with ServerProcess.start("--tls-cert", str(CERTS / "cert0.pem"), "--tls-key", _tls_key(),
                             "--memory-limit", "256m") as s:
        assert s.location.startswith("grpc+tls://"), s.location
        c = flight.connect(f"grpc+tls://localhost:{s.port}", tls_root_certs=root)
        w, r = c.do_put(flight.FlightDescriptor.for_path("tls_t"), T.schema)
        w.write_table(T)
        w.done_writing()
        r.read()
        w.close()
        assert c.do_get(flight.Ticket(b"tls_t")).read_all().equals(T)
        c.close()
        # A plaintext client cannot talk to it.
        plain = flight.connect(f"grpc+tcp://127.0.0.1:{s.port}")
        with pytest.raises(flight.FlightError):
            list(plain.list_flights(options=flight.FlightCallOptions(timeout=5)))
        plain.close()
        # A client that does not trust the server's CA is refused by the handshake.
        other_ca = (CERTS / "cert1.pem").read_bytes()
        untrusted = flight.connect(f"grpc+tls://localhost:{s.port}", tls_root_certs=other_ca)
        with pytest.raises(flight.FlightError):
            list(untrusted.list_flights(options=flight.FlightCallOptions(timeout=5)))
        untrusted.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_non_loopback_bind_without_auth_is_refused(host):
    proc = subprocess.run([java_exe(), "-jar", str(server_jar()), "--host", host, "--port", "0"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "refusing to bind non-loopback address" in proc.stderr + proc.stdout
    assert "listening" not in proc.stdout


BAD_NAMES = {
    "dotdot": "../etc/passwd",
    "dotdot_inside": "a/../../b",
    "dotdot_plain": "..",
    "slash": "dir/name",
    "backslash": "..\\x",
    "nul": "ok\x00name",
    "newline": "name\nINFO forged log line",
    "very_long": "a" * 10_000,
    "empty": "",
    "leading_dot": ".hidden",
    "absolute": "/tmp/x",
}


@pytest.fixture(scope="module")
def plain_srv():
    with ServerProcess.start("--memory-limit", "256m") as s:
        yield s


@pytest.mark.parametrize("name", list(BAD_NAMES), ids=list(BAD_NAMES))
def test_dataset_names_with_path_tricks_are_refused_over_flight(plain_srv, name):
    bad = BAD_NAMES[name]
    c = plain_srv.client()
    try:
        with pytest.raises(pa.ArrowInvalid, match="dataset name"):
            w, r = c.do_put(flight.FlightDescriptor.for_path(bad), T.schema)
            w.write_table(T)
            w.done_writing()
            r.read()
            w.close()
        # Reading or dropping by such a name is refused or not found, never a crash.
        with pytest.raises((pa.ArrowInvalid, pa.ArrowKeyError)):
            c.do_get(flight.Ticket(bad.encode())).read_all()
        assert action_json(c, "stats")["datasets"] == {}
        assert action_json(c, "health")["status"] == "serving"
    finally:
        c.close()


@pytest.mark.parametrize("name", list(BAD_NAMES), ids=list(BAD_NAMES))
def test_dataset_names_with_path_tricks_are_refused_in_process(name):
    eng = qv.local()
    with pytest.raises(qv.QuiverError, match="dataset name"):
        eng.put(BAD_NAMES[name], T)
    assert all(i.name != BAD_NAMES[name] for i in eng.list())
