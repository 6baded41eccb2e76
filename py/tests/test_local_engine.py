"""quiver.local(): the process's in-process engine."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import quiver as qv
from quiver import _jar
from quiver._local import LocalEngine, parse_size

PY_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def eng():
    return qv.local()


def test_parse_size():
    assert parse_size("2g") == 2 << 30
    assert parse_size("512MiB") == 512 << 20
    assert parse_size(1234) == 1234
    with pytest.raises(ValueError, match="cannot parse size"):
        parse_size("lots")


def test_instance_refuses_different_options_once_started(eng):
    assert LocalEngine.instance() is eng
    with pytest.raises(ValueError, match="cannot be restarted"):
        LocalEngine.instance(qv.JvmOptions(heap="17m"))


def test_put_replace_append_list_info_stats(eng):
    eng.put("le_a", {"x": np.arange(3)})
    eng.put("le_a", {"x": np.arange(4)})  # replace
    assert eng.info("le_a").num_rows == 4
    info = eng.put("le_a", {"x": np.arange(2)}, mode="append")
    assert info.num_rows == 6 and info.num_batches == 2
    assert eng.get("le_a").to_arrow().column("x").to_pylist() == [0, 1, 2, 3, 0, 1]
    eng.put("le_b", pa.table({"s": ["x"]}))
    names = [d.name for d in eng.list()]
    assert names == sorted(names) and {"le_a", "le_b"} <= set(names)
    s = eng.stats()
    assert s["datasets"] >= 2 and s["allocated_bytes"] > 0 and s["limit_bytes"] > 0
    with pytest.raises(ValueError, match="mode must be"):
        eng.put("le_a", {"x": np.arange(1)}, mode="upsert")
    with pytest.raises(qv.QuiverError):
        eng.put("le_a", {"y": np.arange(1)}, mode="append")  # schema differs
    assert eng.get("le_a").num_rows == 6  # unchanged by the failed append
    eng.drop("le_a")
    eng.drop("le_b")
    gc.collect()
    eng.release_caches()
    assert eng.stats()["allocated_bytes"] == 0


def test_memory_limit_option_in_a_fresh_process():
    script = textwrap.dedent("""
        import numpy as np, quiver as qv
        eng = qv.local(memory_limit="1m")
        print(eng.stats()["limit_bytes"])
        try:
            eng.put("big", {"x": np.arange(1_000_000)})
        except qv.MemoryLimitError as e:
            print("limit:", "big" in eng, eng.stats()["allocated_bytes"] - eng.stats()["cached_bytes"])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PY_DIR)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(1 << 20), "limit:", "False", "0"]


def test_an_exhausted_java_heap_is_a_memory_error_and_the_engine_goes_on():
    # 4M groups need far more than a 96 MB heap for the group table; the dataset itself is
    # off-heap. The query fails with MemoryLimitError naming the heap, and the next one runs.
    script = textwrap.dedent("""
        import gc, numpy as np, quiver as qv
        eng = qv.local(heap="96m")
        n = 4_000_000
        eng.put("t", {"k": np.arange(n, dtype="int64") * 1000, "x": np.ones(n)})
        baseline = eng.stats()["allocated_bytes"]
        try:
            eng.table("t").group_by("k").agg(s=qv.sum("x")).collect()
            print("no error")
        except qv.MemoryLimitError as e:
            print("MemoryLimitError", "heap" in str(e), "quiver.local(heap=" in str(e))
        print(eng.table("t").agg(n=qv.count()).collect()["n"][0].as_py())
        gc.collect()
        print(eng.stats()["allocated_bytes"] == baseline)
    """)
    env = {k: v for k, v in os.environ.items() if k != "QUIVER_JVM_ARGS"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(env, PYTHONPATH=str(PY_DIR)), timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["MemoryLimitError", "True", "True", "4000000", "True"], \
        proc.stdout + proc.stderr


@pytest.mark.parametrize("jvm_args, collector", [
    ((), "PS Scavenge"),                      # the default: the parallel collector
    (("-XX:+UseG1GC",), "G1 Young Generation"),  # a collector the caller names wins
])
def test_garbage_collector_default_and_override_in_a_fresh_process(jvm_args, collector):
    script = textwrap.dedent(f"""
        import jpype, quiver as qv
        qv.local(jvm_args={jvm_args!r})
        mx = jpype.JClass("java.lang.management.ManagementFactory")
        print("|".join(str(b.getName()) for b in mx.getGarbageCollectorMXBeans()))
    """)
    env = {k: v for k, v in os.environ.items() if k != "QUIVER_JVM_ARGS"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(env, PYTHONPATH=str(PY_DIR)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert collector in proc.stdout.strip().split("|"), proc.stdout


@pytest.mark.parametrize("value", ["no", 0, None])
def test_link_gc_takes_only_a_bool(value):
    with pytest.raises(TypeError, match="link_gc must be True or False"):
        qv.local(link_gc=value)


@pytest.mark.parametrize("link_gc, forced", [(False, 0), (True, 3)])
def test_java_collections_force_full_python_collections_only_when_linked(link_gc, forced):
    # JPype's coupling runs a full Python gc.collect() (330 ms with 3M objects alive, holding
    # the GIL) after every Java collection; Quiver turns it off unless asked (link_gc).
    script = textwrap.dedent(f"""
        import gc, time, jpype, quiver as qv
        qv.local(link_gc={link_gc!r})
        system = jpype.JClass("java.lang.System")
        def java_collection():
            gc.collect(0)  # a Python collection of its own, which re-arms JPype's trigger
            system.gc()
            time.sleep(0.5)  # JPype's reference thread reacts to the collection
        java_collection()  # the first one may run one more, linked or not
        before = gc.get_stats()[2]["collections"]
        for _ in range(3):
            java_collection()
        print(gc.get_stats()[2]["collections"] - before)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PY_DIR)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == forced, proc.stdout


def test_no_jdk_message_says_what_was_searched(tmp_path, monkeypatch):
    fake = tmp_path / "not-a-jdk"
    fake.mkdir()
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("JAVA_HOME", str(fake))
    monkeypatch.setenv("PATH", str(empty_bin))

    class NoInstallDirs(type(Path())):  # hide the machine's /usr/lib/jvm & co.
        def is_dir(self):
            if str(self) in ("/usr/lib/jvm", "/usr/local/lib/jvm", "/opt/java",
                             "/Library/Java/JavaVirtualMachines"):
                return False
            return super().is_dir()

    monkeypatch.setattr(_jar, "Path", NoInstallDirs)
    with pytest.raises(qv.JavaNotFound) as info:
        _jar.find_java_home(17)
    msg = str(info.value)
    assert "needs a JDK 17+" in msg
    assert f"{fake} (not a JDK)" in msg
    assert "$JAVA_HOME" in msg


def test_no_jdk_fails_quiver_local_with_that_message():
    script = textwrap.dedent("""
        import quiver as qv
        try:
            qv.local()
        except qv.JavaNotFound as e:
            print("JavaNotFound:", e)
    """)
    env = dict(os.environ, PYTHONPATH=str(PY_DIR), JAVA_HOME="/nonexistent/jdk", PATH="/nonexistent")
    # Hide install folders by running with a find_java_home that sees none of them.
    script = ("import quiver._jar as j, pathlib\n"
              "class P(type(pathlib.Path())):\n"
              "    def is_dir(self):\n"
              "        return False if str(self).startswith(('/usr/lib/jvm', '/usr/local/lib/jvm', '/opt/java', '/Library/Java')) else super().is_dir()\n"
              "j.Path = P\n" + script)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("JavaNotFound: Quiver needs a JDK 17+")
    assert "/nonexistent/jdk (not a JDK)" in proc.stdout


def test_handoff_proof_reports_one_address_on_every_side(eng):
    from quiver._local import handoff_proof

    proof = handoff_proof(100_000, eng)
    assert proof.zero_copy and proof.python_address == proof.java_address
    assert "zero bytes copied" in str(proof)
    assert "__quiver_handoff_proof" not in eng


def test_freed_result_blocks_are_kept_for_reuse_by_default(eng):
    """A computed result's blocks stay cached once Python drops it (not counted as allocated,
    within the default bound) and the next run of the query reuses them."""
    eng.release_caches()
    x = np.random.default_rng(1).random(1_000_000)
    frame = eng.from_arrow({"x": x}).select(y=qv.col("x") * 2)
    out = frame.collect()
    assert np.allclose(out["y"].to_numpy(), x * 2)
    del out
    gc.collect()
    stats = eng.stats()
    assert 4_000_000 <= stats["cached_free_bytes"] <= min(stats["limit_bytes"] // 8, 512 << 20)
    hits = int(eng.memory.blockCache().hits())
    again = frame.collect()
    assert np.allclose(again["y"].to_numpy(), x * 2)
    assert int(eng.memory.blockCache().hits()) >= hits + 8, "the second run reused freed blocks"
    del again
    gc.collect()
    eng.release_caches()
    assert eng.stats()["cached_free_bytes"] == 0


@pytest.mark.parametrize("setting, kept", [("0", False), (0, False), ("64m", True)])
def test_memory_cache_option_sets_or_turns_off_the_reuse(setting, kept):
    """memory_cache=0 keeps no freed block; a size keeps them until release_caches()."""
    script = textwrap.dedent(f"""
        import gc, numpy as np, quiver as qv
        eng = qv.local(memory_cache={setting!r})
        x = np.random.default_rng(1).random(1_000_000)
        out = eng.from_arrow({{"x": x}}).select(y=qv.col("x") * 2).collect()
        assert np.allclose(out["y"].to_numpy(), x * 2)
        del out
        gc.collect()
        print(eng.stats()["cached_free_bytes"] >= 4_000_000)
        eng.release_caches()
        print(eng.stats()["cached_free_bytes"])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PY_DIR)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(kept), "0"]


@pytest.mark.parametrize("option, value", [("memory_cache", "lots"), ("memory_cache", -1),
                                           ("memory_limit", "0.5 parsecs"), ("memory_limit", 0)])
def test_a_bad_memory_size_is_refused_naming_its_option(option, value):
    script = textwrap.dedent(f"""
        import quiver as qv
        try:
            qv.local({option}={value!r})
        except ValueError as e:
            print(e)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PY_DIR)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{option}: "), proc.stdout
    assert str(value) in proc.stdout
