"""Frames from arrays, at a cost per call that suits one online lead as well as a batch.

pandas charges a fixed cost per conversion; turning each text column into pandas' "str" dtype on its own
costs more than all the work on a one-lead frame, so the text columns are converted together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TEXT = pd.StringDtype(na_value=np.nan)  # pandas' default "str" dtype


def frame_of(columns: dict[str, Any], index: pd.Index | None = None) -> pd.DataFrame:
    """A frame of the columns (arrays of equal length), object arrays as "str" columns (None/NaN missing)."""
    texts = [
        name
        for name, values in columns.items()
        if isinstance(values, np.ndarray) and values.dtype.kind == "O"
    ]
    if texts:
        size = len(columns[texts[0]])
        combined = pd.array(np.concatenate([columns[name] for name in texts]), dtype=TEXT)
        columns = {**columns, **{name: combined[i * size : (i + 1) * size] for i, name in enumerate(texts)}}
    return pd.DataFrame(columns, index=index, copy=False)
