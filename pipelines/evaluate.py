"""Job: backtest leadscore's default pipeline against baselines on the same folds (`leadscore evaluate`).

Reads top to bottom: labelled rows (closed mature deals of CRM tables, or a flat export's labelled rows)
-> folds (stratified k-fold, out of time, or rolling) -> every contender per fold -> metrics per fold and
on average -> a console table and an atomic JSON file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contracts import ContractError
from features.flat import ExportSpec
from features.leak_audit import labels_together
from models.backtest import (
    BacktestData,
    Fold,
    FoldResult,
    check_enough_labels,
    contenders_for,
    evaluate_fold,
    kfold_folds,
    known_at_cutoff,
    mean_metrics,
    rolling_folds,
    same_folds,
)
from models.config import ModelConfig, known_maturity, known_maturity_setting
from models.formatting import figure_text
from models.minimum_data import InsufficientDataError, NoSignalError
from pipelines.io import InputError, atomic_path
from pipelines.settings import ConfigError, PipelineConfig, load_config
from pipelines.sources import CrmSource, ExportSource, Source, TrainingData
from pipelines.train import check_model_features, check_training_quarantine, data_warnings
from pipelines.validate import most_broken_rule, own_quarantine_rows


class NoTimeColumnError(ValueError):
    """A time-ordered backtest was asked of data without a time column (a command-line mistake)."""


@dataclass(frozen=True)
class FoldPlan:
    """How to cut folds: `folds` > 0 for stratified k-fold, else `windows` time-ordered test windows
    (1 = out of time)."""

    folds: int = 0
    seed: int = 0
    windows: int = 0
    test_fraction: float = 0.2

    @property
    def mode(self) -> str:
        if self.folds:
            return "kfold"
        return "out_of_time" if self.windows == 1 else "rolling"

    def describe(self) -> str:
        if self.folds:
            return f"stratified {self.folds}-fold (seed {self.seed})"
        # As given: --test-fraction 0.004 read "latest 0% tested" (and 0.125 "13%").
        share = f"{figure_text(self.test_fraction * 100, 4)}%"
        if self.windows == 1:
            return f"out of time (latest {share} tested)"
        return f"rolling, {self.windows} windows (latest {share} tested)"


@dataclass
class BacktestReport:
    plan: FoldPlan
    counts: dict[str, int]
    contenders: list[str]
    results: list[FoldResult]
    mean: dict[str, dict[str, float]]
    source: str = ""
    notes: list[str] = field(default_factory=list)
    # Said as the export was read, before the folds (open rows, columns the spec does not use): first in the
    # JSON's notes, which must hold every row left out as the console says it.
    read_notes: list[str] = field(default_factory=list)

    @property
    def same_folds(self) -> list[FoldResult]:
        """The folds every contender measured, when some measured fewer (see models.backtest.same_folds)."""
        return same_folds(self.results)

    @property
    def tested_rows(self) -> int:
        """Labelled rows tested, over the folds not skipped (a skipped window's rows were counted as tested)."""
        return sum(len(result.fold.test) for result in self.results if not result.skipped)

    @property
    def window_rows(self) -> int:
        """Labelled rows in the test folds or windows cut, skipped or not."""
        return sum(len(result.fold.test) for result in self.results)

    def as_dict(self) -> dict[str, Any]:
        same = self.same_folds
        return _finite(
            {
                "source": self.source,
                "mode": self.plan.mode,
                "plan": self.plan.describe(),
                "folds_asked": self.plan.folds or self.plan.windows,
                "seed": self.plan.seed if self.plan.folds else None,
                "test_fraction": None if self.plan.folds else self.plan.test_fraction,
                "tested_rows": self.tested_rows,
                "labelled": self.counts,
                "contenders": self.contenders,
                "folds": [result.summary() for result in self.results],
                "mean": self.mean,
                # Means over the folds every contender measured, when some refused folds the others measured.
                "same_folds": [result.fold.name for result in same],
                "mean_same_folds": mean_metrics(same),
                "notes": [*self.read_notes, *self.notes],
            }
        )


def _finite(value: Any) -> Any:
    """NaN -> None, so the JSON is standard."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# Labelled rows -------------------------------------------------------------------------------------------


def backtest_data(source: Source, cfg: PipelineConfig, truth: pd.DataFrame | None = None) -> BacktestData:
    """The labelled rows training would learn from (contract, features, guardrail), from either source:
    mature closed deals of CRM tables, or the won and lost rows of an export. Stops where training would
    (TrainingQuarantineError: too many rows broke the contract) and says what it left out."""
    data = source.training_data(cfg, truth)
    check_training_quarantine(data, cfg.model.max_quarantine_share)
    if truth is not None and data.true_probability is None:
        raise ContractError(truth_gap(data.frame, truth))
    groups = source.feature_groups(cfg)
    names = groups["fit"] + groups["intent"]
    check_model_features(names, cfg)
    times = data.frame["snapshot_at"].reset_index(drop=True)
    return BacktestData(
        frame=data.frame,
        y=data.y,
        feature_names=names,
        categorical=[c for c in source.categorical_features(cfg) if c in names],
        times=times if times.notna().any() else None,  # an export without a timestamp column has none
        true_probability=data.true_probability,
        with_points=source.has_points_model,
        # When each deal closed (its outcome became known); an export's rows have no close.
        known_at=data.frame["closed_at"].reset_index(drop=True) if "closed_at" in data.frame else None,
        left_out=left_out_notes(data, cfg.model.maturity_days),
        warnings=data_warnings(data, cfg),
        input_order=input_order(data),
        maturity_days=source.training_config(cfg).model.maturity_days,
    )


def truth_gap(frame: pd.DataFrame, truth: pd.DataFrame) -> str:
    """The sentence for a --truth file lacking some labelled deals: the oracle was left out with no word."""
    ids = frame["deal_id"].astype("str")
    missing = ~ids.isin(set(truth["deal_id"].astype("str")))
    return (
        f"--truth has no true_probability for {int(missing.sum()):,} of the {len(ids):,} labelled deals (first: "
        f"deal_id {ids[missing].iloc[0]!r}), so the oracle cannot be measured; give the truth file "
        "`leadscore generate` wrote beside these data, or leave --truth out"
    )


def input_order(data: TrainingData) -> np.ndarray:
    """Positions listing the labelled rows as the input did (training takes them in id order): by their row in
    the export, or by their deal's row in the deals table. `--folds` cuts over this order, as the README says."""
    if data.valid_tables is None or "deal_id" not in data.frame:  # an export: the index holds its rows
        return np.argsort(data.frame.index.to_numpy(), kind="stable")
    deals = data.valid_tables["deals"]["deal_id"].astype("str").drop_duplicates()
    row = pd.Series(np.arange(len(deals)), index=deals.to_numpy())
    return np.argsort(data.frame["deal_id"].astype("str").map(row).to_numpy(dtype=float), kind="stable")


def left_out_notes(data: TrainingData, maturity_days: int) -> list[str]:
    """What training leaves out of these rows, as it would: quarantined rows per table (with the rule most of
    them broke), rows dated after the run (not created yet: a deal of 2030 vanished without a word), leads the
    ICP guardrail disqualified, deals too recent to have matured."""
    notes = []
    for table, n in own_quarantine_rows(data.quarantine).items():
        notes.append(
            f"{n:,} {table} row{'s' if n != 1 else ''} quarantined and left out, as training would: "
            f"{most_broken_rule(data.quarantine, str(table))}"
        )
    if "not created yet" in data.counts:  # CRM tables: rows dated after this run (a year typed 2030)
        for table, n in data.counts.set_index("table")["not created yet"].items():
            if n:
                notes.append(
                    f"{n:,} {table} row{'s' if n != 1 else ''} created after this run's time left out as not "
                    "created yet, as training would: check their dates"
                )
    excluded = int(data.excluded.get("total", 0))
    if excluded:
        notes.append(
            f"{excluded:,} labelled rows disqualified by the ICP guardrail and left out, as training would"
        )
    if data.too_recent:
        notes.append(f"{data.too_recent_sentence(maturity_days)} left out, as training would")
    return notes


def crm_data(
    tables: dict[str, pd.DataFrame], cfg: PipelineConfig, truth: pd.DataFrame | None = None
) -> BacktestData:
    """`backtest_data` of CRM tables."""
    return backtest_data(CrmSource(tables), cfg, truth)


def flat_data(rows: pd.DataFrame, spec: ExportSpec, cfg: PipelineConfig | None = None) -> BacktestData:
    """`backtest_data` of an export read with its spec (the shipped configuration unless `cfg` is given)."""
    return backtest_data(ExportSource(rows, spec), cfg if cfg is not None else load_config(None))


# Folds and the run ---------------------------------------------------------------------------------------


def make_folds(data: BacktestData, plan: FoldPlan, cfg: PipelineConfig) -> list[Fold]:
    """The folds of the plan, after checking the data can give them (InsufficientDataError names counts)."""
    model = cfg.model
    per_fold = cfg.evaluate.min_test_rows_per_class
    if plan.folds:
        check_enough_labels(
            data.y, f"{plan.folds} folds", plan.folds, model.min_won, model.min_lost, per_fold=per_fold
        )
        folds = kfold_folds(data.y, plan.folds, plan.seed, data.input_order)
        _enough_trained(
            data.y,
            folds,
            f"{plan.folds} folds",
            model.min_won,
            model.min_lost,
            "Give more labelled history, or lower model.min_won / model.min_lost.",
        )
        return folds
    what = "an out-of-time test" if plan.windows == 1 else f"{plan.windows} rolling windows"
    # Counted first: without labelled rows there are no times either, and "no time column" would mislead. Each
    # window needs per_fold of each class, so the labelled rows bound the windows before any is cut: --rolling
    # 10000000 built ten million cut points for 79 s before saying "too few distinct times" (1e9: out of memory).
    check_enough_labels(data.y, what, plan.windows, model.min_won, model.min_lost, per_fold=per_fold)
    if data.times is None:
        raise NoTimeColumnError(
            f"{what} needs a time per row, and the source spec names no timestamp_column: name there the "
            "column holding each row's creation date (leadscore spec draft proposes one), or use --folds K "
            "for stratified folds instead"
        )
    missing = int(pd.isna(data.times).sum())
    if missing:
        raise InputError(
            f"{missing} of {len(data.times)} labelled rows have no readable time in the timestamp column; "
            f"{what} needs one on every row: fix or drop those rows, or use --folds K"
        )
    try:
        folds = rolling_folds(data.times, plan.windows, plan.test_fraction)
    except ValueError as error:
        distinct = pd.unique(pd.to_datetime(data.times))
        if len(distinct) == 1:  # fewer windows or a larger share cannot help: every row is in one window
            raise InsufficientDataError(
                f"every one of the {len(data.y)} labelled rows has the same time ({pd.Timestamp(distinct[0])}), "
                f"so {what} has no earlier rows to train on: check the timestamp column, or use --folds K"
            ) from error
        raise InsufficientDataError(
            f"{error} ({len(data.y)} labelled rows at {len(distinct)} distinct times)"
        ) from error
    _enough_tested(data.y, folds, what, per_fold)
    if data.known_at is not None:
        # The deals `train` would let its tested model learn (model.split.known_at_test_start's maturity).
        folds = [known_at_cutoff(f, data.times, data.known_at, known_maturity(model)) for f in folds]
    _enough_trained(
        data.y,
        folds,
        what,
        model.min_won,
        model.min_lost,
        "Ask for a smaller --test-fraction or fewer windows, or give more labelled history.",
        known_rule(model),
    )
    return folds


def known_rule(model: ModelConfig) -> str:
    """Which earlier deals a time-ordered window does not learn (known_at_cutoff), with the setting."""
    setting = known_maturity_setting(model)
    return f"closed after it, or created less than {known_maturity(model)} days before it ({setting})"


def _enough_trained(
    y: np.ndarray, folds: list[Fold], what: str, min_won: int, min_lost: int, fix: str, maturity: str = ""
) -> None:
    """InsufficientDataError naming the counts unless every window's training rows hold min_won won and
    min_lost lost: a --test-fraction of 0.999 left 4 training rows (or 3 folds of 40 won, 27 each), leadscore
    refused in every fold, and the baselines' AUCs were reported as the answer."""
    for fold in folds:
        trained = y[fold.train]
        won, lost = int((trained == 1).sum()), int((trained == 0).sum())
        if won < min_won or lost < min_lost:
            # The earlier rows it may not learn (known_at_cutoff): without them "85 labelled rows" read as if
            # the history before the window held no more.
            unknown = (
                f"; {fold.not_known} earlier rows left out as not known on its first day: {maturity}"
                if fold.not_known
                else ""
            )
            raise InsufficientDataError(
                f"too little labelled data for {what}: {fold.name} trains on {len(trained)} labelled rows "
                f"({won} won, {lost} lost{unknown}), and training needs at least model.min_won={min_won} and "
                f"model.min_lost={min_lost}. {fix}"
            )


def _enough_tested(y: np.ndarray, folds: list[Fold], what: str, per_fold: int) -> None:
    """InsufficientDataError naming the counts unless the tested rows hold `per_fold` won and lost rows per
    window: 400 windows of 3 rows each would print 400 meaningless AUCs after hours of training."""
    tested = y[np.concatenate([f.test for f in folds])]
    won, lost = int((tested == 1).sum()), int((tested == 0).sum())
    need = len(folds) * per_fold
    if won < need or lost < need:
        raise InsufficientDataError(
            f"too little labelled data for {what}: the tested rows hold {won} won and {lost} lost; "
            f"{len(folds)} window(s) need at least {need} of each ({per_fold} per window, "
            "evaluate.min_test_rows_per_class). Ask for fewer windows, a larger --test-fraction, or give more "
            "labelled history."
        )


Progress = Callable[[Iterable[Fold], str, int], Iterator[Fold]]


def run_evaluate(
    data: BacktestData,
    plan: FoldPlan,
    cfg: PipelineConfig,
    *,
    source: str = "",
    progress: Progress | None = None,
) -> BacktestReport:
    """Every fold of the plan, every contender on each; metrics per fold and their means."""
    check_some_contender(data, cfg)
    try:
        folds = make_folds(data, plan, cfg)
    except InsufficientDataError as error:
        if not data.left_out and not data.warnings:
            raise
        # The counts alone ("0 won and 0 lost") hide that the rows were there and left out, or that the deals
        # stopped closing (the warnings are the data's, and were said only once the folds had run).
        said = [f"Left out before counting: {'; '.join(data.left_out)}."] if data.left_out else []
        said += [f"Also: {'; '.join(data.warnings)}."] if data.warnings else []
        raise InsufficientDataError(f"{error} {' '.join(said)}") from error
    contenders = contenders_for(data, cfg.evaluate)
    notes = [*data.left_out, *data.warnings]
    if "catboost_default" in cfg.evaluate.contenders and "catboost_default" not in contenders:
        notes.append("CatBoost is not installed (pip install -e .[bench]): left out")
    if "points_model" in cfg.evaluate.contenders and not data.with_points:
        notes.append(
            "points_model left out: its rules read the activities of CRM tables, which an export has not"
        )
    iterator: Iterable[Fold] = (
        progress(folds, f"{plan.describe()}", len(folds)) if progress is not None else folds
    )
    results = [evaluate_fold(data, fold, cfg.model, cfg.evaluate, contenders) for fold in iterator]
    if all(result.skipped for result in results):  # nothing measured: not an answer to exit 0 with
        raise InsufficientDataError(
            f"every one of the {len(results)} test windows was skipped, so no contender was measured ("
            + "; ".join(f"{r.fold.name}: {r.skipped}" for r in results)
            + "). Ask for fewer windows or a larger --test-fraction, so that each window holds won and lost rows."
        )
    check_measured(results)
    for result in results:
        if result.skipped:
            notes.append(f"{result.fold.name} skipped: {result.skipped}")
        for name, reason in result.refused.items():
            notes.append(f"{result.fold.name}: {name} refused to train: {reason}")
    return BacktestReport(
        plan=plan,
        counts=data.counts(),
        contenders=contenders,
        results=results,
        mean=mean_metrics(results),
        source=source,
        notes=notes,
    )


def check_some_contender(data: BacktestData, cfg: PipelineConfig) -> None:
    """ConfigError unless evaluate.contenders leaves one to run on these data: `[points_model]` on an export
    (the points model needs CRM activities) or `[catboost_default]` without CatBoost trained nothing and
    exited 0 with an empty table."""
    if any(name != "oracle" for name in contenders_for(data, cfg.evaluate)):
        return
    why = []
    if "points_model" in cfg.evaluate.contenders and not data.with_points:
        why.append("points_model needs the activities of CRM tables, which a flat export has not")
    if "catboost_default" in cfg.evaluate.contenders:
        why.append("catboost_default needs CatBoost, which is not installed (pip install -e .[bench])")
    raise ConfigError(
        f"setting evaluate.contenders ({', '.join(cfg.evaluate.contenders)}) leaves no contender to run on "
        f"these data: {'; '.join(why)}; add one that applies, e.g. --set "
        "'evaluate.contenders=[leadscore, logistic_regression]'"
    )


def check_measured(results: list[FoldResult]) -> None:
    """InsufficientDataError (NoSignalError when that was every refusal) unless some contender other than the
    oracle was measured on some fold: `[leadscore]` on data without signal refused on every fold and exited 0
    with an empty table."""
    if any(set(result.metrics) - {"oracle"} for result in results):
        return
    refusals = [
        f"{result.fold.name}, {name}: {reason.rstrip('.')}"
        for result in results
        for name, reason in result.refused.items()
        if not result.skipped
    ]
    if not refusals:  # every fold skipped: said below with each fold's reason
        return
    error = NoSignalError if all(": NoSignalError: " in r for r in refusals) else InsufficientDataError
    others = f"; likewise {len(refusals) - 1} more refusal(s) on the other folds" if len(refusals) > 1 else ""
    raise error(
        f"no contender was measured on any of the {len(results)} folds: each refused to train ({refusals[0]}"
        f"{others}). Add a baseline to evaluate.contenders to compare against, or give more labelled history."
    )


def combined_leak(
    report: BacktestReport, data: BacktestData, spec: ExportSpec, leak_auc: float | None
) -> str | None:
    """Why an export's backtest is no answer, as `train` refuses its model (features.leak_audit.labels_together):
    a contender (leadscore or any baseline, the oracle aside) told won from lost with a mean AUC of
    model.leak_auc or more over the folds, so the columns together give the outcome away. Evaluate showed
    AUC 1.000 as a measurement and exited 0 (with evaluate.contenders [logistic_regression, lightgbm_default],
    still after leadscore's check was added). None otherwise."""
    aucs = {
        name: float(mean["roc_auc"])
        for name, mean in report.mean.items()
        if name != "oracle" and not math.isnan(mean["roc_auc"])
    }
    if leak_auc is None or not aucs:
        return None
    best = max(aucs, key=lambda name: aucs[name])
    return labels_together(data.frame, data.y, spec, aucs[best], leak_auc, model=best)


# Output --------------------------------------------------------------------------------------------------


def write_results(report: BacktestReport, path: Path) -> Path:
    """The report as JSON, written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return path


def mean_table(report: BacktestReport, results: list[FoldResult] | None = None) -> pd.DataFrame:
    """One row per contender: mean ROC AUC (and its spread), PR AUC, log loss, ECE, folds counted, and the
    AUC of every fold; over `results` only when given (the folds every contender measured)."""
    listed = report.results if results is None else results
    means = report.mean if results is None else mean_metrics(results)
    rows = []
    for name in report.contenders:
        mean = means.get(name)
        # Every fold in its place: leaving skipped ones out put window 2's AUC first, read as window 1's.
        per_fold = [
            "skipped" if r.skipped else f"{r.metrics[name]['roc_auc']:.3f}" if name in r.metrics else "-"
            for r in listed
        ]
        rows.append(
            {
                "contender": name,
                "roc_auc": mean["roc_auc"] if mean else float("nan"),
                "auc_std": mean["roc_auc_std"] if mean else float("nan"),
                "pr_auc": mean["pr_auc"] if mean else float("nan"),
                "log_loss": mean["log_loss"] if mean else float("nan"),
                "ece": mean["ece"] if mean else float("nan"),
                "folds": int(mean["folds"]) if mean else 0,
                "AUC per fold": ", ".join(per_fold),
            }
        )
    return pd.DataFrame(rows)


def shown_means(table: pd.DataFrame) -> pd.DataFrame:
    """mean_table for the console: without the AUC's spread when no contender has one (one fold or window,
    e.g. --out-of-time: a column of empty cells)."""
    return table.drop(columns=["auc_std"]) if table["auc_std"].isna().all() else table


def fold_table(report: BacktestReport) -> pd.DataFrame:
    """One row per fold: its size, the earlier rows it did not train on when some fold has them (their outcome
    came after its test window began: `n_not_known` in the JSON; the console left 126 of 386 labelled rows
    unaccounted for), its test window when cut by time, and its status."""
    rows = []
    not_known = any(result.fold.not_known for result in report.results)
    for result in report.results:
        fold = result.fold
        row: dict[str, Any] = {"fold": fold.name, "train rows": len(fold.train)}
        if not_known:
            row["earlier, not known yet"] = fold.not_known
        row |= {"test rows": len(fold.test), "test won share": result.test_won_share}
        if fold.test_start is not None and fold.test_end is not None:
            row["test window"] = f"{fold.test_start:%Y-%m-%d} .. {fold.test_end:%Y-%m-%d}"
        row["status"] = result.status
        rows.append(row)
    return pd.DataFrame(rows)


def tested_note(plan: FoldPlan, tested: int, rows: int) -> str:
    """The share of the labelled rows a time-ordered plan really tested, when it is not the share asked:
    windows are cut between distinct times, and rows sharing a time stay in one window."""
    if plan.folds or not rows or abs(tested / rows - plan.test_fraction) < 0.05:
        return ""
    return (
        f"; {tested / rows:.0%} of the labelled rows were tested: windows are cut between distinct times, "
        "and rows sharing a time stay in one window"
    )


def print_report(report: BacktestReport) -> None:
    """The folds, the contenders' means (with each fold's AUC) and what was skipped or refused."""
    from pipelines.console import console, frame_table

    counts = report.counts
    tested = tested_note(report.plan, report.window_rows, counts["rows"])
    console.print(
        f"{report.source or 'data'}: {counts['rows']:,} labelled rows ({counts['won']:,} won, "
        f"{counts['lost']:,} lost); {report.plan.describe()}{tested}"
    )
    console.print(frame_table(fold_table(report), title="folds"))
    console.print(
        frame_table(
            shown_means(mean_table(report)),
            title="mean over folds (ROC AUC and PR AUC rank; log loss and ECE of the probabilities)",
        )
    )
    same = report.same_folds
    if same:  # some contender refused folds the others measured: its mean is over other test windows
        names = ", ".join(result.fold.name for result in same)
        console.print(
            frame_table(
                shown_means(mean_table(report, same)),
                title=f"the same folds for every contender ({names}): compare the contenders here",
            )
        )
    for note in report.notes:
        console.print(note, style="yellow")
