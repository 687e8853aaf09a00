"""The Spark test modules run on one pytest-xdist worker, one after the other, so that the run starts one JVM.

Under `--dist loadfile` every test module is a unit of work and each worker that gets a Spark module starts its
own local Spark session (the `spark_local` fixture, one per process): a JVM, Spark's Python daemon and
workers, and the JIT's warm-up, paid again by every worker. Here every module named `test_spark*.py` is one
unit instead, handed out first (the longest unit: started last, it would leave the other worker idle at the
end; its first module, test_spark_train.py, needs no session model, so the other worker trains that
meanwhile, as tests/conftest.py's ordering wants); the other worker runs the rest of the suite in the order
tests/conftest.py gives. Wired from tests/conftest.py; `-n 0` and other `--dist` modes are unchanged.
"""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

# module path pattern -> its shared unit of work
SHARED_SCOPES = {
    "tests/pipelines/test_spark*.py": "spark",
    "tests/pipelines/test_hostile_sweep_10b.py": "spark",
}


def scope_of(nodeid: str) -> str:
    """The unit of work of a test under `--dist loadfile`: its module, or the shared scope its module is in."""
    module = nodeid.split("::", 1)[0]
    for pattern, scope in SHARED_SCOPES.items():
        if fnmatch(module, pattern):
            return scope
    return module


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: the hook exists only with pytest-xdist
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` with the modules of SHARED_SCOPES each kept on one worker; other modes as xdist has them."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedScopeScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node) -> None:
            for scope in SHARED_SCOPES.values():  # the longest unit of the suite: started first
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return SharedScopeScheduling(config, log)
