"""Job: the quarterly retrain. A challenger trained on a trailing window, measured against the champion on the
same most recent mature quarter, gated, with a drift report, a backtest of the live model and an audit trail.

The windows (models/retrain.py): the evaluation quarter is the latest calendar quarter whose deals have all
had model.maturity_days to close, the validation quarter the one before it, the training window the
`trailing_quarters` quarters before that. Because the windows already apply the maturity rule, the training
job is called with maturity_days 0.

The data are the tables as they were known at the as-of date A (features/as_of.py): leads and deals created
before A, activities before A, and a deal that closed on or after A counts as open. Nothing recorded after A
can reach the challenger, the champion's evaluation, the drift report or the backtest.

With a champion in the registry, the run also measures (models/monitoring.py):
- drift: PSI of every model input and of the champion's score, between the champion's training window and
  the evaluation quarter ("moved" at psi_threshold, "watch" at psi_watch). PSI sees a changed mix of leads,
  not a changed mechanism (the same leads converting differently), so it adds the champion's errors by
  segment on the evaluation quarter: categories of its inputs whose actual win rate departs from its
  prediction (beyond the quarter's overall miss) by at least gap_threshold, at 3 standard errors or more
  ("shifted");
- a backtest: the champion scores the leads open `backtest_days` before A, as they were then, and for those
  whose deal closed since, conversion by grade (against the win rates its evaluation promised).
Everything is logged to the new version's MLflow run (drift/, backtest/, retrain/, and the model card under
card/ with the retrain's findings as notes) and tagged on the version (retrain.*, drift.*, backtest.*, next to
the promotion gate's gate.* tags); `leadscore history` lists them. The report's words are
pipelines/retrain_report.py's; the command is `leadscore retrain` (pipelines/cli.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.as_of import tables_as_of
from features.contracts import as_words, split_untimed, validate_tables
from features.vocab import OUTCOMES
from models.monitoring import (
    Backtest,
    DriftReport,
    DriftThresholds,
    backtest_of,
    closes_stopped,
    drift_between,
    newest_event,
)
from models.promotion import backtest_collapse, learned_window
from models.retrain import (
    RetrainWindows,
    champion_learned_note,
    check_windows,
    drift_windows,
    retrain_windows,
    training_tables,
)
from models.scorer import CRM_TABLES
from pipelines.io import artifact_csv, atomic_path
from pipelines.retrain_report import (
    REPORT_NAME,
    RetrainResult,
    backtest_sentence,
    card_notes,
    retrain_report_markdown,
)
from pipelines.settings import PipelineConfig, RetrainConfig

if TYPE_CHECKING:
    from models.scorer import Scorer


def retrain_pipeline_config(cfg: PipelineConfig, windows: RetrainWindows) -> PipelineConfig:
    """The training job's configuration: explicit out-of-time cut dates, maturity already applied."""
    data = cfg.model_dump(mode="python")
    # The tested challenger learns the deals known on the evaluation quarter's first day, mature by then.
    known = cfg.model.split.known_maturity_days
    data["model"]["maturity_days"] = 0
    data["model"]["split"].update(
        known_maturity_days=cfg.model.maturity_days if known is None else known,
        method="out_of_time",
        valid_start=windows.valid_start.to_pydatetime(),
        test_start=windows.test_start.to_pydatetime(),
    )
    return PipelineConfig.model_validate(data)


def drift_report(
    champion: Scorer, known: dict[str, pd.DataFrame], windows: RetrainWindows, rcfg: RetrainConfig
) -> DriftReport | None:
    """The champion's drift from its own training window to the evaluation quarter (models/retrain.py's
    drift_windows), on validated tables."""
    reference, current = drift_windows(champion.model.split_summary, champion.model_version, windows)
    thresholds = DriftThresholds(rcfg.psi_threshold, rcfg.psi_watch, rcfg.gap_min_rows, rcfg.gap_threshold)
    return drift_between(champion, known, reference, current, thresholds)


def run_backtest(
    champion: Scorer,
    known: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    days: int,
    promised: pd.DataFrame | None = None,
    maturity_days: int = 0,
    min_per_outcome: tuple[int, int] = (1, 1),
) -> tuple[Backtest | None, list[str]]:
    """The champion scores the leads open `days` before `as_of`, as they were then; backtest_of compares its
    grades with what closed since (None when none closed). With the scoring run's coverage warnings: an input
    the champion read and the data no longer hold (a column blanked in the whole history) shows in no drift
    window, as both windows are read from today's tables. `min_per_outcome`: the fewest won and lost closed
    leads whose AUC the report gives (the gate's registry.min_test_won and min_test_lost)."""
    from pipelines.score import run_score

    scored_at = pd.Timestamp(as_of) - pd.Timedelta(days=days)
    run = run_score(champion, tables_as_of(known, scored_at), scored_at, output=None, reasons=False)
    backtest = backtest_of(
        run.scores,
        known["deals"],
        scored_at,
        pd.Timestamp(as_of),
        str(champion.model_version),
        promised,
        *min_per_outcome,
    )
    said = f"the champion (version {champion.model_version}) on the leads open as of {scored_at.date()}: "
    learnt = (
        backtest_learnt_warning(
            champion.model.split_summary, champion.model_version, scored_at, maturity_days
        )
        if backtest is not None
        else no_backtest_sentence(champion.model_version, scored_at, pd.Timestamp(as_of), days)
    )
    return backtest, [said + warning for warning in run.warnings] + ([learnt] if learnt else [])


def no_backtest_sentence(version: Any, scored_at: pd.Timestamp, as_of: pd.Timestamp, days: int) -> str:
    """Why the champion has no backtest: none of the leads open on the backtest's date closed since (a date
    before the history, or too close to --as-of for a deal to close). The report had left it out unsaid."""
    return (
        f"no backtest of the champion (version {version}): none of the leads open on {scored_at:%Y-%m-%d} "
        f"(retrain.backtest_days={days} before --as-of) closed by {as_of:%Y-%m-%d}; give retrain.backtest_days "
        "that puts the date inside the history, long enough before --as-of for deals to close"
    )


def backtest_learnt_warning(
    split_summary: dict[str, Any], version: Any, scored_at: pd.Timestamp, maturity_days: int
) -> str | None:
    """When the champion may have learnt the outcomes of the leads its backtest scores: its newest deal was
    created less than `maturity_days` before the backtest's date, so its history ran past that date and the
    deals that closed in between taught it (a retrain --as-of earlier than the champion's own history). None
    when its history ended before (a quarterly retrain)."""
    _, end = learned_window(split_summary, live=True)
    if end is None or end + pd.Timedelta(days=maturity_days) <= pd.Timestamp(scored_at):
        return None
    known = end + pd.Timedelta(days=maturity_days)
    return (
        f"the champion (version {version}) learnt from deals created up to {end:%Y-%m-%d}, whose outcomes it "
        f"knew up to about {known:%Y-%m-%d} (model.maturity_days later), after the backtest's "
        f"{pd.Timestamp(scored_at):%Y-%m-%d}: leads open then whose deals closed before it was trained are among "
        "what it learnt, and its backtest flatters it (a retrain --as-of after the champion's history has none)"
    )


def check_history_reaches(
    known: dict[str, pd.DataFrame], scored_at: pd.Timestamp, as_of: pd.Timestamp
) -> None:
    """InputError (exit 3) when the tables record nothing (no lead, activity, deal or close) from the
    backtest's date to `as_of`: a copy of the CRM older than --as-of, not an outcome feed that stopped (the
    leads stopped with it), so there is nothing to backtest and "evidence looks broken" would send the user
    to the wrong feed."""
    from pipelines.io import InputError

    newest = newest_event(known, as_of)
    if newest is None or newest >= scored_at:
        return
    after = (newest.normalize() + pd.Timedelta(days=1)).date()
    raise InputError(
        f"retrain as of {as_of.date()}: the CRM tables' newest lead, activity, deal or close is from "
        f"{newest:%Y-%m-%d}, {(as_of - newest).days} days before --as-of and before the backtest's "
        f"{scored_at.date()} (retrain.backtest_days): the tables are a copy older than --as-of (or nothing "
        f"happened since); export them again, or pass --as-of {after}"
    )


def log_retrain(result: RetrainResult, cfg: PipelineConfig, report: str) -> None:
    """Drift and backtest tables, the report and their headline metrics on the new version's run; the
    retrain's windows and findings as tags on the version (next to the gate's own tags)."""
    from pipelines.registry import attach_texts, record_findings

    run_id, version = result.train.run_id, result.train.version
    if run_id is None or version is None:
        return
    texts = {f"retrain/{REPORT_NAME}": report}
    metrics: dict[str, float] = {}
    tags = {f"retrain.{k}": v for k, v in result.windows.as_dict().items()}
    tags["retrain.champion_version"] = result.champion_version or ""
    if result.drift is not None:
        texts["drift/drift.csv"] = artifact_csv(result.drift.table)  # levels from the data: for spreadsheets
        texts["drift/segments.csv"] = artifact_csv(result.drift.segments)
        metrics["drift_psi_score"] = result.drift.score_psi
        metrics["drift_features_moved"] = len(result.drift.moved)
        metrics["drift_features_shifted"] = len(result.drift.shifted)
        tags["drift.moved"] = ",".join(result.drift.moved)
        tags["drift.shifted"] = ",".join(result.drift.shifted)
        tags["drift.score_psi"] = f"{result.drift.score_psi:.4f}"
    if result.backtest is not None:
        texts["backtest/backtest.csv"] = artifact_csv(result.backtest.table)
        metrics.update(backtest_leads=result.backtest.n_leads, backtest_won=result.backtest.n_won)
        if result.backtest.measurable:  # an AUC of 2 leads (0.000 or 1.000) is no measurement to chart
            metrics["backtest_auc"] = result.backtest.auc
        tags["backtest.summary"] = backtest_sentence(result.backtest)
    attach_texts(run_id, texts)
    finite = {key: value for key, value in metrics.items() if pd.notna(value)}
    record_findings(cfg.registry.model_name, version, run_id, tags, finite)


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
    from pipelines.registry import champion_record as registered_record
    from pipelines.registry import champion_version, gate_rules, run_frame
    from pipelines.sources import CrmSource, run_time
    from pipelines.train import check_quarantine_share, run_train
    from pipelines.validate import run_validate

    as_of = pd.Timestamp(as_of)
    # A missing or repeated column: train's refusal (exit 3), from the columns alone, before any row is
    # placed in time (a KeyError traceback, or "0 won and 0 lost deals" without an outcome column, before).
    validate_tables({name: pd.DataFrame(columns=frame.columns) for name, frame in tables.items()})
    windows = retrain_windows(as_of, cfg.model.maturity_days, rcfg.trailing_quarters)
    timed, untimed = split_untimed(tables, cfg.input)  # dates read as the contract reads them
    known = tables_as_of(timed, as_of)
    # A copy of the CRM older than --as-of: its evaluation quarter would hold deals whose outcomes the copy
    # never saw, and a champion's backtest nothing to read (checked before a first model too).
    scored_at = as_of - pd.Timedelta(days=rcfg.backtest_days)  # the champion's backtest scores the leads then
    check_history_reaches(known, scored_at, as_of)
    train_input, left_out = training_tables(known, windows)
    # A row whose time is no date cannot be placed before or after as_of (it was a traceback): the
    # training's contract quarantines it, with its value, as `train` does.
    train_input = {
        name: pd.concat([frame, untimed[name]], ignore_index=True) if len(untimed.get(name, ())) else frame
        for name, frame in train_input.items()
    }
    # The contract as training applies it, before the windows are counted: a broken feed (outcomes written
    # WON and LOST) stops with the rule it broke (exit 5), not with "0 won and 0 lost deals" (exit 4).
    checked = run_validate(train_input, as_of=run_time(), date_formats=cfg.input, deals_after_their_lead=True)
    check_quarantine_share(checked.quarantine, checked.counts(), cfg.model.max_quarantine_share)
    check_windows(checked.valid["deals"], windows)
    train_cfg = retrain_pipeline_config(cfg, windows)

    name = cfg.registry.model_name
    champion_record = champion_version(name)
    champion = None
    backtest = None
    broken: str | None = None
    coverage: list[str] = []
    other_input = None
    if champion_record is not None:
        champion = tracking.load_scorer(f"models:/{name}/{champion_record.version}")
        champion.model_version = str(champion_record.version)
        # A flat export's model cannot score these tables: no backtest or drift, and the gate refuses.
        if champion.input != CRM_TABLES:
            other_input = (
                f"the champion (version {champion.model_version}) was trained on {champion.input.describe()}, "
                "so it has no backtest or drift on these CRM tables and the gate cannot compare it with the "
                'challenger (`--force "reason"` replaces it)'
            )
            champion = None
        else:
            # Outcomes as the contract reads them ("WON", " Lost"): the backtest and the stop count closes.
            deals = known["deals"].assign(outcome=as_words(known["deals"]["outcome"], OUTCOMES))
            promised = run_frame(str(champion_record.run_id), "evaluation/by_grade.csv")
            rules = gate_rules(cfg)
            backtest, coverage = run_backtest(
                champion,
                {**known, "deals": deals},
                as_of,
                rcfg.backtest_days,
                promised,
                cfg.model.maturity_days,
                (rules.min_test_won, rules.min_test_lost),
            )
            stopped = closes_stopped(
                deals,
                scored_at,
                as_of,
                rules.min_test_won + rules.min_test_lost,
                created=known["leads"]["created_at"],
            )
            if stopped:  # the backtest has nothing to read, and the evaluation quarter is older than the stop
                broken = f'{stopped} before retraining, or pass `--force "reason"`'
            elif backtest is not None:
                broken = backtest_collapse(
                    backtest.outcomes,
                    backtest.scores,
                    registered_record(champion_record, live=True),
                    rules,
                    backtest.scored_at,
                )

    train = run_train(
        CrmSource(train_input, location=source),
        train_cfg,
        truth=truth,
        register=True,
        force_reason=force_reason,
        trigger=rcfg.trigger_text(),
        evidence_broken=broken or "",
    )
    result = RetrainResult(
        windows=windows,
        train=train,
        champion_version=str(champion_record.version) if champion_record is not None else None,
        backtest=backtest,
        left_out=left_out,
        no_backtest=next((said for said in coverage if said.startswith("no backtest")), ""),
    )
    # A champion --force went past (its tested model lost) was not compared: nothing it learnt to say.
    if champion is not None and not train.champion_unscored:
        result.champion_learned = champion_learned_note(
            train.evaluation.test_scores["snapshot_at"],
            champion.model.split_summary,
            champion.model_version,
            live=train.champion_live,
        )
    if other_input:
        result.warnings.append(other_input)
    result.warnings.extend(coverage)
    if champion is not None:
        result.drift = drift_report(
            champion, run_validate(known, date_formats=cfg.input).valid, windows, rcfg
        )
    report = retrain_report_markdown(result, rcfg)
    log_retrain(result, cfg, report)
    if out_dir is not None:
        path = Path(out_dir) / REPORT_NAME
        with atomic_path(path) as tmp:
            tmp.write_text(report, encoding="utf-8")
            tmp.chmod(0o644)  # a report to share, not a private temp file
        result.paths.append(path)
    if card:
        from pipelines.card import card_after_training

        try:
            notes = card_notes(result, rcfg)
            # A champion --force went past uncompared (its tested model lost) is named, not compared.
            previous = champion if train.champion_unscored else train.champion
            paths = card_after_training(train, train_cfg, train_input, previous, out_dir, notes=notes)
            result.paths.extend(paths or ())
        except Exception as error:  # noqa: BLE001 - the version is registered and gated; the card is a by-product
            result.warnings.append(f"the model card was not written: {type(error).__name__}: {error}")
    return result
