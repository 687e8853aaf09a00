"""The scorer for a flat lead export (one row per lead, engagement already aggregated, a source spec).

Same output columns as the event-table scorer, so batch, online and the card treat both alike. A flat export
carries no ICP attributes in the contract's shape, so the guardrail is not applied (fit_tier is empty and no
lead is disqualified); its reasons name the export's own columns and values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.flat import SourceSpec, build_flat_features, flat_feature_groups
from models.evaluate import assign_grades
from models.explain import join_nonempty as _combine
from models.scorer import SCORE_COLUMNS, group_contribution, intent_band
from models.train import TrainedModel


@dataclass
class FlatScorer:
    """Everything needed to score rows of a flat export the way the model was trained."""

    spec: SourceSpec
    model: TrainedModel
    intent_cutpoints: tuple[float, float] = (0.0, 0.5)
    positive_reasons: int = 3
    negative_reasons: int = 2
    model_name: str = "leadscore"
    model_version: str = ""

    @property
    def groups(self) -> dict[str, list[str]]:
        return flat_feature_groups(self.spec)

    def feature_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Model-ready features of raw export rows (placeholders to missing, leaky columns gone)."""
        return build_flat_features(rows, self.spec)[0]

    def score_rows(self, rows: pd.DataFrame, as_of: pd.Timestamp, reasons: bool = True) -> pd.DataFrame:
        """Scores for raw export rows."""
        return self.score_frame(self.feature_frame(rows), as_of, reasons)

    def score_frame(self, frame: pd.DataFrame, as_of: pd.Timestamp, reasons: bool = True) -> pd.DataFrame:
        contributions = self.model.contributions(frame)
        names = self.model.feature_names
        score = pd.Series(
            self.model.calibrator.predict(contributions.sum(axis=1).to_numpy()), index=frame.index
        )
        groups = self.groups
        values = contributions.to_numpy()
        fit = group_contribution(values, names, groups["fit"])
        intent = group_contribution(values, names, groups["intent"])
        labels = {self.spec.feature_name(c): c for c in [*self.spec.fit_columns, *self.spec.intent_columns]}
        words = flat_reasons(
            frame, contributions[names], self.positive_reasons, self.negative_reasons, labels
        )
        out = pd.DataFrame(
            {
                "lead_id": frame[self.spec.feature_name(self.spec.id_column)].astype("str"),
                "as_of": pd.Timestamp(as_of),
                "score": score,
                "grade": assign_grades(score, self.model.grade_thresholds),
                "rank_score": score,
                "fit_tier": "",
                "intent_band": intent_band(intent, self.intent_cutpoints),
                "disqualified": False,
                "disqualify_reasons": "",
                "disqualify_detail": "",
                **{column: words[column] for column in ("reasons", "reasons_positive", "reasons_negative")},
                "fit_contribution": fit,
                "intent_contribution": intent,
                "model_name": self.model_name,
                "model_version": str(self.model_version),
            },
            index=frame.index,
        )
        if not reasons:
            out[["reasons", "reasons_positive", "reasons_negative"]] = ""
        return out[list(SCORE_COLUMNS)]


def _value_words(frame: pd.DataFrame, column: str, label: str) -> np.ndarray:
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        text = values.map(lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}", na_action="ignore")
    else:
        text = values.astype("str")
    return (label + ": " + text.where(values.notna(), "not given")).to_numpy(dtype=object)


def flat_reasons(
    frame: pd.DataFrame, contributions: pd.DataFrame, positive: int, negative: int, labels: dict[str, str]
) -> pd.DataFrame:
    """Top positive and negative columns per row, as 'Export column: value' sentences."""
    values = contributions.to_numpy(dtype=float)
    sentences = np.column_stack([_value_words(frame, c, labels.get(c, c)) for c in contributions.columns])
    order = np.argsort(-values, axis=1, kind="stable")
    rows = np.arange(len(values))[:, None]
    ranked, text = values[rows, order], sentences[rows, order]
    pos = [np.where(ranked[:, k] >= 0.02, text[:, k], "") for k in range(min(positive, values.shape[1]))]
    neg = [
        np.where(ranked[:, -1 - k] <= -0.02, text[:, -1 - k], "")
        for k in range(min(negative, values.shape[1]))
    ]
    n = len(frame)
    signed = [np.where(p == "", "", "+ " + p.astype(object)) for p in pos] + [
        np.where(p == "", "", "- " + p.astype(object)) for p in neg
    ]
    return pd.DataFrame(
        {
            "reasons": _combine(signed, "; ", n),
            "reasons_positive": _combine(pos, "; ", n),
            "reasons_negative": _combine(neg, "; ", n),
        },
        index=frame.index,
    )
