"""Tables as frames or as named arrays, at a cost per call that suits one online lead as well as a batch.

pandas charges a fixed cost per call: building a frame, reading a column back (a new Series each time),
converting a text column. On one lead those costs add up to more than all the feature and model work, so
the scoring path hands tables along as named numpy arrays (`Table`) and builds one frame, at the end.
Training and the reports keep DataFrames; the feature code reads both through `column`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from features.text import TEXT

# Text columns converted together share one buffer; in a large batch that would keep every text column in
# memory for as long as any one of them is used, so only small frames are converted in one call.
FEW_ROWS = 1_000

# A table: a DataFrame, or a mapping of column name to an array (all of one length) with pandas' dtypes:
# numpy arrays (text as object arrays of str, None where missing) or pandas extension arrays.
Table: TypeAlias = pd.DataFrame | Mapping[str, Any]


def column(table: Table, name: str) -> Any:
    """The values of a table's column: a numpy array, or an extension array for pandas' own dtypes."""
    values = table[name]
    if isinstance(values, pd.Series):
        return values.to_numpy() if isinstance(values.dtype, np.dtype) else values.array
    return values


def n_rows(table: Table) -> int:
    """The number of rows of a table."""
    if isinstance(table, pd.DataFrame):
        return len(table)
    return len(next(iter(table.values()))) if len(table) else 0


def numbers(values: Any) -> np.ndarray:
    """A column's values as pd.to_numeric(errors="coerce").astype(float) reads them, as an array."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
        return values.astype(float)
    return pd.to_numeric(pd.Series(values, copy=False), errors="coerce").astype(float).to_numpy()


def frame_of(columns: dict[str, Any], index: pd.Index | None = None) -> pd.DataFrame:
    """A frame of the columns (arrays of equal length), object arrays as "str" columns (None/NaN missing)."""
    texts = [
        name
        for name, values in columns.items()
        if isinstance(values, np.ndarray) and values.dtype.kind == "O"
    ]
    if not texts:
        return pd.DataFrame(columns, index=index, copy=False)
    size = len(columns[texts[0]])
    if size <= FEW_ROWS:
        combined = pd.array(np.concatenate([columns[name] for name in texts]), dtype=TEXT)
        converted = {name: combined[i * size : (i + 1) * size] for i, name in enumerate(texts)}
    else:
        converted = {name: pd.array(columns[name], dtype=TEXT) for name in texts}
    return pd.DataFrame({**columns, **converted}, index=index, copy=False)


def text_array(values: Any) -> np.ndarray:
    """The values as astype("str") reads them, as an object array (NaN or None where missing).

    A small object array that already holds only str and None (the scoring path's text) is its own answer:
    converting it through pandas' "str" dtype would change nothing and cost more than the work on one lead.
    """
    if is_plain_text(values):
        return values
    if getattr(values, "dtype", None) != TEXT:
        values = pd.Series(values, copy=False).astype(TEXT).array
    return values.to_numpy()


def is_plain_text(values: Any) -> bool:
    """Whether the values are text as named arrays hold it, and few: an object array of str and None of at
    most FEW_ROWS values (checked value by value). astype("str") would only turn None into NaN."""
    if not (isinstance(values, np.ndarray) and values.dtype == object and len(values) <= FEW_ROWS):
        return False
    return all(value is None or isinstance(value, str) for value in values.tolist())
