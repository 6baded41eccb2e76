"""Every Flight RPC of the Quiver server, driven by a pyarrow.flight client."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from flight_server import ServerProcess, action_json, client, server, wait_idle  # noqa: F401

IDENTITY = b'{"version":1,"plan":{"node":"input","name":"input"}}'


def scan(name: str) -> bytes:
    return json.dumps({"version": 1, "plan": {"node": "scan", "dataset": name}}).encode()


def sample(n: int = 100_000, seed: int = 0) -> pa.Table:
    """int64, float64 and short utf8 columns with some nulls, and schema metadata."""
    ids = np.arange(seed, seed + n, dtype=np.int64)
    text = pa.array([f"s{i % 1000}" if i % 97 else None for i in range(seed, seed + n)])
    return pa.table({"id": ids, "x": ids * 0.5, "s": text}, metadata={"origin": "quiver-test"})


def put(c: flight.FlightClient, name, table: pa.Table, batch_rows: int | None = None) -> dict:
    path = [name] if isinstance(name, str) else name
    writer, meta = c.do_put(flight.FlightDescriptor.for_path(*path), table.schema)
    if batch_rows:
        for b in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(b)
    else:
        writer.write_table(table)
    writer.done_writing()
    ack = meta.read()
    writer.close()
    return json.loads(ack.to_pybytes())


def test_put_then_get_roundtrip(client):
    t = sample()
    ack = put(client, "roundtrip", t, batch_rows=10_000)
    assert ack == {"dataset": "roundtrip", "rows_written": t.num_rows, "rows": t.num_rows,
                   "bytes": ack["bytes"]}
    got = client.do_get(flight.Ticket(b"roundtrip")).read_all()
    assert got.equals(t)
    assert got.schema.metadata == {b"origin": b"quiver-test"}


def test_put_replaces_by_default_and_appends_on_request(client):
    a, b = sample(1000), sample(500, seed=1000)
    put(client, "growing", a)
    put(client, "growing", b)
    assert client.do_get(flight.Ticket(b"growing")).read_all().equals(b)
    ack = put(client, ["growing", "append"], a)
    assert ack["rows_written"] == 1000 and ack["rows"] == 1500
    got = client.do_get(flight.Ticket(b"growing")).read_all()
    assert got.equals(pa.concat_tables([b, a]))
    put(client, ["growing", "replace"], a)
    assert client.do_get(flight.Ticket(b"growing")).read_all().equals(a)


def test_list_flights_reports_schema_rows_bytes(client):
    t = sample(2000)
    put(client, "listed_a", t)
    put(client, "listed_b", t.slice(0, 10))
    infos = {tuple(i.descriptor.path): i for i in client.list_flights(b"listed_")}
    assert set(infos) == {(b"listed_a",), (b"listed_b",)}
    a = infos[(b"listed_a",)]
    assert a.schema.equals(t.schema, check_metadata=True)
    assert a.total_records == 2000
    assert a.total_bytes >= t.nbytes * 0.9
    assert infos[(b"listed_b",)].total_records == 10


def test_flight_info_splits_large_dataset_into_parallel_endpoints(server, client):
    # The module's server uses --partition-size 256k: 3 MB of data -> several endpoints.
    t = sample(200_000)
    put(client, "partitioned", t, batch_rows=16_384)
    info = client.get_flight_info(flight.FlightDescriptor.for_path("partitioned"))
    assert info.total_records == t.num_rows
    assert len(info.endpoints) > 2
    parts: list[pa.Table | None] = [None] * len(info.endpoints)

    def fetch(i: int) -> None:
        c = server.client()
        parts[i] = c.do_get(info.endpoints[i].ticket).read_all()
        c.close()

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(parts))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert pa.concat_tables(parts).equals(t)


def test_get_schema_for_dataset_and_plan(client):
    t = sample(10)
    put(client, "schema_ds", t)
    s = client.get_schema(flight.FlightDescriptor.for_path("schema_ds")).schema
    assert s.equals(t.schema, check_metadata=True)
    s2 = client.get_schema(flight.FlightDescriptor.for_command(scan("schema_ds"))).schema
    assert s2.equals(t.schema, check_metadata=True)


def test_plan_flight_info_then_doget(client):
    t = sample(3000)
    put(client, "planned", t)
    info = client.get_flight_info(flight.FlightDescriptor.for_command(scan("planned")))
    assert info.schema.equals(t.schema)
    assert len(info.endpoints) == 1
    assert client.do_get(info.endpoints[0].ticket).read_all().equals(t)


@pytest.mark.parametrize("codec", ["zstd", "lz4_frame"])
def test_doget_body_compression_on_request(server, client, codec):
    # Arrow Java's LZ4_FRAME codec (commons-compress) is very slow; keep the table small.
    t = sample(50_000 if codec == "zstd" else 2_000)
    put(client, "compressed", t)
    options = flight.FlightCallOptions(headers=[(b"x-quiver-compression", codec.encode())])
    assert client.do_get(flight.Ticket(b"compressed"), options).read_all().equals(t)
    ticket = json.dumps({"dataset": "compressed", "compression": codec}).encode()
    assert client.do_get(flight.Ticket(ticket)).read_all().equals(t)


def test_compression_is_applied_and_logged(server, client):
    t = pa.table({"v": pa.array([7] * 200_000, pa.int64())})
    put(client, "repetitive", t)
    ticket = json.dumps({"dataset": "repetitive", "compression": "zstd"}).encode()
    assert client.do_get(flight.Ticket(ticket)).read_all().equals(t)
    wait_idle(client, action_json(client, "stats")["allocated_bytes"])
    lines = [ln for ln in server.log().splitlines()
             if "method=DO_GET target=repetitive" in ln]
    assert lines and "compression=ZSTD" in lines[-1], lines


def test_unknown_compression_is_invalid_argument(client):
    options = flight.FlightCallOptions(headers=[(b"x-quiver-compression", b"snappy")])
    with pytest.raises(pa.ArrowInvalid, match="snappy"):
        client.do_get(flight.Ticket(b"anything"), options).read_all()


def test_doexchange_identity_streams_while_input_arrives(client):
    t = sample(40_000)
    batches = t.to_batches(max_chunksize=10_000)
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_command(IDENTITY))
    writer.begin(t.schema)
    received = []
    for b in batches:
        writer.write_batch(b)
        # The result for this batch arrives before the next one is sent: a streaming stage.
        chunk = reader.read_chunk()
        received.append(chunk.data)
    writer.done_writing()
    with pytest.raises(StopIteration):
        reader.read_chunk()
    writer.close()
    assert pa.Table.from_batches(received).equals(t)


def test_doexchange_scan_plan_ignores_input(client):
    t = sample(100)
    put(client, "exchange_scan", t)
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_command(scan("exchange_scan")))
    writer.begin(pa.schema([("unused", pa.int8())]))
    writer.done_writing()
    assert reader.read_all().equals(t)
    writer.close()


def test_actions_list_drop_stats_health(client):
    names = {a.type for a in client.list_actions()}
    assert {"drop", "stats", "health"} <= names
    put(client, "to_drop", sample(10))
    assert action_json(client, "drop", b"to_drop") == {"dropped": "to_drop"}
    health = action_json(client, "health")
    assert health["status"] == "serving"
    stats = action_json(client, "stats")
    assert "to_drop" not in stats["datasets"]
    assert stats["allocated_bytes"] > 0 and stats["limit_bytes"] == 1 << 30
    # The previous test's stream ends on the server a moment after its client saw the end.
    deadline = time.monotonic() + 10
    while stats["active_streams"] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = action_json(client, "stats")
    assert stats["active_streams"] == 0, stats


def test_stats_return_to_idle_after_streams(client):
    t = sample(50_000)
    put(client, "idle_check", t)
    baseline = wait_idle(client, action_json(client, "stats")["allocated_bytes"])
    for _ in range(3):
        client.do_get(flight.Ticket(b"idle_check")).read_all()
    w, r = client.do_exchange(flight.FlightDescriptor.for_command(IDENTITY))
    w.begin(t.schema)
    w.write_table(t)
    w.done_writing()
    r.read_all()
    w.close()
    idle = wait_idle(client, baseline["allocated_bytes"])
    # Nothing of the calls stays in the transport allocator (incoming messages, replies).
    assert idle["transport_bytes"] == 0


def test_concurrent_clients(server):
    t = sample(20_000)
    c0 = server.client()
    put(c0, "shared", t)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            c = server.client()
            for _ in range(3):
                assert c.do_get(flight.Ticket(b"shared")).read_all().equals(t)
            put(c, f"own_{i}", t.slice(i, 100))
            assert c.do_get(flight.Ticket(f"own_{i}".encode())).read_all().equals(t.slice(i, 100))
            c.close()
        except BaseException as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    c0.close()
