"""Job: the quarterly retrain. A challenger trained on a trailing window, measured against the champion on the
same most recent mature quarter, gated, with a drift report, a backtest of the live model and an audit trail.

The windows, as of a date A with maturity M = model.maturity_days (calendar quarters throughout):
- evaluation quarter (the test window): the latest quarter that ends on or before A - M, so that every deal
  created in it has had at least M days to close. Challenger and champion are scored on its closed deals.
- validation quarter: the quarter before it (early stopping, calibration, grade cut points).
- training window: the `trailing_quarters` quarters before the validation quarter. Older deals are dropped,
  and so are deals created after the evaluation quarter (too young to judge).
Because the windows already apply the maturity rule, the training job is called with maturity_days 0.

The data are the tables as they were known at A: leads and deals created before A, activities before A, and a
deal that closed on or after A counts as open (no outcome, no close date, no lost reason). Nothing recorded
after A can reach the challenger, the champion's evaluation, the drift report or the backtest.

With a champion in the registry, the run also writes:
- a drift report: PSI of every model input and of the champion's score, between the champion's training
  window and the evaluation quarter ("moved" at psi_threshold, "watch" at psi_watch). PSI sees a changed mix
  of leads, not a changed mechanism (the same leads converting differently), so the report adds the
  champion's errors by segment on the evaluation quarter: categories of its inputs whose actual win rate
  departs from its prediction (beyond the quarter's overall miss) by at least gap_threshold, at 3 standard
  errors or more ("shifted");
- a backtest: the champion scores the leads open `backtest_days` before A, as they were then, and for those
  whose deal closed since, conversion by grade (against the win rates its evaluation promised).
Everything is logged to the new version's MLflow run (drift/, backtest/, retrain/, and the model card under
card/ with the retrain's findings as notes) and tagged on the version (retrain.*, drift.*, backtest.*, next to
the promotion gate's gate.* tags); `leadscore history` lists them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.build import training_snapshots
from features.contracts import with_timestamps
from models.drift import drift_table, psi
from models.evaluate import conversion_by, roc_auc
from models.gate import InsufficientDataError
from pipelines.io import atomic_path
from pipelines.settings import PipelineConfig, RetrainConfig, current_user  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from models.promotion import GateDecision
    from models.scorer import LeadScorer
    from pipelines.train import TrainResult

QUARTER = pd.DateOffset(months=3)
SCORE_ROW = "score"  # the drift table's row for the champion's score
GRADES = ("A", "B", "C", "D")
GAP_Z = 3.0  # standard errors a segment's miss must reach to count as shifted
REPORT_NAME = "retrain_report.md"
DRIFT_ARTIFACT = "drift/drift.csv"
REPORT_ROWS = 15  # rows of the drift and segment tables shown in the report (all of them are logged)
COMPARISON_COLUMNS = (
    "model",
    "roc_auc",
    "roc_auc_low",
    "roc_auc_high",
    "pr_auc",
    "brier",
    "ece",
    "lift_top10",
    "n",
    "n_won",
)


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
            "as_of": _day(self.as_of),
            "train_start": _day(self.train_start),
            "valid_start": _day(self.valid_start),
            "test_start": _day(self.test_start),
            "test_end": _day(self.test_end),
            "evaluation_quarter": self.evaluation_quarter,
        }


@dataclass
class DriftReport:
    """PSI per model input and for the champion's score, champion's training window -> evaluation quarter."""

    table: pd.DataFrame  # feature, kind, psi, status, reference/current summaries, row counts; "score" first
    score_psi: float
    moved: list[str]  # inputs whose PSI is at least psi_threshold, largest first
    watch: list[str]  # inputs between psi_watch and psi_threshold
    segments: pd.DataFrame  # the champion's errors by segment (see segment_gaps)
    shifted: list[str]  # inputs with at least one shifted segment, largest |z| first
    reference: str  # the reference window in words
    current: str


@dataclass
class Backtest:
    """The champion's grades as of `scored_at`, against what happened to those leads by `as_of`."""

    scored_at: pd.Timestamp
    as_of: pd.Timestamp
    model_version: str
    table: pd.DataFrame  # grade, leads, won, win_rate, share_of_leads, share_of_wins, promised_win_rate
    n_leads: int
    n_won: int
    auc: float
    a_beats_d: bool | None  # None when grade A or D has no closed lead


@dataclass
class RetrainResult:
    windows: RetrainWindows
    train: TrainResult
    champion_version: str | None  # the champion the challenger was measured against
    drift: DriftReport | None = None
    backtest: Backtest | None = None
    left_out: dict[str, int] = field(default_factory=dict)  # closed deals outside the windows
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def decision(self) -> GateDecision | None:
        return self.train.decision

    @property
    def promoted(self) -> bool:
        return bool(self.train.decision and self.train.decision.promote)

    @property
    def version(self) -> str | None:
        return self.train.version

    def comparison(self) -> pd.DataFrame:
        """Challenger (and champion, when there is one) on the evaluation quarter."""
        table = self.train.evaluation.comparison
        rows = table[table["model"].isin(["model", "champion", "points_model"])].copy()
        rows["model"] = rows["model"].map(
            {"model": "challenger", "champion": "champion", "points_model": "points_model"}
        )
        return rows.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------------
# Windows and the tables as they were known
# ------------------------------------------------------------------------------------------------------


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


def tables_as_of(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The CRM as it was known at `as_of`: later leads, deals and activities removed, later closes undone.

    Accounts are kept whole (reference data that leads point to).
    """
    as_of = pd.Timestamp(as_of)
    out = dict(tables)
    out["leads"] = _before(tables["leads"], "created_at", as_of)
    out["activities"] = _before(tables["activities"], "occurred_at", as_of)
    if "deals" in tables:
        deals = _before(tables["deals"], "created_at", as_of).copy()
        closed_later = (deals["closed_at"] >= as_of).to_numpy()
        deals.loc[closed_later, "outcome"] = "open"
        deals.loc[closed_later, "closed_at"] = pd.NaT
        deals.loc[closed_later, "lost_reason"] = None
        out["deals"] = deals
    return out


def _before(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    return frame[pd.to_datetime(frame[column]) < as_of].reset_index(drop=True)


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
    has no won or no lost deal (the training window is checked by the training job's minimum-data gate)."""
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
                "start": _day(start),
                "end": _day(end),
                "won": int((inside & won).sum()),
                "lost": int((inside & lost).sum()),
            }
        )
    table = pd.DataFrame(rows)
    short = table[(table["window"] != "training") & ((table["won"] == 0) | (table["lost"] == 0))]
    if len(short):
        row = short.iloc[0]
        raise InsufficientDataError(
            f"retrain as of {_day(windows.as_of)}: the {row['window']} quarter {row['start']} to {row['end']} "
            f"has {row['won']} won and {row['lost']} lost deals known by then; the evaluation quarter is the "
            "latest one whose deals are all at least model.maturity_days old. Pick a later --as-of, or check "
            "that the deal history reaches that far."
        )
    return table


def retrain_pipeline_config(cfg: PipelineConfig, windows: RetrainWindows) -> PipelineConfig:
    """The training job's configuration: explicit out-of-time cut dates, maturity already applied."""
    data = cfg.model_dump(mode="python")
    data["model"]["maturity_days"] = 0
    data["model"]["split"].update(
        method="out_of_time",
        valid_start=windows.valid_start.to_pydatetime(),
        test_start=windows.test_start.to_pydatetime(),
    )
    return PipelineConfig.model_validate(data)


# ------------------------------------------------------------------------------------------------------
# Drift and backtest
# ------------------------------------------------------------------------------------------------------


def _status(values: pd.Series, rcfg: RetrainConfig) -> pd.Series:
    status = np.where(
        values >= rcfg.psi_threshold, "moved", np.where(values >= rcfg.psi_watch, "watch", "stable")
    )
    return pd.Series(status, index=values.index, dtype="str").where(values.notna(), "")


def _closed_deal_frame(
    scorer: LeadScorer, tables: dict[str, pd.DataFrame], deals: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """The scorer's features for closed deals at their creation, ICP-disqualified ones left out (as in
    training), and the labels."""
    closed = deals[deals["outcome"].isin(["won", "lost"])].reset_index(drop=True)
    frame = scorer.feature_frame(tables, training_snapshots(closed))
    keep = ~frame["disqualified"].astype(bool).to_numpy()
    return frame[keep].reset_index(drop=True), (closed["outcome"].to_numpy()[keep] == "won").astype(int)


def drift_report(
    champion: LeadScorer,
    known: dict[str, pd.DataFrame],
    windows: RetrainWindows,
    rcfg: RetrainConfig,
) -> DriftReport | None:
    """PSI of the champion's inputs and score, its training window against the evaluation quarter (None
    when either window has no closed, qualified deal). `known` are the validated tables known at as_of.

    The reference is the champion's own training window (from its split summary); a champion trained on a
    grouped split has no dates, so the retrain's training window stands in.
    """
    deals = known["deals"]
    created = pd.to_datetime(deals["created_at"])
    summary = champion.model.split_summary
    ref_start, ref_end = summary.get("train_start"), summary.get("valid_start")
    if ref_start and ref_end:
        reference = (
            f"version {champion.model_version}'s training window, {_day(ref_start)} to {_day(ref_end)}"
        )
        ref_start, ref_end = pd.Timestamp(ref_start), pd.Timestamp(ref_end)
    else:
        reference = (
            f"this retrain's training window, {_day(windows.train_start)} to {_day(windows.valid_start)}"
        )
        ref_start, ref_end = windows.train_start, windows.valid_start
    current = f"evaluation quarter {windows.evaluation_quarter}"
    ref_frame, _ = _closed_deal_frame(champion, known, deals[(created >= ref_start) & (created < ref_end)])
    cur_frame, cur_y = _closed_deal_frame(
        champion, known, deals[(created >= windows.test_start) & (created < windows.test_end)]
    )
    if len(ref_frame) == 0 or len(cur_frame) == 0:
        return None
    names = champion.model.feature_names
    table = drift_table(ref_frame, cur_frame, names)
    ref_score = champion.model.predict_proba(ref_frame)
    cur_score = champion.model.predict_proba(cur_frame)
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
    table["status"] = _status(table["psi"], rcfg)
    table = table[
        [
            "feature",
            "kind",
            "psi",
            "status",
            "reference_summary",
            "current_summary",
            "n_reference",
            "n_current",
        ]
    ]
    inputs = table[table["feature"] != SCORE_ROW]
    categorical = [c for c in champion.model.categorical if c in cur_frame.columns]
    segments = segment_gaps(cur_frame, cur_y, cur_score, categorical, rcfg.gap_min_rows, rcfg.gap_threshold)
    shifted = segments.loc[segments["status"] == "shifted", "feature"].drop_duplicates().tolist()
    return DriftReport(
        table=table,
        score_psi=float(score_psi),
        moved=inputs.loc[inputs["status"] == "moved", "feature"].tolist(),
        watch=inputs.loc[inputs["status"] == "watch", "feature"].tolist(),
        segments=segments,
        shifted=shifted,
        reference=reference,
        current=current,
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


def run_backtest(
    champion: LeadScorer,
    known: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    days: int,
    promised: pd.DataFrame | None = None,
) -> Backtest | None:
    """The champion's grades for the leads open `days` before `as_of` (features as they were then), and the
    conversion by grade of those whose deal closed since. None when none closed.

    `promised` is the champion's own by-grade table from its evaluation (group, win_rate), shown beside.
    """
    from pipelines.score import run_score

    scored_at = pd.Timestamp(as_of) - pd.Timedelta(days=days)
    then = tables_as_of(known, scored_at)
    scores = run_score(champion, then, scored_at, output=None, reasons=False).scores
    deals = known["deals"]
    closed_at = pd.to_datetime(deals["closed_at"])
    since = deals[(closed_at >= scored_at) & deals["outcome"].isin(["won", "lost"])]
    outcome = (since["outcome"] == "won").groupby(since["lead_id"].astype("str")).max()
    scored = scores[scores["lead_id"].isin(outcome.index)].reset_index(drop=True)
    if len(scored) == 0:
        return None
    y = outcome.reindex(scored["lead_id"]).to_numpy(dtype=int)
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
        as_of=pd.Timestamp(as_of),
        model_version=str(champion.model_version),
        table=table,
        n_leads=len(scored),
        n_won=int(y.sum()),
        auc=roc_auc(y, scored["score"].to_numpy(dtype=float)),
        a_beats_d=a_beats_d,
    )


# ------------------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------------------


def drift_sentences(drift: DriftReport, rcfg: RetrainConfig) -> list[str]:
    psi_of = drift.table.set_index("feature")["psi"]
    moved = ", ".join(f"{f} (PSI {psi_of[f]:.2f})" for f in drift.moved) or "none"
    shifted = drift.segments[drift.segments["status"] == "shifted"]
    gaps = "; ".join(
        f"{row.feature} = {row.value}: won {row.win_rate:.0%}, predicted {row.predicted:.0%}"
        for row in shifted.head(6).itertuples()
    )
    return [
        f"Drift, the {drift.current} against {drift.reference}: the champion's score moved by PSI "
        f"{drift.score_psi:.3f}.",
        f"Inputs whose mix moved (PSI at least {rcfg.psi_threshold:g}): {moved}.",
        f"To watch (PSI {rcfg.psi_watch:g} to {rcfg.psi_threshold:g}): {', '.join(drift.watch) or 'none'}.",
        f"Inputs whose conversion shifted (the champion off by {rcfg.gap_threshold:.0%} or more beyond its "
        f"overall miss): {', '.join(drift.shifted) or 'none'}" + (f" ({gaps})." if gaps else "."),
    ]


def backtest_sentence(backtest: Backtest) -> str:
    rates = backtest.table.set_index("grade")["win_rate"]
    verdict = {
        True: "grade A converted more than grade D, as promised",
        False: "grade A did NOT convert more than grade D",
        None: "grade A or D had no closed lead to compare",
    }[backtest.a_beats_d]
    return (
        f"Backtest of version {backtest.model_version}: scored the open leads as of {_day(backtest.scored_at)}; "
        f"{backtest.n_leads:,} of them closed by {_day(backtest.as_of)} ({backtest.n_won:,} won). "
        f"Win rate A {_pct(rates['A'])}, D {_pct(rates['D'])}: {verdict}; AUC {backtest.auc:.3f}."
    )


def card_notes(result: RetrainResult, rcfg: RetrainConfig) -> list[str]:
    """Plain sentences for the model card: windows, drift, backtest."""
    w = result.windows
    notes = [
        f"Retrain as of {_day(w.as_of)}: trained on deals created {_day(w.train_start)} to {_day(w.valid_start)}, "
        f"tuned on {_day(w.valid_start)} to {_day(w.test_start)}, evaluated on {w.evaluation_quarter} "
        f"({_day(w.test_start)} to {_day(w.test_end)}), the latest quarter whose deals had all had the maturity "
        "period to close; closed deals created after it were left out "
        f"({result.left_out.get('after_evaluation_quarter', 0):,})."
    ]
    if result.drift is not None:
        notes.extend(drift_sentences(result.drift, rcfg))
    if result.backtest is not None:
        notes.append(backtest_sentence(result.backtest))
    return notes


def retrain_report_markdown(result: RetrainResult, rcfg: RetrainConfig) -> str:
    """The comparison report: windows, challenger against champion, the gate, drift and backtest."""
    w = result.windows
    decision = result.decision
    verdict = "promoted to champion" if result.promoted else "NOT promoted"
    against = f"version {result.champion_version}" if result.champion_version else "no champion (first model)"
    lines = [
        f"# Retrain as of {_day(w.as_of)}: version {result.version} {verdict}",
        "",
        f"Measured against: {against}.",
        "",
        "## Gate",
        "",
        *[f"- {reason}" for reason in (decision.reasons if decision else ())],
        "",
        "## Windows",
        "",
        _md(pd.DataFrame([w.as_dict()])),
        "",
        f"## Challenger against champion on {w.evaluation_quarter}",
        "",
        _md(result.comparison()[list(COMPARISON_COLUMNS)]),
        "",
    ]
    if result.drift is not None:
        lines += ["## Drift", "", *[f"- {s}" for s in drift_sentences(result.drift, rcfg)], ""]
        lines += [
            _md(result.drift.table.head(REPORT_ROWS)),
            "",
            f"All inputs: {DRIFT_ARTIFACT} in the run.",
            "",
        ]
        lines += [
            "### The champion's errors by segment",
            "",
            _md(result.drift.segments.head(REPORT_ROWS)),
            "",
        ]
    if result.backtest is not None:
        lines += ["## Backtest", "", backtest_sentence(result.backtest), "", _md(result.backtest.table), ""]
        lines += [
            "Only the leads whose deal closed within the window count: quick decisions and deals already under "
            "way at the start, so the win rates are not the ones a full quarter would show. The promised win "
            "rates are the champion's own, on its test quarter; the check is the order of the grades.",
            "",
        ]
    return "\n".join(lines)


def _md(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return "" if pd.isna(value) else f"{value:.3f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


# ------------------------------------------------------------------------------------------------------
# MLflow: the run's artifacts and the version's tags
# ------------------------------------------------------------------------------------------------------


def _champion_info(model_name: str) -> tuple[str, str] | None:
    """(version, run_id) of the current champion, or None."""
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient
    from pipelines.tracking import CHAMPION, setup

    setup()
    try:
        version = MlflowClient().get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    return str(version.version), str(version.run_id)


def _logged_frame(run_id: str, path: str) -> pd.DataFrame | None:
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        try:
            return pd.read_csv(MlflowClient().download_artifacts(run_id, path, tmp))
        except (MlflowException, OSError):
            return None


def log_retrain(result: RetrainResult, rcfg: RetrainConfig, cfg: PipelineConfig, report: str) -> None:
    """Drift and backtest tables, the report and their headline metrics on the new version's run; the
    retrain's windows and findings as tags on the version (next to the gate's own tags)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    run_id, version = result.train.run_id, result.train.version
    if run_id is None or version is None:
        return
    metrics: dict[str, float] = {}
    tags = {f"retrain.{k}": v for k, v in result.windows.as_dict().items()}
    tags["retrain.champion_version"] = result.champion_version or ""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / REPORT_NAME).write_text(report, encoding="utf-8")
        client.log_artifact(run_id, str(folder / REPORT_NAME), artifact_path="retrain")
        if result.drift is not None:
            (folder / "drift.csv").write_text(result.drift.table.to_csv(index=False))
            client.log_artifact(run_id, str(folder / "drift.csv"), artifact_path="drift")
            metrics["drift_psi_score"] = result.drift.score_psi
            metrics["drift_features_moved"] = len(result.drift.moved)
            metrics["drift_features_shifted"] = len(result.drift.shifted)
            tags["drift.moved"] = ",".join(result.drift.moved)
            tags["drift.shifted"] = ",".join(result.drift.shifted)
            (folder / "segments.csv").write_text(result.drift.segments.to_csv(index=False))
            client.log_artifact(run_id, str(folder / "segments.csv"), artifact_path="drift")
            tags["drift.score_psi"] = f"{result.drift.score_psi:.4f}"
        if result.backtest is not None:
            (folder / "backtest.csv").write_text(result.backtest.table.to_csv(index=False))
            client.log_artifact(run_id, str(folder / "backtest.csv"), artifact_path="backtest")
            metrics.update(
                backtest_auc=result.backtest.auc,
                backtest_leads=result.backtest.n_leads,
                backtest_won=result.backtest.n_won,
            )
            tags["backtest.summary"] = backtest_sentence(result.backtest)
    for key, value in metrics.items():
        if pd.notna(value):
            client.log_metric(run_id, key, float(value))
    for key, text in tags.items():
        client.set_model_version_tag(cfg.registry.model_name, version, key, text)
        client.set_tag(run_id, key, text)


# ------------------------------------------------------------------------------------------------------
# The job
# ------------------------------------------------------------------------------------------------------


def run_retrain(
    tables: dict[str, pd.DataFrame],
    cfg: PipelineConfig,
    rcfg: RetrainConfig,
    as_of: pd.Timestamp | str,
    truth: pd.DataFrame | None = None,
    force_reason: str | None = None,
    *,
    out_dir: Path | None = None,
    card: bool = True,
    source: str = "",
) -> RetrainResult:
    """Retrain as of `as_of`: challenger on the trailing window, champion and challenger on the same
    evaluation quarter, the promotion gate and its audit tags, drift, backtest, report.

    With `out_dir`, the comparison report (and, with `card`, the model card) are written there; they are
    logged to the new version's run in any case.
    """
    from pipelines import tracking
    from pipelines.train import run_train
    from pipelines.validate import run_validate

    as_of = pd.Timestamp(as_of)
    windows = retrain_windows(as_of, cfg.model.maturity_days, rcfg.trailing_quarters)
    known = tables_as_of(with_timestamps(tables, cfg.input), as_of)  # dates read as the contract reads them
    train_input, left_out = training_tables(known, windows)
    check_windows(train_input["deals"], windows)
    train_cfg = retrain_pipeline_config(cfg, windows)

    name = cfg.registry.model_name
    champion_info = _champion_info(name)
    champion = None
    promised = None
    if champion_info is not None:
        champion = tracking.load_scorer(f"models:/{name}/{champion_info[0]}")
        champion.model_version = champion_info[0]
        promised = _logged_frame(champion_info[1], "evaluation/by_grade.csv")
    backtest = run_backtest(champion, known, as_of, rcfg.backtest_days, promised) if champion else None

    train = run_train(
        train_input,
        train_cfg,
        truth=truth,
        register=True,
        force_reason=force_reason,
        source=source,
        trigger=rcfg.trigger_text(),
    )
    result = RetrainResult(
        windows=windows,
        train=train,
        champion_version=champion_info[0] if champion_info else None,
        backtest=backtest,
        left_out=left_out,
    )
    if champion is not None:
        result.drift = drift_report(
            champion, run_validate(known, date_formats=cfg.input).valid, windows, rcfg
        )
    report = retrain_report_markdown(result, rcfg)
    log_retrain(result, rcfg, cfg, report)
    if out_dir is not None:
        path = Path(out_dir) / REPORT_NAME
        with atomic_path(path) as tmp:
            tmp.write_text(report, encoding="utf-8")
            tmp.chmod(0o644)  # a report to share, not a private temp file
        result.paths.append(path)
    if card:
        try:
            result.paths.extend(_write_card(result, train_cfg, train_input, champion, rcfg, out_dir))
        except Exception as error:  # noqa: BLE001 - the version is registered and gated; the card is a by-product
            result.warnings.append(f"the model card was not written: {type(error).__name__}: {error}")
    return result


def _write_card(
    result: RetrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    champion: LeadScorer | None,
    rcfg: RetrainConfig,
    out_dir: Path | None,
) -> list[Path]:
    """The model card of the new version with the retrain's notes, logged to its run (and written to
    `out_dir` when given)."""
    from pipelines.card import log_card_to_run, registry_history, write_card

    history = registry_history(cfg.registry.model_name, before=result.version) if result.version else []
    notes = card_notes(result, rcfg)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out_dir) if out_dir is not None else Path(tmp)
        paths = write_card(result.train, folder, champion, tables, cfg=cfg, history=history, notes=notes)
        if result.train.run_id:
            log_card_to_run(result.train.run_id, paths)
    return list(paths) if out_dir is not None else []


# ------------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------------


def retrain_config_of(cfg: PipelineConfig) -> RetrainConfig:
    """The `retrain` section of the pipeline configuration, or the defaults while it has none."""
    section = getattr(cfg, "retrain", None)
    return section if isinstance(section, RetrainConfig) else RetrainConfig()


def retrain_command(
    input_dir: str | Path,
    as_of: str,
    *,
    config: Path | None = None,
    set_: list[str] | None = None,
    out: Path | None = None,
    force: str | None = None,
    truth: Path | None = None,
    trailing_quarters: int | None = None,
    backtest_days: int | None = None,
    card: bool = True,
) -> int:
    """`leadscore retrain`: run the retrain, print the comparison, the gate, drift and backtest; the exit
    code is 0 when the challenger was promoted, 6 (NOT_PROMOTED) when not, 3 or 4 for bad input or too little
    data."""
    from features.contracts import ContractError
    from pipelines import exit_codes
    from pipelines.console import console, frame_table
    from pipelines.io import InputError, read_frame
    from pipelines.settings import ConfigError, load_config
    from pipelines.sources import read_input

    try:
        as_of_ts = _parse_as_of(as_of)
        cfg = load_config(config, set_)
        rcfg = retrain_config_of(cfg)
        updates = {"trailing_quarters": trailing_quarters, "backtest_days": backtest_days}
        rcfg = RetrainConfig.model_validate(
            {**rcfg.model_dump(), **{k: v for k, v in updates.items() if v is not None}}
        )
        tables = read_input(str(input_dir))
        truth_frame = read_frame(truth) if truth else None
        result = run_retrain(
            tables, cfg, rcfg, as_of_ts, truth_frame, force, out_dir=out, card=card, source=str(input_dir)
        )
    except InsufficientDataError as error:
        console.print(f"[red]not enough data to retrain:[/red] {error}")
        return exit_codes.NOT_ENOUGH_DATA
    except (InputError, ContractError, ConfigError) as error:
        console.print(f"[red]error:[/red] {error}")
        return exit_codes.BAD_INPUT
    print_retrain_summary(result, rcfg, console, frame_table)
    return exit_codes.OK if result.promoted else exit_codes.NOT_PROMOTED


def print_retrain_summary(result: RetrainResult, rcfg: RetrainConfig, console: Any, frame_table: Any) -> None:
    w = result.windows
    console.print(
        f"[bold]Retrain as of {_day(w.as_of)}[/bold]: version {result.version}, trained "
        f"{_day(w.train_start)} to {_day(w.valid_start)}, evaluated on {w.evaluation_quarter}"
        + (
            f" against champion version {result.champion_version}"
            if result.champion_version
            else " (no champion yet)"
        )
    )
    console.print(
        frame_table(result.comparison()[list(COMPARISON_COLUMNS)], title=f"On {w.evaluation_quarter}")
    )
    if result.drift is not None:
        top = result.drift.table.head(12)[
            ["feature", "psi", "status", "reference_summary", "current_summary"]
        ]
        console.print(frame_table(top, title="Drift (PSI), champion's training window -> evaluation quarter"))
        gaps = result.drift.segments.head(8)
        console.print(frame_table(gaps, title="The champion's errors by segment on the evaluation quarter"))
        for sentence in drift_sentences(result.drift, rcfg)[1:]:
            console.print(sentence)
    if result.backtest is not None:
        console.print(
            frame_table(result.backtest.table, title="Backtest: the champion's grades, then and now")
        )
        console.print(backtest_sentence(result.backtest))
    decision = result.decision
    if decision is not None:
        colour = "green" if decision.promote else "yellow"
        console.print(f"[{colour}]{decision.summary()}[/{colour}]")
    for path in result.paths:
        console.print(f"wrote {path}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def _day(value: Any) -> str:
    """2026-02-01, or the full time when it is not midnight."""
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _pct(value: Any) -> str:
    return "n/a" if pd.isna(value) else f"{float(value):.0%}"


def _parse_as_of(value: str) -> pd.Timestamp:
    from pipelines.io import InputError

    try:
        ts = pd.Timestamp(value)
    except ValueError as error:
        raise InputError(f"--as-of {value!r}: not a date; use e.g. 2026-07-01") from error
    if pd.isna(ts) or ts.tzinfo is not None:
        raise InputError(f"--as-of {value!r}: give a plain date or time (UTC, no time zone), e.g. 2026-07-01")
    return ts
