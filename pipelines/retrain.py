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

from features.contracts import with_timestamps
from models.gate import InsufficientDataError, NoSignalError
from models.monitoring import Backtest, DriftReport, DriftThresholds, Window, backtest_of, drift_between
from pipelines.io import atomic_path
from pipelines.settings import PipelineConfig, RetrainConfig, current_user  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from models.promotion import GateDecision
    from models.scorer import Scorer
    from pipelines.train import TrainResult

QUARTER = pd.DateOffset(months=3)
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


def drift_report(
    champion: Scorer, known: dict[str, pd.DataFrame], windows: RetrainWindows, rcfg: RetrainConfig
) -> DriftReport | None:
    """The champion's drift from its own training window (or, for a champion trained on a grouped split
    without dates, this retrain's training window) to the evaluation quarter."""
    summary = champion.model.split_summary
    ref_start, ref_end = summary.get("train_start"), summary.get("valid_start")
    if ref_start and ref_end:
        reference = Window(
            pd.Timestamp(ref_start),
            pd.Timestamp(ref_end),
            f"version {champion.model_version}'s training window, {_day(ref_start)} to {_day(ref_end)}",
        )
    else:
        reference = Window(
            windows.train_start,
            windows.valid_start,
            f"this retrain's training window, {_day(windows.train_start)} to {_day(windows.valid_start)}",
        )
    current = Window(windows.test_start, windows.test_end, f"evaluation quarter {windows.evaluation_quarter}")
    thresholds = DriftThresholds(rcfg.psi_threshold, rcfg.psi_watch, rcfg.gap_min_rows, rcfg.gap_threshold)
    return drift_between(champion, known, reference, current, thresholds)


def run_backtest(
    champion: Scorer,
    known: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    days: int,
    promised: pd.DataFrame | None = None,
) -> Backtest | None:
    """The champion scores the leads open `days` before `as_of`, as they were then; backtest_of compares its
    grades with what closed since (None when none closed)."""
    from pipelines.score import run_score

    scored_at = pd.Timestamp(as_of) - pd.Timedelta(days=days)
    scores = run_score(champion, tables_as_of(known, scored_at), scored_at, output=None, reasons=False).scores
    return backtest_of(
        scores, known["deals"], scored_at, pd.Timestamp(as_of), str(champion.model_version), promised
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
    from pipelines.registry import champion_version

    version = champion_version(model_name)
    return None if version is None else (str(version.version), str(version.run_id))


def _logged_frame(run_id: str, path: str) -> pd.DataFrame | None:
    from mlflow.exceptions import MlflowException

    from pipelines.registry import download_run_artifact

    with tempfile.TemporaryDirectory() as tmp:
        try:
            return pd.read_csv(download_run_artifact(run_id, path, tmp))
        except (MlflowException, OSError):
            return None


def log_retrain(result: RetrainResult, rcfg: RetrainConfig, cfg: PipelineConfig, report: str) -> None:
    """Drift and backtest tables, the report and their headline metrics on the new version's run; the
    retrain's windows and findings as tags on the version (next to the gate's own tags)."""
    from pipelines.registry import attach_to_run, record_findings

    run_id, version = result.train.run_id, result.train.version
    if run_id is None or version is None:
        return
    metrics: dict[str, float] = {}
    tags = {f"retrain.{k}": v for k, v in result.windows.as_dict().items()}
    tags["retrain.champion_version"] = result.champion_version or ""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / REPORT_NAME).write_text(report, encoding="utf-8")
        attach_to_run(run_id, [folder / REPORT_NAME], "retrain")
        if result.drift is not None:
            (folder / "drift.csv").write_text(result.drift.table.to_csv(index=False))
            attach_to_run(run_id, [folder / "drift.csv"], "drift")
            metrics["drift_psi_score"] = result.drift.score_psi
            metrics["drift_features_moved"] = len(result.drift.moved)
            metrics["drift_features_shifted"] = len(result.drift.shifted)
            tags["drift.moved"] = ",".join(result.drift.moved)
            tags["drift.shifted"] = ",".join(result.drift.shifted)
            (folder / "segments.csv").write_text(result.drift.segments.to_csv(index=False))
            attach_to_run(run_id, [folder / "segments.csv"], "drift")
            tags["drift.score_psi"] = f"{result.drift.score_psi:.4f}"
        if result.backtest is not None:
            (folder / "backtest.csv").write_text(result.backtest.table.to_csv(index=False))
            attach_to_run(run_id, [folder / "backtest.csv"], "backtest")
            metrics.update(
                backtest_auc=result.backtest.auc,
                backtest_leads=result.backtest.n_leads,
                backtest_won=result.backtest.n_won,
            )
            tags["backtest.summary"] = backtest_sentence(result.backtest)
    finite = {key: value for key, value in metrics.items() if pd.notna(value)}
    record_findings(cfg.registry.model_name, version, run_id, tags, finite)


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
    from pipelines.sources import CrmSource
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
        CrmSource(train_input, location=source),
        train_cfg,
        truth=truth,
        register=True,
        force_reason=force_reason,
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
    champion: Scorer | None,
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
    from pipelines.locations import read_input
    from pipelines.settings import ConfigError, load_config

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
        headline = "refused" if isinstance(error, NoSignalError) else "not enough data to retrain"
        console.print(f"[red]{headline}:[/red] {error}")
        return exit_codes.NOT_ENOUGH_DATA
    except (InputError, ContractError, ConfigError) as error:
        console.print(f"[red]error:[/red] {error}")
        return exit_codes.BAD_INPUT
    print_retrain_summary(result, rcfg, console, frame_table)
    if result.promoted:
        return exit_codes.OK
    broken = result.decision is not None and result.decision.status == "evidence_broken"
    return exit_codes.EVIDENCE_BROKEN if broken else exit_codes.NOT_PROMOTED


def print_retrain_summary(result: RetrainResult, rcfg: RetrainConfig, console: Any, frame_table: Any) -> None:
    from pipelines.summary import print_gate_decision

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
    if result.decision is not None:
        print_gate_decision(result.version, result.decision)
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
