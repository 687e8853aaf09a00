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
from features.icp import apply_icp, guard_grade, guarded_rank_score
from models.evaluate import assign_grades
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
        """Scores for a frame of features + ICP columns (one row per snapshot)."""
        if reasons:
            contributions = self.model.contributions(frame)
            raw = contributions.sum(axis=1).to_numpy()
        else:
            raw = self.model.predict_raw(frame)
        score = pd.Series(self.model.calibrator.predict(raw), index=frame.index)
        disqualified = frame["disqualified"].astype(bool)
        out = pd.DataFrame(
            {
                "lead_id": frame["lead_id"].astype("str"),
                "as_of": pd.to_datetime(frame["snapshot_at"]),
                "score": score,
                "grade": guard_grade(assign_grades(score, self.model.grade_thresholds), disqualified),
                "rank_score": guarded_rank_score(score, disqualified),
                "fit_tier": frame["fit_tier"],
                "disqualified": disqualified,
                "disqualify_reasons": frame["disqualify_reasons"],
                "disqualify_detail": frame["disqualify_detail"],
            },
            index=frame.index,
        )
        if reasons:
            groups = self.groups
            fit = contributions[[c for c in groups["fit"] if c in contributions.columns]].sum(axis=1)
            intent = contributions[[c for c in groups["intent"] if c in contributions.columns]].sum(axis=1)
            by_concept = concept_contributions(contributions, self.model.feature_names)
            words = top_reasons(frame, by_concept, self.positive_reasons, self.negative_reasons)
            out["intent_band"] = intent_band(intent, self.intent_cutpoints)
            out["reasons"] = _with_disqualification(
                words["reasons"], frame["disqualify_detail"], disqualified
            )
            out["reasons_positive"] = words["reasons_positive"].astype("str")
            out["reasons_negative"] = words["reasons_negative"].astype("str")
            out["fit_contribution"] = fit.to_numpy()
            out["intent_contribution"] = intent.to_numpy()
        else:
            out["intent_band"] = pd.NA
            for column in ("reasons", "reasons_positive", "reasons_negative"):
                out[column] = ""
            out["fit_contribution"] = np.nan
            out["intent_contribution"] = np.nan
        out["model_name"] = self.model_name
        out["model_version"] = str(self.model_version)
        return out[list(SCORE_COLUMNS)]


def feature_frame(
    tables: dict[str, pd.DataFrame], snapshots: pd.DataFrame, features: FeatureConfig, icp: ICPConfig
) -> pd.DataFrame:
    """Features plus the ICP guardrail's columns (fit tier, disqualification) for each snapshot."""
    frame = build_features(tables, snapshots, features, icp)
    return pd.concat([frame, apply_icp(frame, icp)], axis=1)


def intent_band(intent_contribution: pd.Series, cutpoints: tuple[float, float]) -> pd.Series:
    """low / medium / high from the intent features' contribution (log-odds), cut points frozen in training."""
    values = intent_contribution.to_numpy(dtype=float)
    band = np.where(values >= cutpoints[1], "high", np.where(values >= cutpoints[0], "medium", "low"))
    return pd.Series(band, index=intent_contribution.index, dtype="str")


def intent_cutpoints_from(
    model: TrainedModel, reference: pd.DataFrame, intent_features: list[str]
) -> tuple[float, float]:
    """Medium from the median, high from the 80th percentile of the intent features' contribution (log-odds)
    on a reference window (the validation window)."""
    contributions = model.contributions(reference)
    values = contributions[[c for c in intent_features if c in contributions.columns]].sum(axis=1).to_numpy()
    return float(np.quantile(values, 0.5)), float(np.quantile(values, 0.8))


def _with_disqualification(reasons: pd.Series, detail: pd.Series, disqualified: pd.Series) -> pd.Series:
    """A disqualified lead's reasons start with why it was disqualified."""
    prefix = "disqualified: " + detail.astype("str") + "; "
    return pd.Series(
        np.where(disqualified, prefix + reasons.astype("str"), reasons.astype("str")), index=reasons.index
    )
