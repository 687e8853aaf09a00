"""The calendar at the snapshot: which month of the year it is.

Conversion can follow the year (budgets close in December, summers are slow). A month recurs every year, so
unlike an absolute date it does not tell one period from the next, and a model that learns it still applies
next year. Training takes it at each deal's creation, scoring at as_of: the snapshot time in both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.frames import naive_times

SEASON_FEATURES = ("month_of_year",)


def month_of_year(times: np.ndarray | pd.Series) -> np.ndarray:
    """1 (January) to 12 (December) per time, as floats; NaN for a missing time. Text is read by
    pd.to_datetime, and time-zone aware times as UTC."""
    values = naive_times(times)
    months = values.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.where(np.isnat(values), np.nan, months.astype(float))


def year_covered(months: np.ndarray | pd.Series, min_rows: int) -> bool:
    """Whether each of the 12 months (`month_of_year` values) holds at least `min_rows` rows. Only then
    is the month a season the model can learn: in a shorter history the months at scoring were never seen
    (trees send them down an arbitrary branch) and the months seen name their period, like a date."""
    values = pd.to_numeric(pd.Series(months), errors="coerce").dropna().to_numpy()
    counts = np.bincount(values.astype(int), minlength=13)[1:13]
    return bool((counts >= min_rows).all())
