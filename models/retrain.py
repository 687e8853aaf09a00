"""The quarterly retrain's windows, as of a date A with maturity M (calendar quarters throughout):

- evaluation quarter (the test window): the latest quarter that ends on or before A - M, so that every deal
  created in it has had at least M days to close. Challenger and champion are scored on its closed deals.
- validation quarter: the quarter before it (early stopping, calibration, grade cut points).
- training window: the `trailing_quarters` quarters before the validation quarter. Older deals are dropped,
  and so are deals created after the evaluation quarter (too young to judge).

Pure: dates and frames in, windows, tables and counts out (the job is pipelines/retrain.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.formatting import iso_day
from models.minimum_data import InsufficientDataError
from models.monitoring import Window
from models.promotion import learned_by_champion, learned_window

QUARTER = pd.DateOffset(months=3)


@dataclass(frozen=True)
class RetrainWindows:
    """The retrain's windows: train [train_start, valid_start), valid [valid_start, test_start),
    evaluation [test_start, test_end)."""

    as_of: pd.Timestamp
    train_start: pd.Timestamp
    valid_start: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    @property
    def evaluation_quarter(self) -> str:
        return str(pd.Period(self.test_start, "Q"))

    def as_dict(self) -> dict[str, str]:
        return {
            "as_of": iso_day(self.as_of),
            "train_start": iso_day(self.train_start),
            "valid_start": iso_day(self.valid_start),
            "test_start": iso_day(self.test_start),
            "test_end": iso_day(self.test_end),
            "evaluation_quarter": self.evaluation_quarter,
        }


def quarter_start(ts: pd.Timestamp) -> pd.Timestamp:
    """The first instant of the calendar quarter that contains `ts`."""
    return pd.Period(pd.Timestamp(ts), "Q").start_time


def retrain_windows(as_of: pd.Timestamp, maturity_days: int, trailing_quarters: int) -> RetrainWindows:
    """Evaluation = the latest quarter ending on or before as_of - maturity_days; validation the quarter
    before; training the `trailing_quarters` quarters before that."""
    as_of = pd.Timestamp(as_of)
    test_end = quarter_start(as_of - pd.Timedelta(days=maturity_days))
    test_start = test_end - QUARTER
    valid_start = test_start - QUARTER
    train_start = valid_start - pd.DateOffset(months=3 * trailing_quarters)
    return RetrainWindows(as_of, train_start, valid_start, test_start, test_end)


def training_tables(
    known: dict[str, pd.DataFrame], windows: RetrainWindows
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The known tables with deals restricted to [train_start, test_end), and how many closed deals that
    left out on either side."""
    deals = known["deals"]
    created = pd.to_datetime(deals["created_at"])
    closed = deals["outcome"].isin(["won", "lost"]).to_numpy()
    inside = ((created >= windows.train_start) & (created < windows.test_end)).to_numpy()
    left_out = {
        "older_than_window": int((closed & (created < windows.train_start).to_numpy()).sum()),
        "after_evaluation_quarter": int((closed & (created >= windows.test_end).to_numpy()).sum()),
    }
    return {**known, "deals": deals[inside].reset_index(drop=True)}, left_out


def check_windows(deals: pd.DataFrame, windows: RetrainWindows) -> pd.DataFrame:
    """Closed, won and lost deals per window; InsufficientDataError when the validation or evaluation quarter
    has no won or no lost deal (the training window is checked by the training job's minimum-data check)."""
    created = pd.to_datetime(deals["created_at"])
    won = (deals["outcome"] == "won").to_numpy()
    lost = (deals["outcome"] == "lost").to_numpy()
    rows = []
    for name, start, end in (
        ("training", windows.train_start, windows.valid_start),
        ("validation", windows.valid_start, windows.test_start),
        ("evaluation", windows.test_start, windows.test_end),
    ):  # three windows
        inside = ((created >= start) & (created < end)).to_numpy()
        rows.append(
            {
                "window": name,
                "start": iso_day(start),
                "end": iso_day(end),
                "won": int((inside & won).sum()),
                "lost": int((inside & lost).sum()),
            }
        )
    table = pd.DataFrame(rows)
    short = table[(table["window"] != "training") & ((table["won"] == 0) | (table["lost"] == 0))]
    if len(short):
        row = short.iloc[0]
        raise InsufficientDataError(
            f"retrain as of {iso_day(windows.as_of)}: the {row['window']} quarter {row['start']} to {row['end']} "
            f"has {row['won']} won and {row['lost']} lost deals known by then; the evaluation quarter is the "
            "latest one whose deals are all at least model.maturity_days old. Pick a later --as-of, or check "
            "that the deal history reaches that far."
        )
    return table


def drift_windows(
    split_summary: dict[str, Any], model_version: Any, windows: RetrainWindows
) -> tuple[Window, Window]:
    """The windows the champion's drift is measured between: its own training window (or, for a champion
    trained on a grouped split without dates, this retrain's training window) and the evaluation quarter."""
    ref_start, ref_end = split_summary.get("train_start"), split_summary.get("valid_start")
    if ref_start and ref_end:
        reference = Window(
            pd.Timestamp(ref_start),
            pd.Timestamp(ref_end),
            f"version {model_version}'s training window, {iso_day(ref_start)} to {iso_day(ref_end)}",
        )
    else:
        reference = Window(
            windows.train_start,
            windows.valid_start,
            f"this retrain's training window, {iso_day(windows.train_start)} to {iso_day(windows.valid_start)}",
        )
    current = Window(windows.test_start, windows.test_end, f"evaluation quarter {windows.evaluation_quarter}")
    return reference, current


def champion_learned_note(
    snapshot_at: pd.Series, split_summary: dict[str, Any], model_version: Any, live: bool = False
) -> str | None:
    """Under the table that measures champion and challenger on the evaluation quarter: how many of its deals
    the champion compared (its live model, or its tested one: `live`) was trained and tuned on (the gate
    compares the two on the others only). None when none."""
    learned = learned_by_champion(snapshot_at, learned_window(split_summary, live))
    if not learned.any():
        return None
    n, total = int(learned.sum()), len(learned)
    return (
        f"The champion (version {model_version}) was trained and tuned on {n:,} of these {total:,} deals, so "
        f"this table flatters it; the gate compares the two on the other {total - n:,} only."
    )
