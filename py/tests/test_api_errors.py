"""Every documented error type is raised, in both modes, with a message naming the culprit and
without a raw Java or gRPC stack in the traceback."""
from __future__ import annotations

import json
import socket
import traceback

import pyarrow as pa
import pytest

import quiver as qv
from api_support import engine, local_engine, remote_engine, start_server  # noqa: F401


def plan(node: dict) -> dict:
    return {"version": 1, "plan": node}


def scan(dataset: str, **kw) -> dict:
    return {"node": "scan", "dataset": dataset, **kw}


def no_java_stack(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err))
    assert "at dev.quiver" not in text and ".java\"" not in text, text
    assert "gRPC client debug context" not in text, text


def test_column_not_found_client_side_and_in_engine(engine):
    with pytest.raises(qv.ColumnNotFound, match="'l_quantty'.*did you mean 'l_quantity'"):
        engine.table("lineitem").select("l_quantty")
    with pytest.raises(qv.ColumnNotFound, match="nope") as e:
        engine.run_plan(plan(scan("nation", columns=["nope"])))
    no_java_stack(e.value)


def test_function_not_found_in_engine(engine):
    f = engine.table("nation").select(y=qv.call("no_such_function", qv.col("n_nationkey")))
    with pytest.raises(qv.FunctionNotFound, match="no_such_function") as e:
        f.collect()
    no_java_stack(e.value)


def test_type_mismatch_client_side_and_in_engine(engine):
    with pytest.raises(qv.TypeMismatch, match="function 'add' got"):
        engine.table("nation").select(y=qv.col("n_name") + 1)
    bad = plan({"node": "project", "input": scan("nation"), "columns": [
        {"name": "y", "expr": {"expr": "call", "function": "add", "args": [
            {"expr": "column", "name": "n_name"},
            {"expr": "literal", "type": "int64", "value": 1}]}}]})
    with pytest.raises(qv.TypeMismatch, match="add") as e:
        engine.run_plan(bad)
    no_java_stack(e.value)


def test_plan_error_for_arity_and_invalid_plans(engine):
    with pytest.raises(qv.PlanError, match="'substring' takes"):
        engine.table("nation").select(y=qv.substring("n_name"))
    bad = plan({"node": "project", "input": scan("nation"), "columns": [
        {"name": "y", "expr": {"expr": "call", "function": "substring",
                               "args": [{"expr": "column", "name": "n_name"}]}}]})
    with pytest.raises(qv.PlanError, match="substring"):
        engine.run_plan(bad)
    with pytest.raises(qv.PlanError):
        engine.run_plan({"version": 1, "plan": {"node": "scan", "dataset": "nation",
                                                "colums": ["n_name"]}})


def test_dataset_not_found(engine):
    with pytest.raises(qv.DatasetNotFound, match="no_such_dataset"):
        engine.table("no_such_dataset")
    with pytest.raises(qv.DatasetNotFound):
        engine.get("no_such_dataset").to_arrow()
    with pytest.raises(qv.DatasetNotFound):
        engine.drop("no_such_dataset")
    with pytest.raises(qv.DatasetNotFound) as e:
        engine.run_plan(plan(scan("no_such_dataset")))
    no_java_stack(e.value)
    with pytest.raises(KeyError):  # also a KeyError, as Python expects for a missing name
        engine.table("no_such_dataset")


def test_unsupported_type(engine):
    with pytest.raises(qv.UnsupportedType, match="cannot read"):
        engine.put("x", object())
    t = pa.table({"l": pa.array([[1, 2], [3]])})
    f = engine.from_arrow(t)
    assert f.collect().equals(t)  # lists flow through untouched
    bad = plan({"node": "aggregate", "input": scan(f.to_plan()["plan"]["dataset"]),
                "aggregates": [{"name": "m", "function": "max",
                                "args": [{"expr": "column", "name": "l"}]}]})
    with pytest.raises((qv.UnsupportedType, qv.TypeMismatch)):
        engine.run_plan(bad)


def test_memory_limit_error_remote(remote_engine):  # noqa: F811 - needs the server jar
    server = start_server("--memory-limit", "4m")
    try:
        eng = qv.connect(server.uri)
        big = pa.table({"x": pa.array(range(2_000_000), pa.int64())})  # 16 MB
        with pytest.raises(qv.MemoryLimitError) as e:
            eng.put("big", big)
        no_java_stack(e.value)
        assert "big" not in eng.names()  # nothing half-written is visible
        eng.put("small", {"x": [1, 2, 3]})  # and the server keeps serving
        assert eng.get("small").num_rows == 3
        eng.close()
    finally:
        server.stop()


def test_remote_uploads_slice_batches_over_the_servers_message_limit(remote_engine):  # noqa: F811
    # One 1M-row batch is ~14 MB, over this server's 1 MB message limit: put and DoExchange
    # send it as zero-copy slices of at most a quarter of the limit instead of failing.
    server = start_server("--max-message-size", "1m")
    try:
        eng = qv.connect(server.uri)
        assert eng.health()["max_message_bytes"] == 1 << 20
        n = 1_000_000
        t = pa.table({"x": pa.array(range(n), pa.int64()),
                      "s": pa.array([f"v{i % 977}" for i in range(n)])})
        assert t.column("x").num_chunks == 1 and t.nbytes > 12 << 20
        eng.put("big", t)
        assert eng.info("big").num_rows == n
        assert eng.get("big").to_arrow().equals(t)
        identity = {"version": 1, "plan": {"node": "input", "name": "input"}}
        reader = pa.RecordBatchReader.from_batches(t.schema, t.to_batches())
        assert eng._execute(identity, {"input": reader}).read_all().equals(t)
        eng.close()
    finally:
        server.stop()


def test_remote_resource_exhaustion_is_a_memory_error_like_in_process(remote_engine):  # noqa: F811
    # The server answers RESOURCE_EXHAUSTED, which PyArrow raises as ArrowInvalid: the client
    # once reported both cases below as PlanError.
    from flight_server import ServerProcess

    with ServerProcess.start("--max-message-size", "1m", jvm_args=("-Xmx160m",)) as s:
        eng = qv.connect(s.location)
        n = 4_000_000
        eng.put("t", pa.table({"k": pa.array(range(0, 1000 * n, 1000), pa.int64()),
                               "x": pa.array([1.0] * n)}))
        with pytest.raises(qv.MemoryLimitError, match="Java heap") as e:
            eng.table("t").group_by("k").agg(s=qv.sum("x")).collect()
        no_java_stack(e.value)
        # One 3 MB value cannot be sliced below the 1 MB message limit.
        with pytest.raises(qv.MemoryLimitError, match="exceeds maximum size 1048576"):
            eng.put("one_big_value", pa.table({"s": pa.array(["x" * 3_000_000])}))
        assert "one_big_value" not in eng.names()
        assert eng.table("t").agg(n=qv.count()).collect()["n"][0].as_py() == n
        eng.close()


def test_server_error_when_unreachable_or_unauthorized(remote_engine):  # noqa: F811
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = qv.connect(f"grpc://127.0.0.1:{port}", timeout=5)
    with pytest.raises(qv.ServerError) as e:
        eng.names()
    no_java_stack(e.value)
    server = start_server("--tokens", "s3cret")
    try:
        with pytest.raises(qv.ServerError, match="not authorized"):
            qv.connect(server.uri, token="wrong").names()
        assert qv.connect(server.uri, token="s3cret").names() == []
    finally:
        server.stop()


def test_a_value_that_fails_an_operation_is_a_compute_error_in_both_modes(engine):
    # Data, not the plan: the same type in-process and remotely (once JavaError in-process and
    # PlanError or ServerError remotely, depending on the Java exception's class).
    big = {"expr": "literal", "type": {"name": "decimal128", "precision": 18, "scale": 0},
           "value": "999999999999999999"}
    cases = [
        ({"expr": "call", "function": "multiply", "args": [big, big]}, "decimal overflow",
         "nation"),
        ({"expr": "cast", "input": {"expr": "column", "name": "s"}, "type": "int64"},
         "cannot cast 'x7' to int64", "words"),
        ({"expr": "call", "function": "substring", "args": [
            {"expr": "column", "name": "s"}, {"expr": "literal", "type": "int64", "value": 1},
            {"expr": "column", "name": "n"}]}, "negative length -2", "words"),
    ]
    engine.put("words", {"s": ["12", "x7", "3"], "n": [1, -2, 3]})
    try:
        for expr, needle, dataset in cases:
            bad = plan({"node": "project", "input": scan(dataset),
                        "columns": [{"name": "y", "expr": expr}]})
            with pytest.raises(qv.ComputeError, match=needle) as e:
                engine.run_plan(bad)
            assert isinstance(e.value, ValueError)
            assert "COMPUTE_ERROR" not in str(e.value)
            no_java_stack(e.value)
        assert engine.table("words").collect().num_rows == 3  # the engine goes on
    finally:
        engine.drop("words")  # the engine is shared: later tests count its memory


def test_refused_requests_raise_the_same_error_in_both_modes(engine):
    # In-process these were JavaError (a Java IllegalArgumentException); remotely PlanError.
    with pytest.raises(qv.PlanError, match="must not contain a NUL") as e:
        engine.put("a\x00b", {"x": [1]})
    no_java_stack(e.value)
    with pytest.raises(qv.PlanError, match="must not be empty"):
        engine.put("", {"x": [1]})
    engine.put("schema_a", {"x": [1, 2]})
    try:
        with pytest.raises(qv.PlanError, match="cannot append to dataset 'schema_a'"):
            engine.put("schema_a", {"y": ["a"]}, mode="append")
        assert engine.table("schema_a").collect().num_rows == 2  # nothing half-appended
    finally:
        engine.drop("schema_a")


def test_errors_are_quiver_errors_with_the_java_message(engine):
    with pytest.raises(qv.QuiverError) as e:
        engine.run_plan(json.dumps(plan(scan("nation", columns=["zzz"]))))
    assert "zzz" in str(e.value)


def test_connect_with_tls_root_certs_and_token(remote_engine):  # noqa: F811 - needs the server
    from flight_server import SHARED

    certs = SHARED / "flight"
    server = start_server("--tls-cert", str(certs / "cert0.pem"),
                          "--tls-key", str(certs / "cert0.pkcs1"), "--tokens", "s3cret")
    try:
        port = server.uri.rsplit(":", 1)[1]
        eng = qv.connect(f"grpc://localhost:{port}", token="s3cret",
                         tls_root_certs=certs / "root-ca.pem")   # a path or the PEM bytes
        assert eng.uri.startswith("grpc+tls://")
        eng.put("api_tls", {"x": [1, 2, 3]})
        assert eng.table("api_tls").filter(qv.col("x") > 1).count_rows() == 2
        with pytest.raises(qv.ServerError):
            qv.connect(f"grpc://localhost:{port}", token="s3cret").names()  # no TLS
        eng.close()
    finally:
        server.stop()
