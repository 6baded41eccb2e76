"""Test-only glue between pyarrow and the Java engine, through the stock Arrow C Stream interface.

This is deliberately the plain path (``org.apache.arrow.c.Data`` + pyarrow's ``_export_to_c`` /
``_import_from_c``); the optimized bridge lives in ``quiver``. Results are copied into
Python-owned memory before the Java query is closed, so tests can check that the engine freed
every byte.

Example::

    eng = JavaEngine(threads=2)
    eng.load("t", pa.table({"x": [1, 2, None]}))
    out = eng.run({"version": 1, "plan": {"node": "scan", "dataset": "t"}})
    eng.close()
"""
from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from quiver._jvm import start_jvm


def _java():
    import jpype

    start_jvm()
    return jpype


class JavaEngine:
    """An EngineMemory + Catalog + QueryEngine in the in-process JVM."""

    def __init__(self, threads: int = 2, morsel_rows: int | None = None, limit_bytes: int = 4 << 30,
                 eager_aggregation: bool = True):
        jpype = _java()
        J = jpype.JClass
        self._Data = J("org.apache.arrow.c.Data")
        self._Stream = J("org.apache.arrow.c.ArrowArrayStream")
        self._PlanJson = J("dev.quiver.engine.plan.PlanJson")
        self.memory = J("dev.quiver.engine.memory.EngineMemory")(limit_bytes)
        self.catalog = J("dev.quiver.engine.dataset.Catalog")(self.memory)
        opts = J("dev.quiver.engine.exec.ExecOptions").defaults().withThreads(threads)
        if morsel_rows:
            opts = opts.withMorselRows(morsel_rows)
        opts = opts.withEagerAggregation(eager_aggregation)
        self.engine = J("dev.quiver.engine.exec.QueryEngine")(self.catalog, opts)

    def load(self, name: str, table: pa.Table) -> None:
        """Commits ``table`` as dataset ``name`` (one C stream import, buffers transferred).

        Through Arrow Java's stock C Data importer, not Quiver's: give it batches that are not
        slices of a shared array (``to_batches(max_chunksize=...)`` makes such slices), whose
        offsets that importer does not apply.
        """
        alloc = self.memory.root()
        stream = self._Stream.allocateNew(alloc)
        try:
            table.to_reader()._export_to_c(int(stream.memoryAddress()))
            reader = self._Data.importArrayStream(alloc, stream)
        finally:
            stream.close()
        try:
            schema = reader.getVectorSchemaRoot().getSchema()
            builder = self.catalog.newDataset(name, schema)
            try:
                first = True
                while reader.loadNextBatch():
                    if first:
                        for did in reader.getDictionaryIds():
                            builder.addDictionary(reader.lookup(did))
                        first = False
                    builder.appendTransfer(reader.getVectorSchemaRoot())
                self.catalog.commit(builder.build())
            finally:
                builder.close()
        finally:
            reader.close()

    def _reader(self, plan: dict | str, inputs: dict[str, pa.Table] | None = None):
        text = plan if isinstance(plan, str) else json.dumps(plan)
        logical = self._PlanJson.parse(text)
        alloc = self.memory.root()
        if not inputs:
            return self.engine.execute(logical, alloc), []
        jpype = _java()
        jmap = jpype.JClass("java.util.HashMap")()
        readers = []
        for k, t in inputs.items():
            stream = self._Stream.allocateNew(alloc)
            try:
                t.to_reader()._export_to_c(int(stream.memoryAddress()))
                r = self._Data.importArrayStream(alloc, stream)
            finally:
                stream.close()
            readers.append(r)
            jmap.put(k, r)
        return self.engine.execute(logical, jmap, alloc), readers

    def run(self, plan: dict | str, inputs: dict[str, pa.Table] | None = None) -> pa.Table:
        """Runs a plan and returns its result as a Python-owned table."""
        result, readers = self._reader(plan, inputs)
        try:
            alloc = self.memory.root()
            out = self._Stream.allocateNew(alloc)
            try:
                self._Data.exportArrayStream(alloc, result, out)
                reader = pa.RecordBatchReader._import_from_c(int(out.memoryAddress()))
            finally:
                out.close()
            table = reader.read_all()
            copied = _deep_copy(table)
            del table
            reader.close()
        finally:
            result.close()
            for r in readers:
                r.close()
        return copied

    def explain(self, plan: dict) -> str:
        """Runs a plan to the end in Java and returns its operator tree with metrics."""
        result, readers = self._reader(plan)
        try:
            while result.loadNextBatch():
                pass
            return str(result.explain())
        finally:
            result.close()

    def output_schema(self, plan: dict) -> str:
        jpype = _java()
        logical = self._PlanJson.parse(json.dumps(plan))
        return str(self.engine.outputSchema(logical, jpype.JClass("java.util.HashMap")()))

    def allocated(self) -> int:
        return int(self.memory.allocatedBytes())

    def close(self) -> None:
        self.engine.close()
        self.catalog.close()
        leftover = int(self.memory.allocatedBytes())
        tree = str(self.memory.describe())
        self.memory.close()
        if leftover:
            raise AssertionError(f"{leftover} bytes still allocated:\n{tree}")


def _deep_copy(table: pa.Table) -> pa.Table:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return pa.ipc.open_stream(sink.getvalue()).read_all()


def plan(node: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "plan": node}


def col(name: str) -> dict[str, Any]:
    return {"expr": "column", "name": name}


def lit(type_: Any, value: Any) -> dict[str, Any]:
    return {"expr": "literal", "type": type_, "value": value}


def call(fn: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"expr": "call", "function": fn, "args": list(args)}
