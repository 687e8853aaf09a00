"""Stopping on a signal: Ctrl-C (SIGINT), a scheduler's timeout (SIGTERM) and a closed terminal (SIGHUP) end a
command like an error does.

Without this, SIGTERM killed the process where it stood (a staged file or a `.leadscore-parts-*` folder left
beside the output, the MLflow run left RUNNING) and SIGINT ended it with typer's silent 130. Now each signal
raises `Stopped` in the main thread: every `finally` runs (staged files removed, the MLflow run closed), and
the app (pipelines.cli.Leadscore) prints one sentence and exits 128 + the signal's number (130, 143, 129), the
shell's convention.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Ctrl-C, a scheduler's timeout, the terminal closing (an ssh session that dropped).
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
WHY = {
    signal.SIGINT: "Ctrl-C",
    signal.SIGTERM: "a scheduler's timeout or a kill",
    signal.SIGHUP: "the terminal closed",
}
# How long a stopped run may take to unwind before it is ended at once (end_if_stuck). Python runs a signal's
# handler only between bytecodes: a main thread stuck in native code (pyarrow's reader deadlocks when it
# cannot start its threads under `ulimit -v`) or a thread that never ends would otherwise outlive SIGTERM,
# which had killed it at once.
UNWIND_SECONDS = 30.0
WATCHER = "leadscore-stop-watch"  # the thread's name

# The signals that arrived while `signals_held` was in force; None when nothing holds them.
_held: list[int] | None = None
# Every signal that arrived: a library may turn the Stopped raised into its own KeyboardInterrupt (CatBoost's
# training loop does), which typer ends with a silent 130.
_arrived: list[int] = []
# What the run has already published for good, by subject, for the sentence of a run stopped after it.
_done: dict[str, str] = {}


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, as KeyboardInterrupt is, so that no `except Exception`
    swallows it; not a KeyboardInterrupt, which typer turns into a silent exit 130 before `main` sees it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _stop(signum: int, frame: FrameType | None) -> None:
    _arrived.append(signum)
    if _held is not None:
        _held.append(signum)
        return
    raise Stopped(signum)


def stop_on_signals() -> None:
    """From now on SIGINT, SIGTERM and SIGHUP raise `Stopped` in the main thread (the CLI's entry point calls
    this). A signal the job was started ignoring stays ignored: `nohup` (SIGHUP), a shell's background job
    (SIGINT)."""
    for signum in STOPPING_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _stop)


def begin_command() -> None:
    """What the CLI does as a command starts: signals stop it (stop_on_signals), a run that cannot unwind is
    ended (end_if_stuck), and nothing an earlier command in the same process did or received is said."""
    _done.clear()
    _arrived.clear()
    stop_on_signals()
    end_if_stuck()


def end_if_stuck() -> None:
    """Watch for SIGINT and SIGTERM from a thread of its own: a run that has not ended `UNWIND_SECONDS` after
    one (and is not in a `signals_held` block) is ended at once with 128 + the signal's number, saying so.
    One watcher per process, however many commands it runs."""
    if any(thread.name == WATCHER for thread in threading.enumerate()):
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)  # the C handler writes each signal's number
    threading.Thread(target=_watch, args=(read_end,), name=WATCHER, daemon=True).start()


def _watch(read_end: int) -> None:
    while True:
        signum = os.read(read_end, 1)[0]
        # Ours only: a server's own handlers (uvicorn's, while it serves) shut it down in their own time.
        if signum in STOPPING_SIGNALS and signal.getsignal(signum) is _stop:
            break
    deadline = time.monotonic() + UNWIND_SECONDS
    while time.monotonic() < deadline or _held is not None:
        time.sleep(0.1)
    name = signal.Signals(signum).name
    with contextlib.suppress(OSError):
        print(
            f"stopped: {name} did not end the run within {UNWIND_SECONDS:.0f} s (stuck in native code or waiting "
            "on a thread), so it was ended at once: staged files beside its outputs are removed by the next run",
            file=sys.stderr,
            flush=True,
        )
    os._exit(128 + signum)


def arrived() -> Stopped | None:
    """The first signal that arrived since `stop_on_signals`, as the Stopped it raised (None: none did)."""
    return Stopped(_arrived[0]) if _arrived else None


@contextmanager
def signals_held() -> Iterator[None]:
    """Finish the block before acting on SIGINT or SIGTERM (raised as `Stopped` when it ends).

    For steps that must not be cut in two: a model version registered without its gate's verdict and
    aliases is a version nobody decided on. Nested blocks are one block; outside the CLI (no handler
    installed) the signals act as they always do.
    """
    global _held
    if _held is not None:
        yield
        return
    _held = []
    try:
        yield
    finally:
        arrived, _held = _held, None
    if arrived:
        raise Stopped(arrived[0])


def record_done(subject: str, note: str) -> None:
    """Say what the run has published for good, so that a signal from now on names it ("version 7 of
    'leadscore' was registered and promoted; its model card was not logged: ..."); a later note on the same
    subject replaces it."""
    _done[subject] = note


def left_behind() -> str:
    """What a run that ended midway leaves: what it published for good (record_done), else nothing."""
    if _done:
        return "; ".join(_done.values())
    return (
        "its files are published whole or not at all, so nothing of this run was half written and the previous "
        "outputs stand"
    )


def stopped_sentence(stop: Stopped, command: str) -> str:
    """What a stopped run says: which signal, what of the run is left, what to do."""
    why = WHY.get(signal.Signals(stop.signum), "a signal")
    fix = "" if _done else ": rerun the command"
    return f"{stop.name} ({why}) stopped `leadscore {command}` before it finished: {left_behind()}{fix}"


def out_of_memory(error: BaseException) -> bool:
    """Whether `error` says the process ran out of memory: a MemoryError, or a library whose shared object
    could not be mapped when it was imported late (an ImportError under `ulimit -v`)."""
    return isinstance(error, MemoryError) or (
        isinstance(error, ImportError) and "failed to map segment" in str(error)
    )


def out_of_memory_sentence(command: str) -> str:
    """What a run that ran out of memory says (a MemoryError had been a traceback, or was called a tracking
    store that cannot be used)."""
    return (
        f"`leadscore {command}` ran out of memory (MemoryError): {left_behind()}; give the job more memory (its "
        "`ulimit -v` or container limit), or for `score` lower scoring.chunk_size, and rerun"
    )
