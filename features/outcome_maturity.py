"""How old an export's lead must be for its outcome to be known: measured from the export's open rows.

An export holds each lead's label as it stands on the day it was taken (won, lost or still open) and no close
date. Among the newest leads only the quick outcomes have come, and quick outcomes are mostly losses: their
labelled rows read a lower win rate than the leads created then will have. The open share by creation month
says when that stops: leads older than the maturity have (almost) all their outcomes, so a win rate measured
on them misses at most `max_open_share` of their rows. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.contracts import ContractError
from features.flat import ExportSpec, flat_timestamps, label_outcomes

COHORT_DAYS = 30  # a creation month, counted back from the export's newest row
MIN_COHORT_ROWS = 20  # a month with fewer rows says too little to decide on


def open_share_by_age(created: pd.Series, is_open: np.ndarray) -> pd.DataFrame:
    """Rows and open share per creation month, month 0 holding the newest `COHORT_DAYS` days (ages counted from
    the newest creation time); rows without a time are not counted."""
    times = pd.to_datetime(created).reset_index(drop=True)
    timed = times.notna().to_numpy()
    ages = (times.max() - times[timed]).dt.total_seconds().to_numpy() / 86400.0
    month = (ages // COHORT_DAYS).astype(int)
    frame = pd.DataFrame({"month": month, "open": np.asarray(is_open, dtype=bool)[timed]})
    grouped = frame.groupby("month")["open"]
    return pd.DataFrame({"rows": grouped.size(), "open_share": grouped.mean()}).sort_index()


def outcome_maturity_days(
    created: pd.Series, is_open: np.ndarray, max_open_share: float, noise_z: float = 3.0
) -> int:
    """The lead age (days, whole months) from which every older creation month has at most `max_open_share`
    more of its leads open than the oldest months have (leads a CRM never closes stay open at any age), give
    or take `noise_z` standard errors of a month's share around theirs (a month of 100 leads of which a
    quarter never close reads 0.20 or 0.30 by chance); 0 when the export has no open row."""
    is_open = np.asarray(is_open, dtype=bool)
    if not is_open.any():
        return 0
    shares = open_share_by_age(created, is_open)
    shares = shares[shares["rows"] >= MIN_COHORT_ROWS]
    if shares.empty:
        return 0
    oldest = shares["open_share"].iloc[len(shares) // 2 :]
    floor = float(oldest.median())
    noise = noise_z * np.sqrt(floor * (1 - floor) / shares["rows"])
    unripe = shares.index[(shares["open_share"] > floor + max_open_share + noise).to_numpy()]
    return 0 if len(unripe) == 0 else int(unripe.max() + 1) * COHORT_DAYS


def too_young(created: pd.Series, newest: pd.Timestamp, maturity_days: int) -> np.ndarray:
    """Rows created less than `maturity_days` before `newest` (the export's newest row)."""
    if maturity_days <= 0:
        return np.zeros(len(created), dtype=bool)
    horizon = pd.Timestamp(newest) - pd.Timedelta(days=maturity_days)
    return (pd.to_datetime(created) > horizon).to_numpy(dtype=bool)


@dataclass(frozen=True)
class ExportMaturity:
    """How old an export's labelled row must be (days before the export's newest row) to be learnt and tested,
    and whether model.export_maturity_days gave it or it was measured from the open rows ("auto")."""

    days: int
    measured: bool

    def describe(self) -> str:
        how = "measured from its open rows by creation month" if self.measured else "set"
        return (
            f"created in the last {self.days} days before the export's newest lead (model.export_maturity_days, "
            f"{how})"
        )


def export_creation_times(rows: pd.DataFrame, spec: ExportSpec, now: pd.Timestamp) -> pd.Series | None:
    """Each row's creation time by position (missing when not given, or later than `now`: a typo is no export
    day); None without a timestamp column."""
    column = spec.timestamp_column
    if not column or column not in rows.columns:
        return None
    times = flat_timestamps(rows[column].reset_index(drop=True), spec)
    return times.mask(times > now)


def export_maturity(
    rows: pd.DataFrame,
    times: pd.Series | None,
    spec: ExportSpec,
    setting: int | str,
    max_open_share: float,
    noise_z: float,
) -> ExportMaturity:
    """The export's outcome maturity: `setting` days, or with "auto" measured from the open share by creation
    month (0 when the export holds no open row); 0 without creation times (`times`, export_creation_times):
    rows without a time cannot be aged. A number of days set (not 0) for an export without creation times
    raises ContractError: it had been ignored without a word, every young row learnt."""
    if times is None or times.isna().all():
        if setting != "auto" and int(setting) > 0:
            raise ContractError(unageable_sentence(spec, int(setting), times is None))
        return ExportMaturity(0, measured=setting == "auto")
    if setting != "auto":
        return ExportMaturity(int(setting), measured=False)
    is_open = np.zeros(len(rows), dtype=bool)
    if spec.label_column in rows.columns:
        is_open = label_outcomes(rows, spec).eq("open").to_numpy()
    return ExportMaturity(outcome_maturity_days(times, is_open, max_open_share, noise_z), measured=True)


def unageable_sentence(spec: ExportSpec, days: int, no_column: bool) -> str:
    """Why model.export_maturity_days cannot apply to an export whose rows have no creation time, with the fix."""
    why = (
        f"spec {spec.name!r} names no timestamp_column"
        if no_column
        else f"the timestamp_column {spec.timestamp_column!r} of spec {spec.name!r} holds no date"
    )
    return (
        f"model.export_maturity_days is {days}, but {why}: no row's age is known, so no labelled row can be left "
        "out as too recent; name the column holding each lead's creation date as the spec's timestamp_column, "
        'or set model.export_maturity_days to "auto" or 0'
    )
