"""Numbers in words, as the card prints them: percentages, multiples, counts, days and intervals, with a
dash where a number cannot be measured."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

NBSP = "\u00a0"
DASH = "\u2014"  # shown where a number cannot be measured; every table says why


def _finite(x: Any) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _pct(x: Any, digits: int = 0) -> str:
    return f"{float(x) * 100:.{digits}f}{NBSP}%" if _finite(x) else DASH


def _num(x: Any, digits: int = 3) -> str:
    return f"{float(x):.{digits}f}" if _finite(x) else DASH


def _times(x: Any) -> str:
    return f"{float(x):.1f}\u00d7" if _finite(x) else DASH


def _int(x: Any) -> str:
    return f"{int(round(float(x))):,}" if _finite(x) else DASH


def _day(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return DASH
    stamp = pd.Timestamp(x)
    return DASH if pd.isna(stamp) else f"{stamp.day} {stamp:%b %Y}"


def _has_date(x: Any) -> bool:
    return x is not None and not pd.isna(x)


def _interval(value: Any, low: Any, high: Any) -> str:
    if _finite(low) and _finite(high):
        return f"{_num(value)} ({_num(low)}\u2013{_num(high)})"
    return _num(value)


def _top_key(share: float) -> str:
    return f"top{round(share * 100)}"
