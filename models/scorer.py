"""The scorer: features, ICP guardrail, calibrated model, grades and reasons, bundled as one object.

Training builds it; the MLflow artifact pickles it; batch, online and Spark scoring all call it. That is
what makes every kind of scoring run the one feature implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import build_features, feature_groups, scoring_snapshots
from features.config import FeatureConfig, ICPConfig
from features.frames import frame_of
from features.icp import apply_icp, guarded_grades, guarded_ranks
from models.evaluate import grade_labels
from models.explain import concept_contributions, top_reasons
from models.train import TrainedModel

SCORE_COLUMNS = (
    "lead_id",
    "as_of",
    "score",
    "grade",
    "rank_score",
    "fit_tier",
    "intent_band",
    "disqualified",
    "disqualify_reasons",
    "disqualify_detail",
    "reasons",
    "reasons_positive",
    "reasons_negative",
    "fit_contribution",
    "intent_contribution",
    "model_name",
    "model_version",
)
INTENT_BANDS = ("low", "medium", "high")


@dataclass
class LeadScorer:
    """Everything needed to score a lead the way the model was trained."""

    features: FeatureConfig
    icp: ICPConfig
    model: TrainedModel
    intent_cutpoints: tuple[float, float] = (0.0, 0.5)  # intent contribution (log-odds) for medium and high
    positive_reasons: int = 3
    negative_reasons: int = 2
    model_name: str = "leadscore"
    model_version: str = ""

    @property
    def groups(self) -> dict[str, list[str]]:
        return feature_groups(self.features)

    def feature_frame(self, tables: dict[str, pd.DataFrame], snapshots: pd.DataFrame) -> pd.DataFrame:
        """Features and ICP columns for the snapshots: the one implementation."""
        return feature_frame(tables, snapshots, self.features, self.icp)

    def score_tables(
        self, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, reasons: bool = True
    ) -> pd.DataFrame:
        """Score every lead of `tables["leads"]` as of `as_of`."""
        snapshots = scoring_snapshots(tables["leads"], as_of)
        return self.score_frame(self.feature_frame(tables, snapshots), reasons=reasons)

    def score_frame(self, frame: pd.DataFrame, reasons: bool = True) -> pd.DataFrame:
        """Scores for a frame of features + ICP columns (one row per snapshot).

        Works on arrays and builds the output frame once: one online lead must not pay pandas' per-call
        overhead a few dozen times.
        """
        if reasons:
            contributions = self.model.contributions(frame)
            raw = contributions.to_numpy().sum(axis=1)
        else:
            raw = self.model.predict_raw(frame)
        score = self.model.calibrator.predict(raw)
        disqualified = frame["disqualified"].to_numpy(dtype=bool)
        columns: dict[str, object] = {
            "lead_id": frame["lead_id"].to_numpy(dtype=object),
            "as_of": pd.to_datetime(frame["snapshot_at"]),
            "score": score,
            "grade": guarded_grades(grade_labels(score, self.model.grade_thresholds), disqualified),
            "rank_score": guarded_ranks(score, disqualified),
            "fit_tier": frame["fit_tier"],
            "intent_band": pd.NA,
            "disqualified": disqualified,
            "disqualify_reasons": frame["disqualify_reasons"],
            "disqualify_detail": frame["disqualify_detail"],
            "reasons": "",
            "reasons_positive": "",
            "reasons_negative": "",
            "fit_contribution": np.nan,
            "intent_contribution": np.nan,
            "model_name": self.model_name,
            "model_version": str(self.model_version),
        }
        if reasons:
            columns |= self._explained(frame, contributions, disqualified)
        return frame_of({name: columns[name] for name in SCORE_COLUMNS}, frame.index)

    def _explained(
        self, frame: pd.DataFrame, contributions: pd.DataFrame, disqualified: np.ndarray
    ) -> dict[str, object]:
        """The reason columns: fit and intent contributions, intent band and the reasons in words."""
        groups = self.groups
        fit = group_contribution(contributions, groups["fit"])
        intent = group_contribution(contributions, groups["intent"])
        by_concept = concept_contributions(contributions, self.model.feature_names)
        words = top_reasons(frame, by_concept, self.positive_reasons, self.negative_reasons)
        return {
            "intent_band": intent_band(intent, self.intent_cutpoints),
            "reasons": _with_disqualification(
                words["reasons"].to_numpy(dtype=object),
                frame["disqualify_detail"].to_numpy(dtype=object),
                disqualified,
            ),
            "reasons_positive": words["reasons_positive"].to_numpy(dtype=object),
            "reasons_negative": words["reasons_negative"].to_numpy(dtype=object),
            "fit_contribution": fit,
            "intent_contribution": intent,
        }


def feature_frame(
    tables: dict[str, pd.DataFrame], snapshots: pd.DataFrame, features: FeatureConfig, icp: ICPConfig
) -> pd.DataFrame:
    """Features plus the ICP guardrail's columns (fit tier, disqualification) for each snapshot."""
    frame = build_features(tables, snapshots, features, icp)
    return pd.concat([frame, apply_icp(frame, icp)], axis=1)


def intent_band(intent_contribution: np.ndarray, cutpoints: tuple[float, float]) -> np.ndarray:
    """low / medium / high from the intent features' contribution (log-odds), cut points frozen in training."""
    high, medium = intent_contribution >= cutpoints[1], intent_contribution >= cutpoints[0]
    return np.where(high, "high", np.where(medium, "medium", "low")).astype(object)


def intent_cutpoints_from(
    model: TrainedModel, reference: pd.DataFrame, intent_features: list[str]
) -> tuple[float, float]:
    """Medium from the median, high from the 80th percentile of the intent features' contribution (log-odds)
    on a reference window (the validation window)."""
    values = group_contribution(model.contributions(reference), intent_features)
    return float(np.quantile(values, 0.5)), float(np.quantile(values, 0.8))


def group_contribution(contributions: pd.DataFrame, features: list[str]) -> np.ndarray:
    """Per row, the summed contribution (log-odds) of those `features` that are among the contributions'
    columns (the fit or the intent features, say)."""
    position = {name: j for j, name in enumerate(contributions.columns)}
    return contributions.to_numpy()[:, [position[c] for c in features if c in position]].sum(axis=1)


def _with_disqualification(reasons: np.ndarray, detail: np.ndarray, disqualified: np.ndarray) -> np.ndarray:
    """A disqualified lead's reasons start with why it was disqualified."""
    out = reasons.astype(object)
    for row in np.flatnonzero(disqualified):  # a loop over the disqualified rows only
        out[row] = f"disqualified: {detail[row]}; {reasons[row]}"
    return out
