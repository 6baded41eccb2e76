"""Failure behaviour of the Quiver Flight server: status codes, cancellation, deadlines,
disconnects, memory limits, shutdown and start-up errors."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from flight_server import ServerProcess, action_json, idle_bytes, java_exe, wait_idle
from quiver._jar import server_jar

IDENTITY = b'{"version":1,"plan":{"node":"input","name":"input"}}'


def big_table(rows: int = 2_000_000) -> pa.Table:
    ids = np.arange(rows, dtype=np.int64)
    return pa.table({"id": ids, "x": ids * 0.25})


def put(c: flight.FlightClient, name: str, table: pa.Table, chunk: int = 65_536) -> None:
    w, r = c.do_put(flight.FlightDescriptor.for_path(name), table.schema)
    for b in table.to_batches(max_chunksize=chunk):
        w.write_batch(b)
    w.done_writing()
    r.read()
    w.close()


@pytest.fixture(scope="module")
def srv():
    # Small gRPC queue so that a stalled reader stalls the server quickly.
    with ServerProcess.start("--memory-limit", "256m", "--backpressure-size", "256k") as s:
        c = s.client()
        put(c, "big", big_table())  # 32 MB in 31 batches
        c.close()
        yield s


@pytest.fixture()
def c(srv):
    client = srv.client()
    yield client
    client.close()


# ---- status codes ------------------------------------------------------------------------------

def test_unknown_dataset_is_not_found_naming_it(c):
    with pytest.raises(pa.ArrowKeyError, match="'no_such_table' not found"):
        c.do_get(flight.Ticket(b"no_such_table")).read_all()
    with pytest.raises(pa.ArrowKeyError, match="no_such_table"):
        c.get_flight_info(flight.FlightDescriptor.for_path("no_such_table"))
    with pytest.raises(pa.ArrowKeyError, match="no_such_table"):
        c.get_schema(flight.FlightDescriptor.for_path("no_such_table"))
    with pytest.raises(pa.ArrowKeyError, match="no_such_table"):
        list(c.do_action(flight.Action("drop", b"no_such_table")))
    plan = b'{"version":1,"plan":{"node":"scan","dataset":"no_such_table"}}'
    with pytest.raises(pa.ArrowKeyError, match="no_such_table"):
        c.do_get(flight.Ticket(plan)).read_all()


@pytest.mark.parametrize("plan, problem", [
    (b'{"version":1,"plan":{"node":"filter"}}', 'INVALID_PLAN: "filter" node is missing "input"'),
    (b'{"version":2,"plan":{"node":"input","name":"input"}}', "unsupported plan version 2"),
    (b'{"version":1,"plan":{"node":"scan"}}', '"scan" node is missing "dataset"'),
    (b'{"version":1, "plan": [', "not valid JSON"),
])
def test_bad_plan_is_invalid_argument_naming_the_problem(c, plan, problem):
    with pytest.raises(pa.ArrowInvalid, match=problem):
        c.get_flight_info(flight.FlightDescriptor.for_command(plan))
    with pytest.raises(pa.ArrowInvalid, match=problem):
        c.get_schema(flight.FlightDescriptor.for_command(plan))
    with pytest.raises(pa.ArrowInvalid, match=problem):
        c.do_get(flight.Ticket(plan)).read_all()


def test_exchange_plan_errors(c):
    w, r = c.do_exchange(flight.FlightDescriptor.for_command(
        b'{"version":1,"plan":{"node":"input","name":"other"}}'))
    w.begin(pa.schema([("a", pa.int64())]))
    w.done_writing()
    # An input the call does not supply is a missing source: NOT_FOUND, naming it.
    with pytest.raises(pa.ArrowKeyError, match="DATASET_NOT_FOUND: input 'other'"):
        r.read_all()
    w, r = c.do_exchange(flight.FlightDescriptor.for_path("big"))
    w.begin(pa.schema([("a", pa.int64())]))
    w.done_writing()
    with pytest.raises(pa.ArrowInvalid, match="command descriptor"):
        r.read_all()


def test_bad_requests_are_invalid_argument(c):
    t = pa.table({"a": [1, 2]})
    with pytest.raises(pa.ArrowInvalid, match=r"may only use letters"):
        put(c, "bad name!", t)
    with pytest.raises(pa.ArrowInvalid, match=r"must not contain '\.\.'"):
        put(c, "..", t)
    with pytest.raises(pa.ArrowInvalid, match="cannot append"):
        w, r = c.do_put(flight.FlightDescriptor.for_path("big", "append"), t.schema)
        w.write_table(t)
        w.done_writing()
        r.read()
        w.close()
    with pytest.raises(pa.ArrowInvalid, match="batches"):
        c.do_get(flight.Ticket(b'{"dataset":"big","batches":[5,999]}')).read_all()
    with pytest.raises(pa.ArrowInvalid, match="unknown action 'reboot'"):
        list(c.do_action(flight.Action("reboot", b"")))
    # The failed append left the dataset as it was.
    assert action_json(c, "stats")["datasets"]["big"]["rows"] == 2_000_000


def test_memory_limit_is_resource_exhausted_and_upload_leaves_nothing():
    with ServerProcess.start("--memory-limit", "16m") as s:
        c = s.client()
        baseline = idle_bytes(c)
        # pyarrow raises ArrowInvalid for RESOURCE_EXHAUSTED; the gRPC code is in the message.
        with pytest.raises(pa.ArrowException, match="RESOURCE_EXHAUSTED.*memory limit"):
            put(c, "too_big", big_table(4_000_000))
        assert "too_big" not in action_json(c, "stats")["datasets"]
        wait_idle(c, baseline)
        put(c, "small", big_table(1000))  # still serving
        c.close()


def test_an_exhausted_java_heap_is_resource_exhausted_and_the_server_goes_on():
    # 4M groups need far more than a 160 MB heap for the group tables (the dataset itself is
    # off-heap, under --memory-limit).
    with ServerProcess.start(jvm_args=("-Xmx160m",)) as s:
        c = s.client()
        n = 4_000_000
        put(c, "wide", pa.table({"k": np.arange(n, dtype=np.int64) * 1000, "x": np.ones(n)}))
        baseline = idle_bytes(c)
        col = lambda name: {"expr": "column", "name": name}  # noqa: E731
        per_key = json.dumps({"version": 1, "plan": {
            "node": "aggregate", "input": {"node": "scan", "dataset": "wide"},
            "group_by": [{"name": "k", "expr": col("k")}],
            "aggregates": [{"name": "s", "function": "sum", "args": [col("x")]}]}}).encode()
        info = c.get_flight_info(flight.FlightDescriptor.for_command(per_key))
        with pytest.raises(pa.ArrowException, match="RESOURCE_EXHAUSTED.*Java heap.*-Xmx"):
            c.do_get(info.endpoints[0].ticket).read_all()
        wait_idle(c, baseline)
        assert action_json(c, "health")["status"] == "serving"
        count = json.dumps({"version": 1, "plan": {
            "node": "aggregate", "input": {"node": "scan", "dataset": "wide"},
            "group_by": [], "aggregates": [{"name": "n", "function": "count", "args": []}]}})
        info = c.get_flight_info(flight.FlightDescriptor.for_command(count.encode()))
        assert c.do_get(info.endpoints[0].ticket).read_all()["n"][0].as_py() == n
        c.close()


def test_concurrent_queries_that_exhaust_the_heap_each_get_an_answer():
    # Heap-hungry plans on a 160 MB heap over 6M rows: a sort alone (its arrays do not fit, so
    # it fails with RESOURCE_EXHAUSTED and must release every batch it had collected; before,
    # a sort failing there leaked its batches and a stream thread could die with its call
    # unanswered), then three at once (hash joins both ways round and an aggregate on strings):
    # each call ends, with its rows or with RESOURCE_EXHAUSTED naming the heap, none hangs, and
    # everything is released. A sort or a distinct beside the three is left out: once the heap
    # is that full the error can strike inside Arrow's or Netty's bookkeeping while a result is
    # being sent (its buffers then stay referenced), and a sort's result leaked about 1 run in
    # 6 (a distinct's leaked or, once in CI, went unanswered); see docs/server.md.
    with ServerProcess.start(jvm_args=("-Xmx160m",)) as s:
        c = s.client()
        n = 6_000_000
        keys = np.arange(n, dtype=np.int64) * 1000
        put(c, "wide", pa.table({"k": keys, "x": np.ones(n),
                                 "s": pa.array(np.arange(n).astype(str))}), chunk=1_000_000)
        put(c, "wide2", pa.table({"k2": keys, "y": np.ones(n)}), chunk=1_000_000)
        baseline = idle_bytes(c)
        col = lambda name: {"expr": "column", "name": name}  # noqa: E731
        scan, scan2 = {"node": "scan", "dataset": "wide"}, {"node": "scan", "dataset": "wide2"}
        sort = {"node": "sort", "input": scan, "keys": [{"expr": col("k"), "order": "desc"}]}
        doc = json.dumps({"version": 1, "plan": sort}).encode()
        try:
            info = c.get_flight_info(flight.FlightDescriptor.for_command(doc))
            assert c.do_get(info.endpoints[0].ticket).read_all().num_rows == n
        except pa.ArrowException as e:  # what happens here in practice
            assert "RESOURCE_EXHAUSTED" in str(e) and "Java heap" in str(e), e
        wait_idle(c, baseline)
        plans = {
            "join": {"node": "join", "type": "inner", "left": scan, "right": scan2,
                     "left_keys": ["k"], "right_keys": ["k2"]},
            "left_join": {"node": "join", "type": "left", "left": scan2, "right": scan,
                          "left_keys": ["k2"], "right_keys": ["k"]},
            "by_string": {"node": "aggregate", "input": scan,
                          "group_by": [{"name": "s", "expr": col("s")}],
                          "aggregates": [{"name": "c", "function": "count", "args": []}]},
        }
        outcomes: dict[str, object] = {}

        def run(name: str) -> None:
            client = s.client()
            try:
                doc = json.dumps({"version": 1, "plan": plans[name]}).encode()
                info = client.get_flight_info(flight.FlightDescriptor.for_command(doc))
                outcomes[name] = client.do_get(info.endpoints[0].ticket).read_all().num_rows
            except pa.ArrowException as e:
                outcomes[name] = str(e)
            finally:
                client.close()

        threads = [threading.Thread(target=run, args=(name,), daemon=True) for name in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), f"calls without an answer: {outcomes}"
        for name, outcome in outcomes.items():
            if isinstance(outcome, int):
                assert outcome == n, (name, outcome)
            else:
                # The one exception: the error can strike gRPC's own thread while it decodes the
                # request, before Quiver sees the call; gRPC answers that itself (about 1 call
                # in 30 here). docs/server.md lists it.
                assert ("RESOURCE_EXHAUSTED" in outcome and "Java heap" in outcome) or (
                    "Application error processing RPC" in outcome), (name, outcome)
        assert any(isinstance(o, str) for o in outcomes.values()), outcomes  # the heap did run out
        wait_idle(c, baseline)
        assert action_json(c, "health")["status"] == "serving"
        count = json.dumps({"version": 1, "plan": {
            "node": "aggregate", "input": scan, "group_by": [],
            "aggregates": [{"name": "n", "function": "count", "args": []}]}}).encode()
        info = c.get_flight_info(flight.FlightDescriptor.for_command(count))
        assert c.do_get(info.endpoints[0].ticket).read_all()["n"][0].as_py() == n
        c.close()


# ---- cancellation, disconnects, deadlines, backpressure ----------------------------------------

def test_slow_reader_gets_backpressure_not_a_buffered_dataset(srv, c):
    reader = c.do_get(flight.Ticket(b"big"))
    reader.read_chunk()
    time.sleep(1.0)  # the client stops reading; the server must stop producing
    streams = action_json(c, "stats")["streams"]
    doget = [s for s in streams if s["method"] == "DO_GET" and s["target"] == "big"]
    assert len(doget) == 1
    sent = doget[0]["rows"]
    assert sent < 1_000_000, f"server pushed {sent} of 2M rows to a stalled client"
    assert reader.read_all().num_rows == 2_000_000 - 65_536
    wait_idle(c, idle_bytes(c))


def access_lines(server: ServerProcess, needle: str) -> list[str]:
    return [ln for ln in server.log().splitlines() if "quiver.access" in ln and needle in ln]


def wait_access_lines(server: ServerProcess, needle: str, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while len(access_lines(server, needle)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return access_lines(server, needle)


def test_client_cancel_mid_doget_frees_everything(srv, c):
    baseline = idle_bytes(c)
    cancelled = len(access_lines(srv, "method=DO_GET target=big"))
    reader = c.do_get(flight.Ticket(b"big"))
    reader.read_chunk()
    reader.cancel()
    wait_idle(c, baseline)
    assert action_json(c, "health")["status"] == "serving"
    # The transport ended the call, and it still has its access line.
    lines = wait_access_lines(srv, "method=DO_GET target=big", cancelled + 1)
    assert len(lines) == cancelled + 1 and "status=CANCELLED" in lines[-1], lines


def test_deadline_is_honoured(srv, c):
    baseline = idle_bytes(c)
    before = len(access_lines(srv, "method=DO_GET target=big"))
    # Generous enough that the first batch arrives in time on a loaded machine.
    options = flight.FlightCallOptions(timeout=2.0)
    reader = c.do_get(flight.Ticket(b"big"), options)
    reader.read_chunk()
    time.sleep(2.5)
    with pytest.raises((flight.FlightTimedOutError, flight.FlightCancelledError)):
        reader.read_all()
    wait_idle(c, baseline)
    lines = wait_access_lines(srv, "method=DO_GET target=big", before + 1)
    assert len(lines) == before + 1 and "status=DEADLINE_EXCEEDED" in lines[-1], lines


def run_and_die(srv, body: str) -> None:
    """Runs a client in a subprocess that exits abruptly (os._exit) mid-call."""
    code = textwrap.dedent(f"""
        import os, numpy as np, pyarrow as pa, pyarrow.flight as flight
        c = flight.connect("{srv.location}")
        ids = np.arange(2_000_000, dtype=np.int64)
        t = pa.table({{"id": ids, "x": ids * 0.25}})
    """) + textwrap.dedent(body) + "\nos._exit(3)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr


def test_disconnect_mid_doget_frees_everything(srv, c):
    baseline = idle_bytes(c)
    run_and_die(srv, """
        r = c.do_get(flight.Ticket(b"big"))
        r.read_chunk()
    """)
    wait_idle(c, baseline)


def test_disconnect_mid_doput_leaves_nothing(srv, c):
    baseline = idle_bytes(c)
    run_and_die(srv, """
        w, _ = c.do_put(flight.FlightDescriptor.for_path("half_written"), t.schema)
        for b in t.to_batches(max_chunksize=65536)[:10]:
            w.write_batch(b)
    """)
    wait_idle(c, baseline)
    assert "half_written" not in action_json(c, "stats")["datasets"]


def test_deadline_mid_doput_leaves_nothing(srv, c):
    baseline = idle_bytes(c)
    t = big_table(500_000)
    w, r = c.do_put(flight.FlightDescriptor.for_path("late"), t.schema,
                    options=flight.FlightCallOptions(timeout=0.5))
    with pytest.raises(flight.FlightError):
        for b in t.to_batches(max_chunksize=65536):
            w.write_batch(b)
            time.sleep(0.2)
        w.done_writing()
        r.read()
        w.close()
    wait_idle(c, baseline)
    assert "late" not in action_json(c, "stats")["datasets"]


def test_disconnect_mid_doexchange_frees_everything(srv, c):
    baseline = idle_bytes(c)
    run_and_die(srv, f"""
        w, r = c.do_exchange(flight.FlightDescriptor.for_command({IDENTITY!r}))
        w.begin(t.schema)
        for b in t.to_batches(max_chunksize=65536)[:5]:
            w.write_batch(b)
        r.read_chunk()
    """)
    wait_idle(c, baseline)


# ---- process level: shutdown, bind errors, CLI ---------------------------------------------------

def test_sigterm_drains_running_stream_then_exits():
    with ServerProcess.start("--backpressure-size", "256k", "--drain-timeout", "20") as s:
        c = s.client()
        t = big_table(1_000_000)
        put(c, "drain_me", t)
        reader = c.do_get(flight.Ticket(b"drain_me"))
        first = reader.read_chunk().data
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        rest = reader.read_all()  # the in-flight stream completes in full
        assert pa.Table.from_batches([first]).num_rows + rest.num_rows == t.num_rows
        s.proc.wait(30)
        assert "server stopped (drained)" in s.log()
        with pytest.raises(flight.FlightUnavailableError):
            c.list_flights().__next__()
        c.close()


def test_sigterm_aborts_stalled_stream_after_drain_timeout():
    with ServerProcess.start("--backpressure-size", "256k", "--drain-timeout", "1") as s:
        c = s.client()
        put(c, "stalled", big_table(1_000_000))
        reader = c.do_get(flight.Ticket(b"stalled"))
        reader.read_chunk()
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(20)
        assert time.monotonic() - t0 < 15
        assert "aborting them" in s.log()
        c.close()


def test_port_in_use_is_a_one_line_error(srv):
    proc = subprocess.run(
        [java_exe(), "-jar", str(server_jar()), "--port", str(srv.port)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("quiver-server: cannot listen on 127.0.0.1:")
    assert "in use" in lines[0]


def test_non_loopback_bind_needs_auth_or_insecure():
    proc = subprocess.run(
        [java_exe(), "-jar", str(server_jar()), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--insecure" in proc.stderr and "Exception" not in proc.stderr


def test_a_bad_memory_cache_size_is_refused_by_name():
    proc = subprocess.run(
        [java_exe(), "-jar", str(server_jar()), "--port", "0", "--memory-cache", "lots"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--memory-cache" in proc.stderr and "'lots'" in proc.stderr, proc.stderr
    assert "Exception" not in proc.stderr


def test_a_replaced_upload_leaves_its_blocks_cached_not_allocated():
    """The server keeps a replaced dataset's freed blocks for the next upload: stats shows them
    as cached_free_bytes, outside allocated_bytes, and never above the cache's bound."""
    with ServerProcess.start("--memory-limit", "256m", "--memory-cache", "8m") as s:
        c = s.client()
        t = big_table(200_000)
        put(c, "cached", t, chunk=50_000)
        put(c, "cached", t, chunk=50_000)  # replaces: the first copy's blocks are freed
        st = json.loads(next(iter(c.do_action(flight.Action("stats", b"")))).body.to_pybytes())
        assert 0 < st["cached_free_bytes"] <= 8 << 20, st
        assert st["dataset_bytes"] <= st["allocated_bytes"], st
        c.close()


def test_help_documents_every_option_with_its_variable():
    proc = subprocess.run([java_exe(), "-jar", str(server_jar()), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for flag, env in [("--host", "QUIVER_HOST"), ("--port", "QUIVER_PORT"),
                      ("--tpch-scale", "QUIVER_TPCH_SCALE"),
                      ("--memory-limit", "QUIVER_MEMORY_LIMIT"),
                      ("--memory-cache", "QUIVER_MEMORY_CACHE"),
                      ("--tls-cert", "QUIVER_TLS_CERT"), ("--tls-key", "QUIVER_TLS_KEY"),
                      ("--tls-client-ca", "QUIVER_TLS_CLIENT_CA"),
                      ("--tokens-file", "QUIVER_TOKENS_FILE"), ("--users-file", "QUIVER_USERS_FILE"),
                      ("--insecure", "QUIVER_INSECURE"), ("--drain-timeout", "QUIVER_DRAIN_TIMEOUT"),
                      ("--partition-size", "QUIVER_PARTITION_SIZE"),
                      ("--max-message-size", "QUIVER_MAX_MESSAGE_SIZE"),
                      ("--flow-window", "QUIVER_FLOW_WINDOW"),
                      ("--backpressure-size", "QUIVER_BACKPRESSURE_SIZE"),
                      ("--log-level", "QUIVER_LOG_LEVEL"), ("access-log", "QUIVER_ACCESS_LOG")]:
        assert flag in proc.stdout and env in proc.stdout, flag


def test_options_come_from_environment_and_tpch_is_registered():
    with ServerProcess.start(env={"QUIVER_TPCH_SCALE": "0.01",
                                  "QUIVER_PARTITION_SIZE": "1m"}) as s:
        c = s.client()
        names = {f.descriptor.path[0].decode() for f in c.list_flights()}
        assert names == {"customer", "lineitem", "nation", "orders", "part", "partsupp",
                         "region", "supplier"}
        info = c.get_flight_info(flight.FlightDescriptor.for_path("lineitem"))
        assert info.schema.field("l_orderkey").type == pa.int64()
        lineitem = pa.concat_tables(c.do_get(e.ticket).read_all() for e in info.endpoints)
        assert lineitem.num_rows == info.total_records > 0
        c.close()


def test_inbound_message_size_limit_is_enforced():
    with ServerProcess.start("--max-message-size", "1m") as s:
        c = s.client()
        put(c, "fits", big_table(10_000), chunk=10_000)  # 160 kB messages: accepted
        baseline = idle_bytes(c)
        # gRPC refuses the message with RESOURCE_EXHAUSTED and resets the stream; a client still
        # writing when the reset arrives reports the reset (RST_STREAM) instead of the status.
        # Either way the upload fails, and the checks below hold.
        with pytest.raises(pa.ArrowException,
                           match="RESOURCE_EXHAUSTED|exceeds maximum|RST_STREAM"):
            put(c, "too_large_batch", big_table(200_000), chunk=200_000)  # one 3.2 MB message
        assert "too_large_batch" not in action_json(c, "stats")["datasets"]
        wait_idle(c, baseline)
        assert action_json(c, "health")["status"] == "serving"
        c.close()
        # gRPC ended the call itself, so the handler's close never reached Flight's middleware;
        # the call still gets its access line.
        lines = wait_access_lines(s, "method=DO_PUT target=too_large_batch", 1)
        assert len(lines) == 1 and "status=CANCELLED" in lines[0], lines


def test_a_message_larger_than_nettys_direct_memory_fails_its_call_not_the_connection():
    # gRPC holds a whole inbound message in Netty's direct memory (by default -Xmx) before the
    # call sees it. With the size limit above that memory, a 192 MB message made Netty's
    # allocation fail on the event loop and the connection was torn down (GOAWAY,
    # UNAVAILABLE). The default limit now follows that memory, so gRPC refuses the message
    # itself and the same connection goes on.
    with ServerProcess.start(jvm_args=("-Xmx160m",)) as s:
        assert "max message 40 MB" in s.log()
        c = s.client()
        n = 12_000_000
        huge = pa.table({"k": np.arange(n, dtype=np.int64), "x": np.ones(n)})  # one batch
        with pytest.raises(pa.ArrowException, match="RESOURCE_EXHAUSTED|exceeds maximum"):
            w, _ = c.do_put(flight.FlightDescriptor.for_path("huge"), huge.schema)
            w.write_table(huge)
            w.close()
        assert action_json(c, "health")["status"] == "serving"  # the same connection
        put(c, "fits", huge.slice(0, 1_000_000))
        assert c.do_get(flight.Ticket(b"fits")).read_all().equals(huge.slice(0, 1_000_000))
        assert "huge" not in action_json(c, "stats")["datasets"]
        c.close()


def test_a_max_message_size_the_jvm_cannot_buffer_is_refused_at_start():
    proc = subprocess.run(
        [java_exe(), "-Xmx160m", "-jar", str(server_jar()), "--port", "0",
         "--max-message-size", "256m"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--max-message-size 256 MB" in proc.stderr and "160 MB" in proc.stderr, proc.stderr
    assert "MaxDirectMemorySize" in proc.stderr and "Exception" not in proc.stderr
