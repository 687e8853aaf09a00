"""Frames from arrays, at a cost per call that suits one online lead as well as a batch.

pandas charges a fixed cost per conversion; turning each text column into pandas' "str" dtype on its own
costs more than all the work on a one-lead frame, so the text columns of a small frame are converted together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.text import TEXT

# Text columns converted together share one buffer; in a large batch that would keep every text column in
# memory for as long as any one of them is used, so only small frames are converted in one call.
FEW_ROWS = 1_000


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
