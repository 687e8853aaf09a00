"""Job: train the conversion model on closed deals, compare it, log it to MLflow, register it, gate it.

Reads top to bottom as the architecture: tables -> contract -> features -> ICP guardrail -> split ->
minimum-data check -> LightGBM + calibration -> baselines -> evaluation -> scorer -> MLflow run -> registry
-> promotion gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import CATEGORICAL_FEATURES, feature_groups, training_snapshots
from features.contracts import ContractError
from features.flat import SourceSpec, build_flat_features, flat_categorical_features, flat_feature_groups
from features.icp import exclude_disqualified, win_rate_by_tier
from models.compare import Evaluation, evaluate_on_test, fit_baselines
from models.flat_scorer import FlatScorer
from models.minimum_data import check_minimum_data
from models.promotion import GateDecision
from models.scorer import LeadScorer, feature_frame, intent_cutpoints_from
from models.splits import Split, grouped_random_split, out_of_time_split, out_of_time_split_at
from models.train import train_conversion_model
from pipelines.settings import PipelineConfig
from pipelines.validate import run_validate


@dataclass
class TrainingData:
    """Closed deals as a feature frame, their labels, and what the guardrail and contract removed."""

    frame: pd.DataFrame
    y: np.ndarray
    excluded: dict[str, int]  # per ICP disqualification reason, and "total"
    too_recent: int  # closed deals left out because younger than model.maturity_days
    win_rate_by_tier: pd.DataFrame
    quarantine: pd.DataFrame
    counts: pd.DataFrame
    true_probability: np.ndarray | None


@dataclass
class TrainResult:
    scorer: LeadScorer | FlatScorer
    data: TrainingData
    split: Split
    evaluation: Evaluation
    decision: GateDecision | None = None
    run_id: str | None = None
    version: str | None = None
    card_paths: tuple[Path, Path] | None = None
    warnings: list[str] = field(default_factory=list)


def training_data(
    tables: dict[str, pd.DataFrame], cfg: PipelineConfig, truth: pd.DataFrame | None
) -> TrainingData:
    """Validate, build the features of every closed deal at its creation, apply and report the guardrail."""
    validation = run_validate(tables, date_formats=cfg.input)
    valid = validation.valid
    deals = valid["deals"]
    closed, too_recent = mature_closed_deals(deals, cfg.model.maturity_days)
    frame = feature_frame(valid, training_snapshots(closed), cfg.features, cfg.icp)
    frame["outcome"] = closed["outcome"].to_numpy()
    frame["account_id"] = closed["account_id"].to_numpy()
    by_tier = win_rate_by_tier(frame)
    kept, excluded = exclude_disqualified(frame, cfg.icp)
    kept = kept.reset_index(drop=True)
    true_p = None
    if truth is not None:
        true_p = kept["deal_id"].map(truth.set_index("deal_id")["true_probability"]).to_numpy(dtype=float)
        true_p = None if np.isnan(true_p).any() else true_p
    return TrainingData(
        frame=kept,
        y=(kept["outcome"] == "won").to_numpy(dtype=int),
        excluded=excluded,
        too_recent=too_recent,
        win_rate_by_tier=by_tier,
        quarantine=validation.quarantine,
        counts=validation.counts(),
        true_probability=true_p,
    )


def mature_closed_deals(deals: pd.DataFrame, maturity_days: int) -> tuple[pd.DataFrame, int]:
    """Won and lost deals created at least `maturity_days` before the newest deal; and how many were too recent."""
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    if len(deals) == 0:
        return closed.reset_index(drop=True), 0
    horizon = deals["created_at"].max() - pd.Timedelta(days=maturity_days)
    mature = closed[closed["created_at"] <= horizon]
    return mature.reset_index(drop=True), len(closed) - len(mature)


def make_split(frame: pd.DataFrame, cfg: PipelineConfig) -> Split:
    """Out of time by the deal's creation (default), or grouped by account when the data has no dates."""
    split_cfg = cfg.model.split
    if split_cfg.method == "grouped_random":
        return grouped_random_split(
            frame["account_id"], split_cfg.valid_fraction, split_cfg.test_fraction, cfg.model.seed
        )
    if split_cfg.valid_start is not None and split_cfg.test_start is not None:
        return out_of_time_split_at(frame["snapshot_at"], split_cfg.valid_start, split_cfg.test_start)
    return out_of_time_split(frame["snapshot_at"], split_cfg.valid_fraction, split_cfg.test_fraction)


def train_scorer(data: TrainingData, cfg: PipelineConfig, model_name: str) -> tuple[LeadScorer, Split]:
    """Fit the calibrated model on the split and bundle it as the scorer."""
    check_minimum_data(data.y, cfg.model.min_won, cfg.model.min_lost, window="usable history")
    split = make_split(data.frame, cfg)
    groups = feature_groups(cfg.features)
    names = groups["fit"] + groups["intent"]
    categorical = [c for c in CATEGORICAL_FEATURES if c in names]
    model = train_conversion_model(data.frame, data.y, names, categorical, split, cfg.model)
    scorer = LeadScorer(
        features=cfg.features,
        icp=cfg.icp,
        model=model,
        positive_reasons=cfg.scoring.positive_reasons,
        negative_reasons=cfg.scoring.negative_reasons,
        model_name=model_name,
    )
    scorer.intent_cutpoints = intent_cutpoints_from(model, data.frame.iloc[split.valid], groups["intent"])
    return scorer, split


def evaluate_scorer(
    data: TrainingData,
    scorer: LeadScorer,
    split: Split,
    cfg: PipelineConfig,
    champion: LeadScorer | None,
    tables: dict[str, pd.DataFrame] | None,
) -> Evaluation:
    """Baselines on the same split; every contender (and the champion, if any) on the same test rows."""
    groups = scorer.groups
    names = groups["fit"] + groups["intent"]
    categorical = [c for c in CATEGORICAL_FEATURES if c in names]
    baselines = fit_baselines(data.frame, data.y, split, names, categorical, cfg.model)
    champion_p = None
    if champion is not None and tables is not None:
        test = data.frame.iloc[split.test]
        champion_frame = champion.feature_frame(tables, test[["deal_id", "lead_id", "snapshot_at"]])
        champion_p = champion.model.predict_proba(champion_frame)
    return evaluate_on_test(
        data.frame, data.y, split, scorer.model, baselines, cfg.model, data.true_probability, champion_p
    )


def run_train(
    tables: dict[str, pd.DataFrame],
    cfg: PipelineConfig,
    *,
    truth: pd.DataFrame | None = None,
    register: bool = True,
    force_reason: str | None = None,
    source: str = "",
    config_path: Path | None = None,
    trigger: str = "leadscore train",
    card_dir: Path | None = None,
) -> TrainResult:
    """Train, evaluate, and (with `register`) log, register and gate the model in MLflow, and write its card."""
    from pipelines import tracking

    data = training_data(tables, cfg, truth)
    scorer, split = train_scorer(data, cfg, cfg.registry.model_name)
    champion = tracking.load_champion(cfg.registry.model_name) if register else None
    evaluation = evaluate_scorer(data, scorer, split, cfg, champion, tables)
    result = TrainResult(scorer=scorer, data=data, split=split, evaluation=evaluation)
    if register:
        tracking.log_training_run(
            result,
            cfg,
            tables,
            source=source,
            config_path=config_path,
            force_reason=force_reason,
            trigger=trigger,
        )
        if cfg.registry.model_card:
            attach_card(result, cfg, tables, champion, card_dir)
    return result


def attach_card(
    result: TrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    previous: Any,
    card_dir: Path | None,
) -> None:
    """Write the model card of the new version and log it to its run; a failure warns, it does not undo the run."""
    from pipelines.card import card_after_training

    try:
        result.card_paths = card_after_training(result, cfg, tables, previous, out_dir=card_dir)
    except Exception as error:  # noqa: BLE001 - the version is registered and gated already
        result.warnings.append(f"the model card could not be written: {error}")


def run_train_flat(
    rows: pd.DataFrame,
    spec: SourceSpec,
    cfg: PipelineConfig,
    *,
    register: bool = True,
    force_reason: str | None = None,
    source: str = "",
    trigger: str = "leadscore train",
) -> TrainResult:
    """Train on a flat lead export described by a source spec: the same model, calibration and gate.

    Out of time on the spec's timestamp when it has one, else a random split grouped by the lead id. There
    is no points model (its rules need the event features): the first model must beat logistic regression.
    """
    from pipelines import tracking

    features, label = build_flat_features(rows, spec)
    if label is None:
        raise ContractError(f"source {spec.name!r}: the export has no label column {spec.label_column!r}")
    id_name = spec.feature_name(spec.id_column)
    times = features[spec.feature_name(spec.timestamp_column)] if spec.timestamp_column else pd.NaT
    frame = features.assign(
        lead_id=features[id_name].astype("str"), snapshot_at=times, account_id=features[id_name]
    )
    y = label.to_numpy(dtype=int)
    check_minimum_data(y, cfg.model.min_won, cfg.model.min_lost, window="usable history")
    method = "out_of_time" if spec.timestamp_column else "grouped_random"
    split_cfg = cfg.model.split.model_copy(update={"method": method})
    split = make_split(
        frame, cfg.model_copy(update={"model": cfg.model.model_copy(update={"split": split_cfg})})
    )
    groups = flat_feature_groups(spec)
    names = groups["fit"] + groups["intent"]
    categorical = [c for c in flat_categorical_features(spec) if c in names]
    model = train_conversion_model(frame, y, names, categorical, split, cfg.model)
    scorer = FlatScorer(
        spec=spec,
        model=model,
        positive_reasons=cfg.scoring.positive_reasons,
        negative_reasons=cfg.scoring.negative_reasons,
        model_name=cfg.registry.model_name,
    )
    scorer.intent_cutpoints = intent_cutpoints_from(model, frame.iloc[split.valid], groups["intent"])
    baselines = fit_baselines(frame, y, split, names, categorical, cfg.model, with_points=False)
    champion = tracking.load_champion(cfg.registry.model_name) if register else None
    champion_p = None
    if isinstance(champion, FlatScorer) and champion.spec == spec:
        champion_p = champion.model.predict_proba(champion.feature_frame(rows.iloc[frame.index[split.test]]))
    evaluation = evaluate_on_test(frame, y, split, model, baselines, cfg.model, None, champion_p)
    empty = pd.DataFrame()
    data = TrainingData(
        frame=frame,
        y=y,
        excluded={},
        too_recent=0,
        win_rate_by_tier=empty,
        quarantine=empty,
        counts=pd.DataFrame(
            {
                "table": [spec.name],
                "read": [len(rows)],
                "valid": [len(frame)],
                "quarantined": [0],
                "accounted": [True],
            }
        ),
        true_probability=None,
    )
    result = TrainResult(scorer=scorer, data=data, split=split, evaluation=evaluation)
    if register:
        tracking.log_training_run(
            result,
            cfg,
            {"export": rows},
            source=source,
            config_path=None,
            force_reason=force_reason,
            trigger=trigger,
        )
        if cfg.registry.model_card:
            previous = champion if isinstance(champion, FlatScorer) and champion.spec == spec else None
            attach_card(result, cfg, {}, previous, None)
    return result


def summary_table(evaluation: Evaluation) -> pd.DataFrame:
    """The short comparison printed at the end of training: AUC (interval), PR AUC, Brier, ECE, lift."""
    table = evaluation.comparison[
        [
            "model",
            "roc_auc",
            "roc_auc_low",
            "roc_auc_high",
            "pr_auc",
            "brier",
            "ece",
            "lift_top10",
            "capture_top20",
        ]
    ].copy()
    return table.rename(
        columns={"roc_auc_low": "auc_low", "roc_auc_high": "auc_high", "capture_top20": "wins_in_top20%"}
    )
