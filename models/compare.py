"""Train the baselines beside the conversion model and evaluate every contender on the same test window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.icp import guarded_grades
from models.baselines import LogisticBaseline, PointsModel, fit_logistic_regression
from models.config import ModelConfig
from models.evaluate import (
    assign_grades,
    compare_models,
    conversion_by,
    gains_table,
    oracle_auc,
    reliability_table,
    segment_metrics,
)
from models.splits import Split
from models.train import TrainedModel

SEGMENT_COLUMNS = ("industry", "region", "lead_source")


@dataclass
class Baselines:
    points: PointsModel | None  # None for a flat export: the points rules need the event features
    logistic: LogisticBaseline


@dataclass
class Evaluation:
    """Everything measured on the test window, as frames and dicts (the card and MLflow read these)."""

    comparison: pd.DataFrame  # one row per contender
    gains: pd.DataFrame
    points_gains: pd.DataFrame
    reliability: pd.DataFrame
    by_grade: pd.DataFrame
    by_tier: pd.DataFrame
    segments: pd.DataFrame
    test_scores: pd.DataFrame  # lead_id, deal_id, snapshot_at, won, grade, model, points, ... probabilities
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self, contender: str = "model") -> dict[str, float]:
        row = self.comparison.set_index("model").loc[contender]
        return {k: float(v) for k, v in row.items()}


def fit_baselines(
    frame: pd.DataFrame,
    y: np.ndarray,
    split: Split,
    feature_names: list[str],
    categorical: list[str],
    cfg: ModelConfig,
    with_points: bool = True,
) -> Baselines:
    """The points model (calibrated) and logistic regression, fitted on the rows the model learns from: the
    split's train and validation windows (never the test window)."""
    learn = np.sort(np.concatenate([split.train, split.valid]))
    rows, y_learn = frame.iloc[learn], y[learn]
    points = PointsModel(cfg.points).fit(rows, y_learn, seed=cfg.seed) if with_points else None
    logistic = fit_logistic_regression(
        rows,
        y_learn,
        feature_names,
        categorical,
        cfg.seed,
        c=cfg.logistic_c,
        min_frequency=cfg.logistic_min_frequency,
        clip=cfg.logistic_clip,
    )
    return Baselines(points=points, logistic=logistic)


def scoring_grades(p: np.ndarray, thresholds: dict[str, float], test: pd.DataFrame) -> pd.Series:
    """The test rows' grades as scoring gives them: a disqualified row (kept in training when
    icp.exclude_disqualified_in_training is off) is D whatever its score."""
    grades = assign_grades(p, thresholds)
    if "disqualified" not in test.columns:
        return grades
    disqualified = test["disqualified"].fillna(False).astype(bool).to_numpy()
    return pd.Series(guarded_grades(grades.to_numpy(), disqualified), name="grade", dtype="str")


def evaluate_on_test(
    frame: pd.DataFrame,
    y: np.ndarray,
    split: Split,
    model: TrainedModel,
    baselines: Baselines,
    cfg: ModelConfig,
    true_probability: np.ndarray | None = None,
    champion_probability: np.ndarray | None = None,
) -> Evaluation:
    """Metrics of model, points model, logistic regression (and champion, oracle) on the same test rows."""
    test = frame.iloc[split.test]
    y_test = y[split.test]
    p_model = model.predict_proba(test)
    predictions = {
        "model": p_model,
    }
    scores = {}
    if baselines.points is not None:
        predictions["points_model"] = baselines.points.predict_proba(test)
        scores["points_model"] = baselines.points.score(test).to_numpy()
    predictions["logistic_regression"] = baselines.logistic.predict_proba(test)
    if champion_probability is not None:
        predictions["champion"] = champion_probability
    if true_probability is not None:
        predictions["oracle"] = true_probability[split.test]
    comparison = compare_models(
        y_test,
        predictions,
        scores=scores,
        bootstrap_rounds=cfg.bootstrap_rounds,
        seed=cfg.seed,
        ece_bins=cfg.ece_bins,
    )
    grades = scoring_grades(p_model, model.grade_thresholds, test)
    segment_columns = [c for c in SEGMENT_COLUMNS if c in test.columns]
    segments = (
        segment_metrics(
            y_test, p_model, test[segment_columns].reset_index(drop=True), min_rows=cfg.segment_min_rows
        )
        if segment_columns
        else pd.DataFrame()
    )
    test_scores = pd.DataFrame(
        {
            "lead_id": test["lead_id"].to_numpy(),
            "deal_id": test["deal_id"].to_numpy() if "deal_id" in test.columns else None,
            "snapshot_at": test["snapshot_at"].to_numpy(),
            "won": y_test,
            "grade": grades.to_numpy(),
            **{name: values for name, values in predictions.items()},
            "points": scores.get("points_model"),
        }
    )
    extra: dict[str, Any] = {}
    if true_probability is not None:
        extra["oracle_auc"] = oracle_auc(y_test, true_probability[split.test])
    return Evaluation(
        comparison=comparison,
        gains=gains_table(y_test, p_model),
        points_gains=gains_table(y_test, scores["points_model"]) if scores else pd.DataFrame(),
        reliability=reliability_table(y_test, p_model, cfg.ece_bins),
        by_grade=conversion_by(y_test, grades),
        by_tier=conversion_by(y_test, test["fit_tier"]) if "fit_tier" in test.columns else pd.DataFrame(),
        segments=segments,
        test_scores=test_scores,
        extra=extra,
    )
