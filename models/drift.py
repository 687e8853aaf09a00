"""Population stability: has a feature's (or the score's) distribution moved between two windows?

The population stability index (PSI) compares the share of rows per bin in a reference window with the share
in a current window: sum over bins of (current - reference) * ln(current / reference). Numeric values are
cut at the reference window's quantiles; text and boolean values use one bin per category; missing values
get a bin of their own in both cases. Rules of thumb: below 0.1 stable, 0.1 to 0.25 a moderate shift, above
0.25 a major shift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.formatting import figure_text, names_a_year, number_words

PSI_MODERATE = 0.10
PSI_MAJOR = 0.25
_FLOOR = 1e-4  # share given to an empty bin, so that ln() stays finite
MISSING = "(missing)"


def is_numeric(values: pd.Series) -> bool:
    """Numbers (not booleans): binned at quantiles. Everything else is treated as categories."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _series(values: Sequence | np.ndarray | pd.Series) -> pd.Series:
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)


def _numeric_shares(reference: pd.Series, current: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
    cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
    known = ref[~np.isnan(ref)]
    # Inner cut points at the reference quantiles; ties (many zeros, say) collapse into one edge, and bins
    # are closed on the right so that a heavy value (0 visits) keeps a bin of its own.
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])) if len(known) else np.array([])
    n_bins = len(edges) + 2  # value bins, then the missing bin

    def shares(values: np.ndarray) -> np.ndarray:
        idx = np.where(np.isnan(values), n_bins - 1, np.searchsorted(edges, values, side="left"))
        return np.bincount(idx.astype(int), minlength=n_bins) / len(values)

    return shares(ref), shares(cur)


def _category_shares(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ref = reference.astype("str").fillna(MISSING)
    cur = current.astype("str").fillna(MISSING)
    categories = pd.Index(ref.unique()).union(pd.Index(cur.unique()))
    ref_share = ref.value_counts(normalize=True).reindex(categories, fill_value=0.0)
    cur_share = cur.value_counts(normalize=True).reindex(categories, fill_value=0.0)
    return ref_share.to_numpy(dtype=float), cur_share.to_numpy(dtype=float)


def psi(
    expected: Sequence | np.ndarray | pd.Series, actual: Sequence | np.ndarray | pd.Series, bins: int = 10
) -> float:
    """Population stability index of `actual` against the reference `expected` (0 = same distribution).

    Numeric values are cut into `bins` bins at the quantiles of `expected`; text and booleans are compared
    category by category. Raises ValueError when either side is empty.
    """
    reference, current = _series(expected), _series(actual)
    if len(reference) == 0 or len(current) == 0:
        raise ValueError("psi needs at least one row on each side")
    if bins < 2:
        raise ValueError("psi needs at least 2 bins")
    if is_numeric(reference) and is_numeric(current):
        ref_share, cur_share = _numeric_shares(reference, current, bins)
    else:
        ref_share, cur_share = _category_shares(reference, current)
    ref_share = np.clip(ref_share, _FLOOR, None)
    cur_share = np.clip(cur_share, _FLOOR, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def psi_level(value: float) -> str:
    """'stable', 'moderate shift' or 'major shift' by the usual PSI thresholds."""
    if value >= PSI_MAJOR:
        return "major shift"
    if value >= PSI_MODERATE:
        return "moderate shift"
    return "stable"


def readable_number(value: float, year: bool = False) -> str:
    """A median as a sentence says it (number_words): 23.8, 4,250, 0.0000846, a `year` as 1998; millions
    and billions named (23.8M, 1.23B)."""
    for size, name in ((1e9, "B"), (1e6, "M")):
        if abs(value) >= size and not year:
            return f"{figure_text(value / size)}{name}"
    return number_words(value, year)


def _summary(values: pd.Series, year: bool = False) -> str:
    """A one-phrase description of a column: the median of numbers (a year as 1998, `year`), the most common
    category and its share."""
    if len(values) == 0:
        return "no rows"
    if is_numeric(values):
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == 0:
            return "all missing"
        return f"median {readable_number(float(numbers.median()), year)}"
    shares = values.astype("str").fillna(MISSING).value_counts(normalize=True)
    return f"{shares.index[0]} ({shares.iloc[0]:.0%})"


def drift_table(
    reference_frame: pd.DataFrame, current_frame: pd.DataFrame, features: Sequence[str], bins: int = 10
) -> pd.DataFrame:
    """PSI of each feature between a reference window and a current window, largest shift first.

    Columns: feature, kind (numeric / categorical), psi, level (stable / moderate shift / major shift),
    reference_summary and current_summary (median, or most common value and its share), n_reference,
    n_current. Features missing from either frame are skipped.
    """
    rows = []
    for feature in features:  # a loop over columns
        if feature not in reference_frame.columns or feature not in current_frame.columns:
            continue
        ref, cur = reference_frame[feature], current_frame[feature]
        value = psi(ref, cur, bins)
        rows.append(
            {
                "feature": feature,
                "kind": "numeric" if is_numeric(ref) and is_numeric(cur) else "categorical",
                "psi": value,
                "level": psi_level(value),
                "reference_summary": _summary(ref, names_a_year(feature)),
                "current_summary": _summary(cur, names_a_year(feature)),
                "n_reference": len(ref),
                "n_current": len(cur),
            }
        )
    columns = [
        "feature",
        "kind",
        "psi",
        "level",
        "reference_summary",
        "current_summary",
        "n_reference",
        "n_current",
    ]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
