"""Locating the Java side: the engine jar, the server jar and a JDK 17+."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

__all__ = ["engine_jar", "server_jar", "find_java_home", "JavaNotFound", "JarNotFound"]

_PKG = Path(__file__).resolve().parent
# py/quiver -> repo root, when installed in editable mode from the source tree.
_REPO = _PKG.parent.parent


class JarNotFound(RuntimeError):
    """The Quiver jar could not be found; the message lists every place that was tried."""


class JavaNotFound(RuntimeError):
    """No JDK 17 or newer could be found; the message lists every place that was tried."""


def _find_jar(env: str, bundled: str, built: Path, hint: str) -> Path:
    tried: list[str] = []
    override = os.environ.get(env)
    if override:
        p = Path(override)
        if p.is_file():
            return p
        tried.append(f"${env}={override} (no such file)")
    for candidate in (_PKG / "_jars" / bundled, built):
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    raise JarNotFound(
        f"cannot find {bundled}; tried: " + "; ".join(tried) + f". Build it with `{hint}` "
        f"or point ${env} at it."
    )


def engine_jar() -> Path:
    """The shaded engine jar loaded into the in-process JVM.

    Order: ``$QUIVER_JAR``, the copy bundled in the wheel, then the Maven build tree.
    """
    return _find_jar(
        "QUIVER_JAR", "quiver-engine.jar", _REPO / "engine" / "target" / "quiver-engine.jar",
        "mvn -q -pl engine -am package -DskipTests",
    )


def server_jar() -> Path:
    """The runnable Flight server jar (``java -jar``)."""
    return _find_jar(
        "QUIVER_SERVER_JAR", "quiver-server.jar",
        _REPO / "flight-server" / "target" / "quiver-server.jar",
        "mvn -q -pl flight-server -am package -DskipTests",
    )


def _java_major(home: Path) -> int | None:
    release = home / "release"
    if release.is_file():
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if m:
            return int(m.group(1))
    return None


def _has_libjvm(home: Path) -> bool:
    return (home / "lib" / "server" / "libjvm.so").is_file() or (
        home / "lib" / "server" / "libjvm.dylib"
    ).is_file()


def find_java_home(min_major: int = 17) -> Path:
    """A JDK home of version ``min_major`` or newer.

    Looks at ``$JAVA_HOME``, the ``java`` on ``$PATH``, then the usual install folders
    (``/usr/lib/jvm``, ``/usr/local/lib/jvm``, ``/opt/java``, ``/Library/Java/JavaVirtualMachines``).
    """
    tried: list[str] = []
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    java = shutil.which("java")
    if java:
        candidates.append(Path(java).resolve().parent.parent)
    for root in ("/usr/lib/jvm", "/usr/local/lib/jvm", "/opt/java",
                 "/Library/Java/JavaVirtualMachines"):
        r = Path(root)
        if r.is_dir():
            for child in sorted(r.iterdir()):
                candidates.append(child / "Contents" / "Home" if (child / "Contents").is_dir() else child)
    for home in candidates:
        major = _java_major(home)
        if major is None or not _has_libjvm(home):
            tried.append(f"{home} (not a JDK)")
            continue
        if major < min_major:
            tried.append(f"{home} (Java {major})")
            continue
        return home
    raise JavaNotFound(
        f"Quiver needs a JDK {min_major}+ but found none. Tried: "
        + ("; ".join(tried) if tried else "nothing: $JAVA_HOME is unset and no java on $PATH")
        + f". Install a JDK {min_major}+ and set $JAVA_HOME."
    )
