"""The one JVM per Python process, started through JPype.

Every part of Quiver that needs Java calls :func:`start_jvm`; the first call decides the
options, later calls must agree (a JVM cannot be restarted in the same process).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ._jar import engine_jar, find_java_home

__all__ = ["JvmOptions", "start_jvm", "jvm_started"]

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
    jvm_args: any other JVM flags.
    memory_limit: the engine's root allocator limit (bytes, or a size such as ``"4g"``);
        ``None`` for the engine default. Imported Python buffers count against it while Java
        holds them.
    """

    heap: str | None = None
    off_heap: str | None = None
    classpath: tuple[str, ...] = ()
    jvm_args: tuple[str, ...] = field(default_factory=tuple)
    memory_limit: int | str | None = None


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
        classpath = [str(engine_jar()), *options.classpath]
        # Keep the JVM alive through interpreter exit: PyArrow objects still holding Java-exported
        # buffers are released during finalization, and their release callbacks call into the
        # JVM (Arrow's JNI glue). Destroying the JVM first would turn each of those into a
        # failed attach (a warning per object); keeping it makes them ordinary releases. JPype
        # must then also keep its native resources (libjvm stays loaded while Java threads run;
        # unloading it under them aborts the process).
        import jpype.config

        jpype.config.destroy_jvm = False
        jpype.config.free_resources = False
        jpype.startJVM(
            str(jvm_path), *args, classpath=classpath, convertStrings=False,
            interrupt=False,
        )
        _started = options
        return _started


def _libjvm(home: Path) -> Path:
    for p in (home / "lib" / "server" / "libjvm.so", home / "lib" / "server" / "libjvm.dylib"):
        if p.is_file():
            return p
    raise FileNotFoundError(f"no libjvm in {home}/lib/server")
