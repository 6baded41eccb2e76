"""Dictionary columns pass through a plan still encoded, in process and over Flight.

A column that no operator computes on keeps its dictionary (the source's memory, in process),
including when the input replaces the dictionary between batches; the operators that gather rows
decode it, and the planned schema says which. Oracle: the input table itself (PyArrow), and
DuckDB for the filtered rows.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
import pytest

import quiver as qv
from flight_server import ServerProcess, idle_bytes, wait_idle


def _chunked_with_two_dictionaries() -> pa.Table:
    """Three batches with dictionaries of their own (the third equal to the first's, as separate
    memory)."""
    first = pa.table({"tag": pa.array(["red", "green", None, "red"]).dictionary_encode(),
                      "x": pa.array([1, 2, 3, 4], pa.int64())})
    second = pa.table({"tag": pa.DictionaryArray.from_arrays(
                           pa.array([2, 0, 1], pa.int8()).cast(pa.int32()),
                           pa.array(["ant", "bee", "cat"])),
                       "x": pa.array([5, 6, 7], pa.int64())})
    third = pa.table({"tag": pa.array(["green", "red"]).dictionary_encode(),
                      "x": pa.array([8, 9], pa.int64())})
    return pa.concat_tables([first, second, third])


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def test_filter_keeps_the_dictionary_of_every_input_batch_in_process(eng):
    t = _chunked_with_two_dictionaries()
    f = eng.from_arrow(t).filter(qv.col("x") > 1)
    out = f.collect()
    assert pa.types.is_dictionary(out.schema.field("tag").type)
    assert out.schema == f.schema == f.resolved_schema()
    expected = duckdb.sql("SELECT CAST(tag AS VARCHAR) AS tag, x FROM t WHERE x > 1").fetch_arrow_table()
    assert out.column("tag").to_pylist() == expected.column("tag").to_pylist()
    assert out.column("x").to_pylist() == expected.column("x").to_pylist()
    # from_arrow unifies a table's dictionaries first: every value is in the one dictionary
    for chunk in out.column("tag").chunks:
        assert {"ant", "bee", "cat", "red", "green"} <= set(chunk.dictionary.to_pylist())


def test_passed_through_dictionary_is_the_inputs_memory(eng):
    values = pa.array([f"value-{i}" for i in range(1000)])
    t = pa.table({"tag": pa.DictionaryArray.from_arrays(
        pa.array([i % 1000 for i in range(50_000)], pa.int32()), values),
        "x": pa.array(range(50_000), pa.int64())})
    out = eng.from_arrow(t).filter(qv.col("x") % 2 == 0).select("tag").collect()
    want = {b.address for b in t.column("tag").chunk(0).dictionary.buffers() if b is not None}
    for chunk in out.column("tag").chunks:
        got = {b.address for b in chunk.dictionary.buffers() if b is not None and b.size}
        # offsets and values are the input's own buffers (a validity bitmap may be added)
        assert got & want and len(got & want) >= 2, (got, want)
    assert out.column("tag").to_pylist() == t.column("tag").to_pylist()[::2]


def test_gathering_operators_decode_and_say_so(eng):
    t = _chunked_with_two_dictionaries()
    eng.put("dict_tbl", t.unify_dictionaries())
    try:
        for f in (eng.table("dict_tbl").sort("x"), eng.table("dict_tbl").distinct(),
                  eng.table("dict_tbl").sort("x").limit(3)):
            out = f.collect()
            assert out.schema.field("tag").type == pa.utf8()
            assert out.schema.types == f.schema.types == f.resolved_schema().types
        grouped = eng.table("dict_tbl").group_by("tag").agg(qv.sum("x")).collect()
        assert grouped.schema.field("tag").type == pa.utf8()
        kept = eng.table("dict_tbl").select("tag", y=qv.col("x") * 2).collect()
        assert pa.types.is_dictionary(kept.schema.field("tag").type)
        assert kept.column("tag").to_pylist() == t.column("tag").to_pylist()
    finally:
        eng.drop("dict_tbl")


def test_in_process_memory_returns_after_dictionary_queries(eng):
    t = _chunked_with_two_dictionaries()
    gc.collect()
    eng.release_caches()
    before = eng.stats()["allocated_bytes"]
    for _ in range(3):
        eng.from_arrow(t).filter(qv.col("x") > 0).collect()
    gc.collect()
    eng.release_caches()
    assert eng.stats()["allocated_bytes"] == before


@pytest.fixture(scope="module")
def srv():
    with ServerProcess.start() as s:
        yield s


IDENTITY = json.dumps({"version": 1, "plan": {"node": "input", "name": "input"}})


def test_exchange_returns_replaced_dictionaries_unchanged(srv):
    t = _chunked_with_two_dictionaries()
    c = srv.client()
    base = idle_bytes(c)
    for _ in range(2):
        writer, reader = c.do_exchange(flight.FlightDescriptor.for_command(IDENTITY))
        writer.begin(t.schema)
        for b in t.to_batches():
            writer.write_batch(b)
        writer.done_writing()
        out = reader.read_all()
        writer.close()
        assert out.schema == t.schema
        assert out.equals(t)
    wait_idle(c, base)


def test_plan_over_a_dataset_keeps_its_dictionary_over_flight(srv):
    t = _chunked_with_two_dictionaries().unify_dictionaries()
    c = srv.client()
    writer, meta = c.do_put(flight.FlightDescriptor.for_path("dict_ds"), t.schema)
    writer.write_table(t)
    writer.close()
    base = idle_bytes(c)
    plan = {"version": 1, "plan": {"node": "filter", "input": {"node": "scan", "dataset": "dict_ds"},
            "predicate": {"expr": "call", "function": ">", "args": [
                {"expr": "column", "name": "x"},
                {"expr": "literal", "type": "int64", "value": 2}]}}}
    planned = c.get_schema(flight.FlightDescriptor.for_command(json.dumps(plan))).schema
    out = c.do_get(flight.Ticket(json.dumps(plan).encode())).read_all()
    assert out.schema == planned == t.schema
    assert out.equals(t.filter(pc.greater(t.column("x"), 2)))
    wait_idle(c, base)


def test_client_vanishing_after_a_dictionary_replacement_frees_everything(srv):
    """A client dies mid-DoExchange, right after the server sent it a replaced dictionary:
    the call's memory (and the dictionary messages gRPC held) is freed, and the server serves."""
    c = srv.client()
    base = idle_bytes(c)
    code = textwrap.dedent(f"""
        import os, pyarrow as pa, pyarrow.flight as flight
        c = flight.connect("{srv.location}")
        def chunk(values, n):
            idx = pa.array([i % len(values) for i in range(n)], pa.int32())
            return pa.table({{"tag": pa.DictionaryArray.from_arrays(idx, pa.array(values)),
                             "x": pa.array(range(n), pa.int64())}})
        t = pa.concat_tables([chunk(["a", "b"], 50_000), chunk(["c", "d", "e"], 50_000),
                              chunk(["f"], 50_000)])
        w, r = c.do_exchange(flight.FlightDescriptor.for_command({IDENTITY!r}))
        w.begin(t.schema)
        for b in t.to_batches()[:2]:
            w.write_batch(b)
        r.read_chunk()
        r.read_chunk()
        os._exit(3)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    wait_idle(c, base)
    t = _chunked_with_two_dictionaries()
    writer, reader = c.do_exchange(flight.FlightDescriptor.for_command(IDENTITY))
    writer.begin(t.schema)
    writer.write_table(t)
    writer.done_writing()
    assert reader.read_all().equals(t)
    writer.close()


def test_dictionary_index_outside_its_dictionary_is_refused_by_the_exchange(srv):
    """Codes now pass through unchanged, so a bad one must still be caught on the way in."""
    c = srv.client()
    base = idle_bytes(c)
    bad = pa.DictionaryArray.from_arrays(pa.array([0, 1, 7], pa.int32()), pa.array(["a", "b"]),
                                         safe=False)
    t = pa.table({"tag": bad})
    writer, reader = c.do_exchange(flight.FlightDescriptor.for_command(IDENTITY))
    with pytest.raises(pa.ArrowInvalid, match="dictionary index 7 outside the 2-entry dictionary"):
        writer.begin(t.schema)
        writer.write_table(t)
        writer.done_writing()
        reader.read_all()
    wait_idle(c, base)
