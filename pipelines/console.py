"""Printing for the CLI: one rich console, tables from frames, progress bars."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from features.text import printable

# Markup off: what is printed holds the user's paths, column names and values, which may contain brackets
# ("Revenue [EUR]", a folder "crm[/x]") that rich would otherwise read as tags, drop or fail on. Colour is
# given explicitly (style=..., labelled).
console = Console(highlight=False, markup=False)
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
