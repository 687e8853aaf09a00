"""Watching a live model: drift of its inputs and score between two windows, the segments it now misses, and
a backtest of its grades against what closed since. Pure: a scorer and frames in, tables out.

PSI sees a changed mix of leads, not a changed mechanism (the same leads converting differently), so the drift
report adds the model's errors by segment: categories of its inputs whose actual win rate departs from its
prediction (beyond the window's overall miss) by at least a gap threshold, at 3 standard errors or more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.build import training_snapshots
from features.frames import naive_times
from models.coverage import quiet_before
from models.drift import drift_table, psi
from models.evaluate import conversion_by, roc_auc
from models.score_table import GRADES

if TYPE_CHECKING:
    from models.scorer import Scorer

SCORE_ROW = "score"  # the drift table's row for the model's score
GAP_Z = 3.0  # standard errors a segment's miss must reach to count as shifted


@dataclass(frozen=True)
class Window:
    """Deals created in [start, end), and the window in words for the report."""

    start: pd.Timestamp
    end: pd.Timestamp
    words: str


@dataclass(frozen=True)
class DriftThresholds:
    psi_moved: float  # PSI at least this: the input "moved"
    psi_watch: float  # PSI at least this: "watch"
    gap_min_rows: int  # smaller segments are not judged
    gap_threshold: float  # a segment "shifted": the model misses its win rate by this much (and 3 SE)


@dataclass
class DriftReport:
    """PSI per model input and for the model's score between a reference and a current window."""

    table: pd.DataFrame  # feature, kind, psi, status, reference/current summaries, row counts; "score" first
    score_psi: float
    moved: list[str]  # inputs whose PSI is at least psi_moved, largest first
    watch: list[str]  # inputs between psi_watch and psi_moved
    segments: pd.DataFrame  # the model's errors by segment (see segment_gaps)
    shifted: list[str]  # inputs with at least one shifted segment, largest |z| first
    reference: str  # the reference window in words
    current: str


@dataclass
class Backtest:
    """The model's grades as of `scored_at`, against what happened to those leads by `as_of`."""

    scored_at: pd.Timestamp
    as_of: pd.Timestamp
    model_version: str
    table: pd.DataFrame  # grade, leads, won, win_rate, share_of_leads, share_of_wins, promised_win_rate
    n_leads: int
    n_won: int
    auc: float
    a_beats_d: bool | None  # None when grade A or D has no closed lead
    # Per qualified lead (the leads the champion's registered AUC was measured on, as in training): won (1) or
    # lost (0), and the score it had then (for the gate's collapse check).
    outcomes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int), repr=False)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    # The fewest won and lost closed leads whose AUC and grade comparison say anything (the gate's
    # registry.min_test_won and min_test_lost): fewer, and "AUC 0.000" from 1 won and 1 lost read as a verdict.
    min_won: int = 1
    min_lost: int = 1

    @property
    def measurable(self) -> bool:
        """Whether enough leads closed each way for the AUC and the grades' win rates to say anything."""
        return self.n_won >= self.min_won and self.n_leads - self.n_won >= self.min_lost


def psi_status(values: pd.Series, thresholds: DriftThresholds) -> pd.Series:
    """ "moved", "watch" or "stable" per PSI value ("" where it is missing)."""
    status = np.where(
        values >= thresholds.psi_moved, "moved", np.where(values >= thresholds.psi_watch, "watch", "stable")
    )
    return pd.Series(status, index=values.index, dtype="str").where(values.notna(), "")


def closed_deal_frame(
    scorer: Scorer, tables: dict[str, pd.DataFrame], deals: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """The scorer's features for closed deals at their creation, ICP-disqualified ones left out (as in
    training), and the labels."""
    closed = deals[deals["outcome"].isin(["won", "lost"])].reset_index(drop=True)
    frame = scorer.feature_frame(tables, training_snapshots(closed))
    keep = ~frame["disqualified"].astype(bool).to_numpy()
    return frame[keep].reset_index(drop=True), (closed["outcome"].to_numpy()[keep] == "won").astype(int)


def drift_between(
    scorer: Scorer,
    tables: dict[str, pd.DataFrame],
    reference: Window,
    current: Window,
    thresholds: DriftThresholds,
) -> DriftReport | None:
    """PSI of the scorer's inputs and score between the closed deals created in two windows, and its misses by
    segment in the current one (None when either window has no closed, qualified deal). `tables` are
    validated tables."""
    deals = tables["deals"]
    created = pd.to_datetime(deals["created_at"])
    ref_frame, _ = closed_deal_frame(
        scorer, tables, deals[(created >= reference.start) & (created < reference.end)]
    )
    cur_frame, cur_y = closed_deal_frame(
        scorer, tables, deals[(created >= current.start) & (created < current.end)]
    )
    if len(ref_frame) == 0 or len(cur_frame) == 0:
        return None
    table = drift_table(ref_frame, cur_frame, scorer.model.feature_names)
    ref_score = scorer.model.predict_proba(ref_frame)
    cur_score = scorer.model.predict_proba(cur_frame)
    score_psi = psi(ref_score, cur_score)
    score_row = {
        "feature": SCORE_ROW,
        "kind": "score",
        "psi": score_psi,
        "reference_summary": f"median {np.median(ref_score):.3g}",
        "current_summary": f"median {np.median(cur_score):.3g}",
        "n_reference": len(ref_frame),
        "n_current": len(cur_frame),
    }
    table = pd.concat([pd.DataFrame([score_row]), table], ignore_index=True)
    table["status"] = psi_status(table["psi"], thresholds)
    columns = ["feature", "kind", "psi", "status", "reference_summary", "current_summary"]
    table = table[[*columns, "n_reference", "n_current"]]
    inputs = table[table["feature"] != SCORE_ROW]
    categorical = [c for c in scorer.model.categorical if c in cur_frame.columns]
    segments = segment_gaps(
        cur_frame, cur_y, cur_score, categorical, thresholds.gap_min_rows, thresholds.gap_threshold
    )
    return DriftReport(
        table=table,
        score_psi=float(score_psi),
        moved=inputs.loc[inputs["status"] == "moved", "feature"].tolist(),
        watch=inputs.loc[inputs["status"] == "watch", "feature"].tolist(),
        segments=segments,
        shifted=segments.loc[segments["status"] == "shifted", "feature"].drop_duplicates().tolist(),
        reference=reference.words,
        current=current.words,
    )


def segment_gaps(
    frame: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    columns: list[str],
    min_rows: int,
    gap_threshold: float,
    z_threshold: float = GAP_Z,
) -> pd.DataFrame:
    """Where the model was wrong: per category of each column (with at least `min_rows` rows), the actual
    win rate against the mean prediction.

    `gap` is (win rate - predicted) minus the same difference over all rows, so that a quarter that is
    simply better or worse overall does not flag every segment; `z` divides it by the binomial standard
    error of the segment. A segment is "shifted" when |gap| >= gap_threshold and |z| >= z_threshold.
    Columns: feature, value, n, won, win_rate, predicted, gap, z, status; largest |z| first.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    offset = float(y.mean() - p.mean()) if len(y) else 0.0
    parts = []
    for column in columns:  # a loop over columns; the rows are grouped
        values = frame[column].astype("str").fillna("(missing)").to_numpy()
        grouped = (
            pd.DataFrame({"value": values, "won": y, "p": p})
            .groupby("value", sort=True)
            .agg(n=("won", "size"), won=("won", "sum"), win_rate=("won", "mean"), predicted=("p", "mean"))
            .reset_index()
        )
        grouped.insert(0, "feature", column)
        parts.append(grouped[grouped["n"] >= min_rows])
    columns_out = ["feature", "value", "n", "won", "win_rate", "predicted", "gap", "z", "status"]
    if not parts:
        return pd.DataFrame(columns=columns_out)
    table = pd.concat(parts, ignore_index=True)
    table["won"] = table["won"].astype(int)
    table["gap"] = table["win_rate"] - table["predicted"] - offset
    base = np.clip(table["predicted"] + offset, 0.01, 0.99)
    table["z"] = table["gap"] / np.sqrt(base * (1 - base) / table["n"])
    flagged = (table["gap"].abs() >= gap_threshold) & (table["z"].abs() >= z_threshold)
    table["status"] = np.where(flagged, "shifted", "")
    order = table["z"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order, columns_out].reset_index(drop=True)


def backtest_of(
    scores: pd.DataFrame,
    deals: pd.DataFrame,
    scored_at: pd.Timestamp,
    as_of: pd.Timestamp,
    model_version: str,
    promised: pd.DataFrame | None = None,
    min_won: int = 1,
    min_lost: int = 1,
) -> Backtest | None:
    """Conversion by grade of the leads scored at `scored_at` whose deal closed since (None when none did).

    `scores` are the model's scores then (lead_id, grade, score); `promised` is its own by-grade table from
    its evaluation (group, win_rate), shown beside; `min_won` and `min_lost` the fewest closed leads of each
    outcome whose AUC says anything (Backtest.measurable).
    """
    closed_at = pd.to_datetime(deals["closed_at"])
    since = deals[(closed_at >= scored_at) & deals["outcome"].isin(["won", "lost"])]
    outcome = (since["outcome"] == "won").groupby(since["lead_id"].astype("str")).max()
    scored = scores[scores["lead_id"].isin(outcome.index)].reset_index(drop=True)
    if len(scored) == 0:
        return None
    y = outcome.reindex(scored["lead_id"]).to_numpy(dtype=int)
    score = scored["score"].to_numpy(dtype=float)
    # A disqualified lead's raw score was never judged in training: its registered AUC leaves them out.
    qualified = (
        ~scored["disqualified"].astype(bool).to_numpy() if "disqualified" in scored else np.ones(len(y), bool)
    )
    table = conversion_by(y, scored["grade"].astype("str"))
    table = (
        table.set_index("group")
        .reindex(list(GRADES))
        .rename_axis("grade")
        .reset_index()
        .fillna({"leads": 0, "won": 0})
        .astype({"leads": int, "won": int})
    )
    if promised is not None and {"group", "win_rate"} <= set(promised.columns):
        table["promised_win_rate"] = table["grade"].map(
            promised.set_index(promised["group"].astype("str"))["win_rate"]
        )
    rates = table.set_index("grade")["win_rate"]
    a_beats_d = None if pd.isna(rates["A"]) or pd.isna(rates["D"]) else bool(rates["A"] > rates["D"])
    return Backtest(
        scored_at=scored_at,
        as_of=as_of,
        model_version=model_version,
        table=table,
        n_leads=len(scored),
        n_won=int(y.sum()),
        auc=roc_auc(y, score),
        a_beats_d=a_beats_d,
        outcomes=y[qualified],
        scores=score[qualified],
        min_won=min_won,
        min_lost=min_lost,
    )


def closes_stopped(
    deals: pd.DataFrame,
    scored_at: pd.Timestamp,
    as_of: pd.Timestamp,
    min_closed: int,
    share: float = 0.1,
    arriving: pd.Timestamp | None = None,
    created: pd.Series | None = None,
) -> str | None:
    """Why the outcome feed looks stopped, or None: the deals closed between `scored_at` and `as_of` are fewer
    than `share` of those closed in as many days before, which were `min_closed` or more (a retrain's
    backtest then has nothing to read, and its evaluation quarter is older than the stop). `arriving`: the
    newest lead or activity, when the history shows them still coming in. `created`: the leads' creation
    times; when no lead came in the window, or new leads fell as far as the closes (marketing paused, a copy of
    the CRM older than `as_of`), the pipeline drained and the feed is not the suspect (None). Ends with the
    check to make."""
    closed_at = pd.to_datetime(deals.loc[deals["outcome"].isin(["won", "lost"]), "closed_at"])
    as_of = pd.Timestamp(as_of)
    newest = closed_at[closed_at < as_of].max()
    if pd.isna(newest):
        return None
    # A feed stopped longer ago than the window: from the day after its newest close, so the window before
    # it holds the closes that stopped.
    scored_at = min(pd.Timestamp(scored_at), newest.normalize() + pd.Timedelta(days=1))

    def since_and_before(times: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Which `times` fall from scored_at to as_of, and which in as many days before."""
        return (times >= scored_at) & (times < as_of), (
            (times >= scored_at - (as_of - scored_at)) & (times < scored_at)
        )

    in_recent, in_before = since_and_before(closed_at)
    recent, before = int(in_recent.sum()), int(in_before.sum())
    # Days with a close, too: deals closed on one day (a history imported with one date, a quarter-end
    # batch) are one event, and would make the closes since look a tenth of those before.
    recent_days, before_days = (closed_at[w].dt.normalize().nunique() for w in (in_recent, in_before))
    if before < min_closed or recent >= share * before or recent_days >= share * before_days:
        return None
    if quiet_before(closed_at, as_of, share):
        return None
    if created is not None:
        new, earlier = (int(w.sum()) for w in since_and_before(pd.Series(naive_times(created))))
        if not new or new < share * earlier:
            return None
    days = (as_of - scored_at).days
    still = f", while leads and activities go on to {arriving:%Y-%m-%d}" if arriving is not None else ""
    return (
        f"{recent:,} deal{'s' * (recent != 1)} closed in the {days} days from {scored_at:%Y-%m-%d} to "
        f"{as_of:%Y-%m-%d}, against {before:,} in the {days} days before (the newest close: {newest:%Y-%m-%d})"
        f"{still}: the outcome feed looks stopped (closing dates or outcomes no longer written, or a copy of the "
        "history older than its dates), so the newest leads look open whatever became of them; check the deals "
        "table's newest closes"
    )


# The times at which CRM tables record something happening.
EVENT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "leads": ("created_at",),
    "activities": ("occurred_at",),
    "deals": ("created_at", "closed_at"),
}


def newest_event(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp | None = None,
    columns: Mapping[str, tuple[str, ...]] = EVENT_COLUMNS,
) -> pd.Timestamp | None:
    """The newest time (before `as_of`, when given) in `columns` of the CRM tables: by default anything they
    record, a lead or deal created, an activity, a close (None when they record nothing)."""
    newest = [
        (times if as_of is None else times[times < as_of]).max()
        for name, names in columns.items()
        if name in tables
        for column in names
        if column in tables[name] and len(times := pd.Series(naive_times(tables[name][column])))
    ]
    found = pd.Series(newest, dtype="datetime64[ns]").max()
    return None if pd.isna(found) else pd.Timestamp(found)
