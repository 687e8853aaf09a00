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
