"""The minimum-data check: refuse to train a conversion model on too few won or lost deals."""

from __future__ import annotations

import numpy as np
import pandas as pd


class InsufficientDataError(ValueError):
    """Too few won or lost deals to train (or validate) a model that means anything."""


class NoSignalError(InsufficientDataError):
    """The features do not tell won from lost deals out of time; the message begins "no learnable signal: "."""


def check_minimum_data(
    y: pd.Series | np.ndarray, min_won: int, min_lost: int, window: str = "training"
) -> dict[str, int]:
    """Raise InsufficientDataError unless `y` (1 = won, 0 = lost) has `min_won` wins and `min_lost` losses.

    Returns the counts when the check passes, so the caller can log them.
    """
    labels = np.asarray(y)
    if pd.isna(labels).any():
        raise ValueError(f"the {window} window has missing labels; keep only closed (won or lost) deals")
    n_won = int((labels == 1).sum())
    n_lost = int((labels == 0).sum())
    if n_won + n_lost != len(labels):
        raise ValueError(f"labels in the {window} window must be 1 (won) or 0 (lost)")
    if n_won + n_lost == 0:
        raise InsufficientDataError(
            f"the {window} window has no closed deals at all; a conversion model learns from won and lost "
            "deals. Load the deal history, or widen the window."
        )
    if n_lost == 0 or n_won == 0:
        present, absent = ("won", "lost") if n_lost == 0 else ("lost", "won")
        raise InsufficientDataError(
            f"every one of the {n_won + n_lost} closed deals in the {window} window is {present}; with no "
            f"{absent} deals there is nothing to tell converting leads from the rest. Check that {absent} "
            "deals are exported with their outcome (not left open or filtered out), or widen the window."
        )
    short = []
    if n_won < min_won:
        short.append(f"{n_won} won (needs {min_won})")
    if n_lost < min_lost:
        short.append(f"{n_lost} lost (needs {min_lost})")
    if short:
        raise InsufficientDataError(
            f"not enough closed deals to train: the {window} window has {' and '.join(short)}; it has "
            f"{n_won} won and {n_lost} lost in all. Widen the window (more history, or a smaller "
            "validation/test share), or lower min_won / min_lost in the model config if you accept a less "
            "reliable model."
        )
    return {"n_won": n_won, "n_lost": n_lost}
