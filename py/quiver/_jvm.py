"""The one JVM per Python process, started through JPype.

Every part of Quiver that needs Java calls :func:`start_jvm`; the first call decides the
options, later calls must agree (a JVM cannot be restarted in the same process).
"""
from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ._jar import engine_jar, find_java_home

__all__ = ["JvmOptions", "start_jvm", "jvm_started", "on_jvm_exit"]

# The shaded engine jar is on the class path (the unnamed module), so that is what needs access.
ADD_OPENS = "--add-opens=java.base/java.nio=ALL-UNNAMED"

_lock = threading.Lock()
_started: "JvmOptions | None" = None


@dataclass(frozen=True)
class JvmOptions:
    """How the in-process JVM is started.

    heap: Java heap limit (``-Xmx``), e.g. ``"2g"``.
    off_heap: direct-memory limit (``-XX:MaxDirectMemorySize``); Arrow buffers live there
        when allocated by Netty; the engine's own root allocator limit is set separately.
    classpath: extra jars (user functions) appended after the engine jar.
    jvm_args: any other JVM flags. Without a collector flag (``-XX:+Use...GC``) here or in
        ``QUIVER_JVM_ARGS``, the parallel collector is used (see ``docs/in-process.md``).
    memory_limit: the engine's root allocator limit (bytes, or a size such as ``"4g"``);
        ``None`` for the engine default. Imported Python buffers count against it while Java
        holds them.
    memory_cache: most bytes of freed Java blocks (64 KiB or more) kept for reuse, each given
        back after 5 s unused (also while the engine is idle); 0 keeps none. ``None`` keeps the
        engine default, an eighth of ``memory_limit`` and at most 512 MiB, as the Flight server
        does: a result held by Python (``x * 2`` over 10M rows, 80 MB) otherwise comes back as
        fresh memory whose every page the kernel faults in and zeroes on each run.
    link_gc: keep JPype's coupling of the two garbage collectors (every Java collection runs a
        full Python ``gc.collect()`` on a JPype thread that holds the GIL, and a Python
        collection may call ``System.gc()``). Off by default: with 3M Python objects alive a
        full collection took 330-366 ms, and 60 in-process group-bys took 10.7-11.4 s with it
        against 1.8-2.2 s without (``benchmarks/gc_coupling.py``, ``docs/in-process.md``).
        Quiver frees Java memory explicitly and never needs a Java collection to release Python
        memory; turn it on only for code of your own whose Java objects hold Python objects
        (JPype proxies) in cycles.
    """

    heap: str | None = None
    off_heap: str | None = None
    classpath: tuple[str, ...] = ()
    jvm_args: tuple[str, ...] = field(default_factory=tuple)
    memory_limit: int | str | None = None
    memory_cache: int | str | None = None
    link_gc: bool = False

    def __post_init__(self) -> None:
        # "no" or 0 would read as a choice; only a bool is one.
        if not isinstance(self.link_gc, bool):
            raise TypeError(f"link_gc must be True or False, got {self.link_gc!r}")


def jvm_started() -> bool:
    import jpype

    return bool(jpype.isJVMStarted())


def start_jvm(options: JvmOptions | None = None) -> JvmOptions:
    """Starts the JVM if it is not running yet; returns the options it runs with."""
    global _started
    import jpype

    options = options or JvmOptions()
    with _lock:
        if _started is not None:
            return _started
        if jpype.isJVMStarted():  # started by someone else in this process
            # Their choice of collector coupling stands (see JvmOptions.link_gc).
            atexit.register(_mark_exiting)
            _started = options
            return _started
        java_home = find_java_home(17)
        jvm_path = _libjvm(java_home)
        args = [ADD_OPENS, "-Xss4m"]
        if options.heap:
            args.append(f"-Xmx{options.heap}")
        if options.off_heap:
            args.append(f"-XX:MaxDirectMemorySize={options.off_heap}")
        args.extend(options.jvm_args)
        extra = os.environ.get("QUIVER_JVM_ARGS")
        if extra:
            args.extend(extra.split())
        if not any(a.startswith("-XX:+Use") and a.endswith("GC") for a in args):
            # The engine's group tables and windows are large, short-lived arrays: under G1's
            # default region size (4 MB at a 6 GB heap) each counts as "humongous" and starts a
            # collection cycle whose threads take the cores from the query. A 1.5M-group
            # aggregate ran 224 ms on two threads under G1, 103 ms under the parallel collector.
            args.append("-XX:+UseParallelGC")
        if not options.link_gc:
            _unlink_collectors()
        classpath = [str(engine_jar()), *options.classpath]
        jpype.startJVM(
            str(jvm_path), *args, classpath=classpath, convertStrings=False,
            interrupt=False,
        )
        # JPype destroys the JVM at exit (its atexit hook, registered when jpype was imported,
        # runs after this one). Objects that outlive that point must not call into Java.
        atexit.register(_mark_exiting)
        _started = options
        return _started


def _skip_collect(*_args) -> None:
    """Stands in for JPype's ``gc.callbacks`` hook, which would ask for ``System.gc()``."""


def _unlink_collectors() -> None:
    """Stops JPype from coupling Python's and Java's collectors (JvmOptions.link_gc).

    JPype installs ``_jpype._collect`` in ``gc.callbacks`` when the JVM starts (it reads the
    attribute then, so replacing it must happen before). That hook is also what re-arms JPype's
    Java-to-Python trigger after each forced Python collection: without it the trigger fires
    once, at the first Java collection, and never again.
    """
    import _jpype

    _jpype._collect = _skip_collect


_exit_hooks: list = []


def on_jvm_exit(hook) -> None:
    """Registers ``hook()`` to run at interpreter exit just before the JVM is destroyed
    (the C Data bridge uses it to stop release callbacks from calling into Java)."""
    _exit_hooks.append(hook)


def _mark_exiting() -> None:
    for hook in list(_exit_hooks):
        try:
            hook()
        except Exception:  # pragma: no cover - exit path, nothing to report to
            pass


def _libjvm(home: Path) -> Path:
    for p in (home / "lib" / "server" / "libjvm.so", home / "lib" / "server" / "libjvm.dylib"):
        if p.is_file():
            return p
    raise FileNotFoundError(f"no libjvm in {home}/lib/server")
