"""Session-wide settings of the test suite.

The suite runs the in-process engine (JPype) in the pytest process. JPype destroys the JVM from
its own exit hook, and in long sessions that teardown now and then crashes the interpreter
after every test has passed: a segmentation fault inside ``jpype._core._JTerminate``, in 2 of
5 full runs here, a known JPype problem (jpype-project/jpype#934, #1144). Turning the teardown
off instead (``jpype.config.onexit = False``) made short-lived processes abort at exit
("FATAL: exception not rethrown"). So the test process exits once pytest has reported
everything, with pytest's exit status, skipping interpreter finalization (``os._exit``).
``QUIVER_TEST_NORMAL_EXIT=1`` keeps the normal exit (to look at the teardown itself).
"""
from __future__ import annotations

import os
import sys

import pytest

_status: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if "code" not in _status or os.environ.get("QUIVER_TEST_NORMAL_EXIT"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_status["code"])
