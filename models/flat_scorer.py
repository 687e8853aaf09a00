"""The scorer for a flat lead export (one row per lead, engagement already aggregated, an export spec).

It keeps the Scorer contract of models/scorer.py, so batch, online and the card treat it as they treat the
CRM-table scorer. A flat export carries no ICP attributes in the contract's shape, so the guardrail is not
applied (fit_tier is empty and no lead is disqualified); its reasons name the export's own columns and values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.config import ICPConfig
from features.export_contract import EXPORT_TABLE  # a flat export's name among a scorer's input tables
from features.flat import ExportSpec, build_flat_features, flat_feature_groups, season_at
from features.frames import Table
from models.evaluate import assign_grades
from models.explain import join_nonempty
from models.scorer import SCORE_COLUMNS, InputReader, Read, group_contribution, intent_band, iso_seconds
from models.train import TrainedModel


@dataclass(frozen=True)
class ExportInput:
    """The input of a FlatScorer: rows of a flat export, read with its spec."""

    spec: ExportSpec
    typed_by_signature: bool = True

    def describe(self) -> str:
        return f"a flat export (spec {self.spec.name!r})"

    def read(self, reader: InputReader[Read]) -> Read:
        return reader.flat_export(self.spec)


@dataclass
class FlatScorer:
    """Everything needed to score rows of a flat export the way the model was trained (a Scorer)."""

    spec: ExportSpec
    model: TrainedModel
    intent_cutpoints: tuple[float, float] = (0.0, 0.5)
    positive_reasons: int = 3
    negative_reasons: int = 2
    model_name: str = "leadscore"
    model_version: str = ""

    @property
    def input(self) -> ExportInput:
        return ExportInput(self.spec)

    @property
    def groups(self) -> dict[str, list[str]]:
        return flat_feature_groups(self.spec)

    @property
    def icp(self) -> ICPConfig | None:
        return None

    def feature_frame(
        self, tables: Mapping[str, Table | pd.DataFrame], rows: Table | pd.DataFrame
    ) -> pd.DataFrame:
        """Model-ready features of raw export rows (placeholders to missing, leaky columns gone); an export's
        rows carry their own facts, so `tables` adds nothing."""
        # Scoring needs no label: an open row's label is empty, which training would refuse.
        unlabelled = _frame(rows).drop(columns=[self.spec.label_column], errors="ignore")
        return build_flat_features(unlabelled, self.spec)[0]

    def score_tables(
        self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp, reasons: bool = True
    ) -> pd.DataFrame:
        """Scores for the raw rows of the export, as of `as_of`."""
        features = season_at(self.feature_frame(tables, tables[EXPORT_TABLE]), self.spec, as_of)
        return self.score_frame(features.assign(snapshot_at=pd.Timestamp(as_of)), reasons)

    def score_request(
        self,
        rows: pd.DataFrame | list[dict[str, Any]],
        as_of: pd.Timestamp,
        reasons: bool,
        *,
        latest: pd.Timestamp,
        max_text_chars: int | None,
    ) -> dict[str, object]:
        """Export rows (typed by the artifact's signature) scored, as_of as ISO 8601 text, on a RangeIndex."""
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows)
        scores = self.score_tables({EXPORT_TABLE: frame}, as_of, reasons)
        scores = scores.assign(as_of=iso_seconds(scores["as_of"]))
        if not scores.index.equals(pd.RangeIndex(len(scores))):
            scores = scores.reset_index(drop=True)
        return dict(scores.items())

    def score_frame(
        self, frame: Table | pd.DataFrame, reasons: bool = True, as_of_text: bool = False
    ) -> pd.DataFrame:
        """Scores for feature rows (as feature_frame builds them, plus snapshot_at: the as-of of each row)."""
        frame = _frame(frame)
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
                "as_of": iso_seconds(frame["snapshot_at"]) if as_of_text else frame["snapshot_at"],
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


def _frame(rows: Table | pd.DataFrame) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else rows.to_frame()


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
            "reasons": join_nonempty(signed, "; ", n),
            "reasons_positive": join_nonempty(pos, "; ", n),
            "reasons_negative": join_nonempty(neg, "; ", n),
        },
        index=frame.index,
    )
