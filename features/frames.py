"""The scoring path's one table type: named numpy arrays, converted once where data enters.

pandas charges a fixed cost per call (building a frame, reading a column back, converting a text column);
on one online lead those costs add up to more than all the feature and model work. So the feature code,
the ICP guardrail, the model's encoding and the reasons read a `Table`: a mapping of column name to a numpy
array, every column in one of three kinds,

- text: an object array of str, None where missing;
- numbers and flags: an int, float or bool array (NaN where a number is missing);
- times: a naive datetime64 array (UTC), NaT where missing.

A table enters as named arrays (the online request, models/lead_input.py) or as a DataFrame (files, the
database, training), whose columns are converted to these kinds when first read, once each. One frame is
built at the end (`Table.to_frame`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.text import TEXT

# Text columns converted together share one buffer; in a large batch that would keep every text column in
# memory for as long as any one of them is used, so only small frames are converted in one call.
_SHARED_BUFFER_ROWS = 1_000


class Table(Mapping[str, np.ndarray]):
    """Columns by name, numpy arrays of one length in the kinds above (see the module's docstring)."""

    __slots__ = ("_arrays", "_frame", "n_rows")

    def __init__(self, arrays: Mapping[str, Any], n_rows: int | None = None) -> None:
        """A table of arrays already in the table's kinds (as models/lead_input.py and the feature code make
        them); `n_rows` for a table without columns."""
        self._arrays: dict[str, np.ndarray] = dict(arrays)
        self._frame: pd.DataFrame | None = None
        first = next(iter(self._arrays.values()), None)
        self.n_rows = len(first) if first is not None else (n_rows or 0)

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> Table:
        """A frame's columns as a table, each converted (see `column_values`) when first read."""
        table = cls({}, len(frame))
        table._frame = frame
        return table

    def __getitem__(self, name: str) -> np.ndarray:
        values = self._arrays.get(name)
        if values is None:
            if self._frame is None or name not in self._frame.columns:
                raise KeyError(name)
            values = self._arrays[name] = column_values(self._frame[name])
        return values

    def __contains__(self, name: object) -> bool:
        return name in self._arrays or (self._frame is not None and name in self._frame.columns)

    def __iter__(self) -> Iterator[str]:
        if self._frame is None:
            return iter(self._arrays)
        return iter(
            [*self._frame.columns, *(name for name in self._arrays if name not in self._frame.columns)]
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __or__(self, other: Mapping[str, Any]) -> Table:
        """This table's columns and the other's (the other's win), as a new table."""
        return Table({**{name: self[name] for name in self}, **other}, self.n_rows)

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """A frame of the columns, text columns as pandas' "str" dtype."""
        return frame_of({name: self[name] for name in self}, index)


def as_table(table: Table | pd.DataFrame | Mapping[str, Any]) -> Table:
    """The table as a Table: where data enters the scoring path (a table passes through unchanged)."""
    if isinstance(table, Table):
        return table
    if isinstance(table, pd.DataFrame):
        return Table.of_frame(table)
    return Table(table)


def naive_times(values: np.ndarray | pd.Series) -> np.ndarray:
    """The values as a naive datetime64 array (text read by pd.to_datetime, time-zone aware times as UTC)."""
    values = np.asarray(values)
    if values.dtype.kind == "M":
        return values
    times = pd.to_datetime(pd.Series(values, copy=False))
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert(None)
    return times.to_numpy()


def column_values(values: pd.Series) -> np.ndarray:
    """A column's values in the table's kinds: text as an object array of str and None, numbers as int,
    float or bool (NaN for a missing number), times as naive UTC datetime64 (NaT for a missing time).

    An object column of numbers and flags is read as float; of anything else, as astype("str") reads it."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(None).to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind in "biufmM":
        return values.to_numpy()
    if isinstance(dtype, pd.StringDtype):
        return values.to_numpy(dtype=object, na_value=None)
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        if not values.hasnans:  # nullable integers, floats or flags without a gap: their numpy type
            return values.to_numpy(dtype=dtype.numpy_dtype)
        return values.to_numpy(dtype=float, na_value=np.nan)
    objects = values.to_numpy(dtype=object)
    present = [value for value in objects.tolist() if not _is_missing(value)]
    if all(isinstance(value, str) for value in present):
        return np.where(pd.isna(objects), np.array(None), objects) if len(present) < len(objects) else objects
    if all(isinstance(value, int | float | np.number | np.bool_) for value in present):  # bool is an int
        return pd.to_numeric(pd.Series(objects), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(objects, dtype=object).astype(TEXT).to_numpy(dtype=object, na_value=None)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def numbers(values: np.ndarray) -> np.ndarray:
    """A column's values as pd.to_numeric(errors="coerce").astype(float) reads them."""
    if values.dtype.kind in "biuf":
        return values.astype(float)
    return pd.to_numeric(pd.Series(values, copy=False), errors="coerce").astype(float).to_numpy()


def code_positions(codes: np.ndarray, last: int) -> np.ndarray:
    """Category codes (floats, NaN for missing) as positions in a lookup table of `last` + 1 entries whose
    last is for a missing value: NaN and codes past the last go there, codes below 0 to the first. (On one
    row np.clip and np.nan_to_num cost more than the lookup.)"""
    positions = np.where(np.isnan(codes), last, codes).astype(np.int64)
    np.minimum(positions, last, out=positions)
    np.maximum(positions, 0, out=positions)
    return positions


def frame_of(columns: dict[str, Any], index: pd.Index | None = None) -> pd.DataFrame:
    """A frame of the columns (arrays of equal length, or one value for every row), object arrays as "str"
    columns (None/NaN missing)."""
    texts = [
        name
        for name, values in columns.items()
        if isinstance(values, np.ndarray) and values.dtype.kind == "O"
    ]
    if not texts:
        return pd.DataFrame(columns, index=index, copy=False)
    size = len(columns[texts[0]])
    if size <= _SHARED_BUFFER_ROWS:
        combined = pd.array(np.concatenate([columns[name] for name in texts]), dtype=TEXT)
        converted = {name: combined[i * size : (i + 1) * size] for i, name in enumerate(texts)}
    else:
        converted = {name: pd.array(columns[name], dtype=TEXT) for name in texts}
    return pd.DataFrame({**columns, **converted}, index=index, copy=False)
