"""Stopping on a signal: Ctrl-C (SIGINT) and a scheduler's timeout (SIGTERM) end a command like an error does.

Without this, SIGTERM killed the process where it stood (a staged file or a `.leadscore-parts-*` folder left
beside the output, the MLflow run left RUNNING) and SIGINT ended it with typer's silent 130. Now either signal
raises `Stopped` in the main thread: every `finally` runs (staged files removed, the MLflow run closed), and
`main` prints one sentence and exits 128 + the signal's number (130, 143), the shell's convention.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)

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
    """From now on SIGINT and SIGTERM raise `Stopped` in the main thread (the CLI's entry point calls this)."""
    for signum in STOPPING_SIGNALS:
        signal.signal(signum, _stop)


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


def stopped_sentence(stop: Stopped, command: str) -> str:
    """What a stopped run says: which signal, what of the run is left, what to do."""
    why = "Ctrl-C" if stop.signum == signal.SIGINT else "a scheduler's timeout or a kill"
    left = (
        "; ".join(_done.values())
        if _done
        else "its files are published whole or not at all, so nothing of this run was half written and the "
        "previous outputs stand: rerun the command"
    )
    return f"{stop.name} ({why}) stopped `leadscore {command}` before it finished: {left}"
