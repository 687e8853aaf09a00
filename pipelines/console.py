"""Printing for the CLI: one rich console, tables from frames, progress bars."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar, cast

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from features.text import printable


class Stdout:
    """sys.stdout (whichever it is at the moment: tests replace it) as the console writes to it, where a reader
    that went away ends the printing, not the run.

    `leadscore score ... | head -1`, or a log shipper that died: the next print raised BrokenPipeError, and
    typer ended the run with a silent exit 1 (after scores were published, or before, from a warning printed
    midway). Now the rest of the report is dropped, a note goes to stderr, and the run ends with its own code.
    """

    def __init__(self) -> None:
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return sys.stdout.write(text)
            except BrokenPipeError:
                self._reader_went_away()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._reader_went_away()

    def _reader_went_away(self) -> None:
        self.reader_gone = True
        # What stdout still buffers is flushed again at exit, which would fail the same way (exit 120).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        with contextlib.suppress(OSError):  # stderr went with it (`2>&1 | head`)
            print(
                "note: stdout was closed (its reader went away): the rest of this run's report is not printed",
                file=sys.stderr,
            )

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno...: the current stdout's
        return getattr(sys.stdout, name)


# Markup off: what is printed holds the user's paths, column names and values, which may contain brackets
# ("Revenue [EUR]", a folder "crm[/x]") that rich would otherwise read as tags, drop or fail on. Colour is
# given explicitly (style=..., labelled).
console = Console(file=cast(IO[str], Stdout()), highlight=False, markup=False)
if not console.is_terminal:  # logs of scheduled runs: wide enough that tables are not cut
    console.width = 160
T = TypeVar("T")


def labelled(label: str, text: str, colour: str) -> Text:
    """A line whose label alone is coloured ("error:" in red), the rest printed as written."""
    return Text.assemble((label, colour), " ", text)


def frame_table(frame: pd.DataFrame, title: str | None = None, float_format: str = "{:.3f}") -> Table:
    """A rich table of a small frame."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(
            frame[column]
        )
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(value, float_format) for value in row))
    return table


def _cell(value: object, float_format: str) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else float_format.format(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    # Cells hold values from the data (an export's level in a reason): a control character would reach the
    # terminal or the log as written (an escape sequence clears the screen or recolours what follows), and a
    # direction override would reorder the text shown.
    return printable(str(value))


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar (quiet when the console is not a terminal)."""
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
