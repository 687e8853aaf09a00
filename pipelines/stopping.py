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
# How long a stopped run may take to unwind before it is ended at once (stopping_command's watcher). Python runs a
# signal's handler only between bytecodes: a main thread stuck in native code (pyarrow's reader deadlocks when it
# cannot start its threads under `ulimit -v`) or a thread that never ends would otherwise outlive SIGTERM, which
# had killed it at once.
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
    """From now on SIGINT, SIGTERM and SIGHUP raise `Stopped` in the main thread. A signal the job was started
    ignoring stays ignored: `nohup` (SIGHUP), a shell's background job (SIGINT)."""
    for signum in STOPPING_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _stop)


@contextmanager
def stopping_command() -> Iterator[None]:
    """While one CLI command runs: signals stop it (stop_on_signals), a run that has not unwound
    UNWIND_SECONDS after one is ended at once (a watcher thread), and nothing an earlier command in the same
    process did or received is said. When the command ends, the signal handlers and the wakeup fd in place
    before are restored and the watcher stands down: a notebook or program that ran a command in-process keeps
    its own Ctrl-C and its event loop's signals (they had stayed leadscore's, and the watcher ended the host
    30 s after a later Ctrl-C). Off the main thread nothing is installed (Python allows signal handlers in the
    main thread only; a command run from a worker thread had failed before it started)."""
    _done.clear()
    _arrived.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOPPING_SIGNALS}
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    ended = threading.Event()
    stop_on_signals()
    previous_fd = signal.set_wakeup_fd(
        write_end, warn_on_full_buffer=False
    )  # the C handler writes the signal
    threading.Thread(target=_watch, args=(read_end, ended), name=WATCHER, daemon=True).start()
    try:
        yield
    finally:
        ended.set()
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        os.close(write_end)  # the watcher reads the end of the pipe and returns


def _handled_by_us(signum: int) -> bool:
    """Whether `signum` is ours: our handler is in place (a main thread stuck in native code has not run it
    yet), or it ran (the command may have ended and restored the host's handlers before the byte was read)."""
    return signal.getsignal(signum) is _stop or signum in _arrived


def _exiting_or_stuck(ended: threading.Event) -> bool:
    """Whether a stopped run still holds the process: its command has not ended (stuck in native code), or it
    ended and the interpreter is exiting but waits on a thread that never ends. A host that ran the command
    in-process and goes on (a notebook) is neither."""
    return not ended.is_set() or not threading.main_thread().is_alive()


def _watch(read_end: int, ended: threading.Event) -> None:
    """End the process UNWIND_SECONDS after one of our signals while the stopped run still holds it
    (_exiting_or_stuck); stand down when the command ends without a signal."""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            byte = pipe.read(1)
            if not byte:  # the command ended: its write end was closed
                return
            # Ours only (our handler counted it): a server's own handlers (uvicorn's, while it serves) shut it
            # down in their own time.
            if byte[0] in STOPPING_SIGNALS and _handled_by_us(byte[0]):
                break
    signum = byte[0]
    deadline = time.monotonic() + UNWIND_SECONDS
    while time.monotonic() < deadline or _held is not None or not _exiting_or_stuck(ended):
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


@contextmanager
def hangup_ends_the_server() -> Iterator[None]:
    """While a server runs in the main thread, SIGHUP ends it as SIGTERM does (uvicorn's clean shutdown, exit
    0). uvicorn handles SIGINT and SIGTERM only (with several workers its supervisor restarts them on SIGHUP);
    with one worker our SIGHUP handler raised Stopped inside its event loop, which logged it and kept serving."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    ):
        yield
        return
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: signal.raise_signal(signal.SIGTERM))
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


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
    could not be mapped when it was imported late (an ImportError under `ulimit -v`, which glibc words without a
    reason; the same words with "Operation not permitted" are a library on a noexec mount, not memory)."""
    said = str(error)
    return isinstance(error, MemoryError) or (
        isinstance(error, ImportError) and "failed to map segment" in said and "not permitted" not in said
    )


def out_of_memory_sentence(command: str) -> str:
    """What a run that ran out of memory says (a MemoryError had been a traceback, or was called a tracking
    store that cannot be used)."""
    return (
        f"`leadscore {command}` ran out of memory (MemoryError): {left_behind()}; give the job more memory (its "
        "`ulimit -v` or container limit), or for `score` lower scoring.chunk_size, and rerun"
    )
