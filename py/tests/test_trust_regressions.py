"""Bugs the trust suites found, pinned by the smallest reproduction."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from trust_paths import TrustEnv, action_json, idle_bytes, wait_idle


@pytest.fixture(scope="module")
def env():
    with TrustEnv.start() as e:
        yield e


def _dict_batch(values: list[str], indices: list[int], wrap_in_struct: bool) -> pa.RecordBatch:
    d = pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(values))
    col = pa.StructArray.from_arrays([d], ["s"]) if wrap_in_struct else d
    return pa.record_batch([col], ["c"])


@pytest.mark.parametrize("nested", [False, True], ids=["top_level", "in_struct"])
def test_doput_with_a_replaced_dictionary_is_refused_not_misread(env, nested):
    # Found by test_trust_random (seed 20260535): Arrow Java's FlightStream reloads a replaced
    # dictionary into the same vector, so the server used to store the first batch decoded
    # against the second batch's dictionary: ['a', 'b'] came back as ['x', 'y'].
    c = env.client
    baseline = idle_bytes(c)
    table = pa.Table.from_batches([_dict_batch(["a", "b"], [0, 1], nested),
                                   _dict_batch(["x", "y", "z"], [2, 0], nested)])
    with pytest.raises(pa.ArrowNotImplementedError, match="dictionary 0 .*was replaced after "
                       "batch 1.*unify_dictionaries"):
        w, r = c.do_put(flight.FlightDescriptor.for_path("replaced_dict"), table.schema)
        for b in table.to_batches():
            w.write_batch(b)
        w.done_writing()
        r.read()
        w.close()
    assert "replaced_dict" not in action_json(c, "stats")["datasets"]
    wait_idle(c, baseline)
    # The documented remedy works and round-trips the values.
    unified = table.unify_dictionaries()
    w, r = c.do_put(flight.FlightDescriptor.for_path("replaced_dict"), unified.schema)
    w.write_table(unified)
    w.done_writing()
    r.read()
    w.close()
    got = c.do_get(flight.Ticket(b"replaced_dict")).read_all()
    assert got.to_pylist() == table.to_pylist()
    list(c.do_action(flight.Action("drop", b"replaced_dict")))


def test_doput_with_a_dictionary_delta_is_refused_not_misread(env):
    c = env.client
    t = pa.Table.from_batches([_dict_batch(["a", "b"], [0, 1], False),
                               _dict_batch(["a", "b", "c"], [2, 0], False)])
    opts = flight.FlightCallOptions(
        write_options=pa.ipc.IpcWriteOptions(emit_dictionary_deltas=True))
    with pytest.raises(pa.ArrowNotImplementedError, match="was replaced after batch 1"):
        w, r = c.do_put(flight.FlightDescriptor.for_path("delta_dict"), t.schema, opts)
        for b in t.to_batches():
            w.write_batch(b)
        w.done_writing()
        r.read()
        w.close()
    assert "delta_dict" not in action_json(c, "stats")["datasets"]


def test_put_of_a_stock_importer_type_with_a_replaced_dictionary_is_refused_not_misread(env):
    # Found by test_trust_random (seed 1025): a list_view column sends the batches through Arrow
    # Java's own C Data importer, which reloads a changed dictionary into the same vector; the
    # dataset then decoded batch 0 against batch 1's dictionary (indices out of range).
    import quiver as qv

    eng = env.engine

    def batch(values, indices):
        values = values if isinstance(values, pa.Array) else pa.array(values)
        d = pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), values)
        lv = pa.array([[1], [2, 3]][: len(indices)], pa.list_view(pa.int32()))
        return pa.record_batch([pa.StructArray.from_arrays([d], ["s"]), lv], ["c", "lv"])

    table = pa.Table.from_batches([batch(["a", "b", "c"], [2, 1]), batch(["x"], [0])])
    with pytest.raises(qv.QuiverError, match="different dictionary in a later batch"):
        eng.put("stock_replaced_dict", table)
    assert "stock_replaced_dict" not in eng
    # One dictionary (the same memory) throughout is stored and read back exactly.
    shared = pa.array(["a", "b", "c"])
    same = pa.Table.from_batches([batch(shared, [2, 1]), batch(shared, [0])])
    eng.put("stock_same_dict", same)
    try:
        back = eng.get("stock_same_dict").to_arrow()
        back.validate(full=True)
        assert back.to_pylist() == same.to_pylist()
    finally:
        eng.drop("stock_same_dict")
