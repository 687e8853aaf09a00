"""The scorer: features, ICP guardrail, calibrated model, grades and reasons, bundled as one object.

Training builds it; the MLflow artifact pickles it; batch, online and Spark scoring all call it. That is
what makes every kind of scoring run the one feature implementation.

`Scorer` is the contract every scorer keeps: `LeadScorer` here (CRM tables) and `FlatScorer`
(models/flat_scorer.py, a flat export read with its ExportSpec). Routes never ask which one they hold: a
scorer's `input` (a `ScorerInput`) says what it reads, compares equal to the input of any scorer that reads
the same rows, and hands the pipelines' reader the right call (`read`), so that pipelines/sources.py can
build the matching source without looking at the scorer's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from features.build import build_features, feature_groups, scoring_snapshots
from features.config import FeatureConfig, ICPConfig
from features.flat import ExportSpec
from features.frames import Table, as_table, frame_of
from features.icp import guarded_grades, guarded_ranks, icp_columns
from models.coverage import feed_gap_warnings
from models.evaluate import grade_labels
from models.explain import concept_sums, reason_texts
from models.lead_input import check_frame_fields, check_lead_rows, lead_rows_to_tables
from models.score_table import SCORE_COLUMNS
from models.train import TrainedModel
from models.trend import NO_TREND

Reading = TypeVar("Reading", covariant=True)
Read = TypeVar("Read")


class InputReader(Protocol[Reading]):
    """What reads a scorer's input: one call per kind of input (pipelines/sources.py implements it)."""

    def crm_tables(self) -> Reading: ...

    def flat_export(self, spec: ExportSpec) -> Reading: ...


class ScorerInput(Protocol):
    """What a scorer reads. Two scorers with equal inputs can score each other's rows."""

    @property
    def typed_by_signature(self) -> bool:
        """Online rows are typed by the artifact's signature (an export's own columns), rather than checked
        by the lead input contract (models/lead_input.py)."""
        ...

    def describe(self) -> str:
        """The input in words, for messages: "CRM tables", "a flat export (spec 'x_education')"."""
        ...

    def read(self, reader: InputReader[Read]) -> Read:
        """The reader's answer for this kind of input."""
        ...


class Scorer(Protocol):
    """The contract of every scorer: input rows in, the score table (SCORE_COLUMNS) out."""

    model: TrainedModel
    model_name: str
    model_version: str
    model_store: (
        str  # where the model was loaded from (pipelines.tracking.load_scorer sets it; "" in process)
    )
    intent_cutpoints: tuple[float, float]

    @property
    def input(self) -> ScorerInput:
        """What it reads (CRM tables, or an export with its spec)."""
        ...

    @property
    def groups(self) -> dict[str, list[str]]:
        """The model's features by kind: "fit" and "intent"."""
        ...

    @property
    def icp(self) -> ICPConfig | None:
        """The ICP guardrail it applies (None: none, every lead qualified)."""
        ...

    def feature_frame(
        self, tables: Mapping[str, Table | pd.DataFrame], rows: Table | pd.DataFrame
    ) -> pd.DataFrame:
        """Model-ready features of `rows`: snapshots of CRM leads read against `tables`, or an export's own rows
        (which carry their facts)."""
        ...

    def scoring_features(
        self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp
    ) -> Table | pd.DataFrame:
        """The features score_tables scores: every lead of the input tables as of `as_of`."""
        ...

    def score_tables(
        self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp, reasons: bool = True
    ) -> pd.DataFrame:
        """The score table of every lead of the input tables ("leads", or an "export"), as of `as_of`."""
        ...

    def feed_gap_warnings(self, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> list[str]:
        """Sentences naming what the input's feeds stopped delivering before `as_of` (an activity type no
        longer logged, lost deals no longer sent; models.coverage.feed_gap_warnings); none for an export."""
        ...

    def score_frame(
        self, frame: Table | pd.DataFrame, reasons: bool = True, as_of_text: bool = False
    ) -> pd.DataFrame:
        """The score table of feature rows (as feature_frame builds them, with lead_id and snapshot_at)."""
        ...

    def score_request(
        self,
        rows: pd.DataFrame | list[dict[str, Any]],
        as_of: pd.Timestamp,
        reasons: bool,
        *,
        latest: pd.Timestamp,
        max_text_chars: int | None,
    ) -> dict[str, object]:
        """The score table's columns for online rows, as_of as ISO 8601 text; LeadInputError for a bad row."""
        ...


@dataclass(frozen=True)
class CrmTablesInput:
    """The input of a LeadScorer: CRM tables (accounts, leads, activities, and deals for training)."""

    typed_by_signature: bool = False

    def describe(self) -> str:
        return "CRM tables"

    def read(self, reader: InputReader[Read]) -> Read:
        return reader.crm_tables()


CRM_TABLES = CrmTablesInput()


@dataclass
class LeadScorer:
    """Everything needed to score a lead the way the model was trained (a Scorer for CRM tables)."""

    features: FeatureConfig
    icp: ICPConfig
    model: TrainedModel
    intent_cutpoints: tuple[float, float] = (0.0, 0.5)  # intent contribution (log-odds) for medium and high
    positive_reasons: int = 3
    negative_reasons: int = 2
    min_reason_contribution: float = 0.05  # log-odds a reason needs to be shown
    min_absence_contribution: float = 0.1  # log-odds a reason telling of an absence needs
    model_name: str = "leadscore"
    model_version: str = ""
    model_store: str = ""

    @property
    def input(self) -> CrmTablesInput:
        return CRM_TABLES

    @property
    def groups(self) -> dict[str, list[str]]:
        return feature_groups(self.features)

    def feature_frame(
        self, tables: Mapping[str, Table | pd.DataFrame], snapshots: Table | pd.DataFrame
    ) -> pd.DataFrame:
        """Features and ICP columns for the snapshots, as a frame (training and reports)."""
        return feature_frame(tables, snapshots, self.features, self.icp)

    def guarded_features(
        self, tables: Mapping[str, Table | pd.DataFrame], snapshots: Table | pd.DataFrame
    ) -> Table:
        """Features and ICP columns for the snapshots, as a table: what scoring reads."""
        return guarded_features(tables, snapshots, self.features, self.icp)

    def scoring_features(self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp) -> Table:
        """Features and ICP columns of every lead of `tables["leads"]` as of `as_of`."""
        return self.guarded_features(tables, scoring_snapshots(tables["leads"], as_of))

    def score_tables(
        self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp, reasons: bool = True
    ) -> pd.DataFrame:
        """Score every lead of `tables["leads"]` as of `as_of`."""
        return self.score_frame(self.scoring_features(tables, as_of), reasons=reasons)

    def feed_gap_warnings(self, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> list[str]:
        """Activity types and deal outcomes the CRM stopped delivering within the longest feature window."""
        return feed_gap_warnings(tables, as_of, max(self.features.windows_days))

    def score_request(
        self,
        rows: pd.DataFrame | list[dict[str, Any]],
        as_of: pd.Timestamp,
        reasons: bool,
        *,
        latest: pd.Timestamp,
        max_text_chars: int | None,
    ) -> dict[str, object]:
        """Online lead rows (see models/lead_input.py) checked, turned into tables and scored. A frame (in
        process, on Spark) must hold every field that feeds the score; JSON records may leave one out."""
        if isinstance(rows, pd.DataFrame):
            check_frame_fields(rows)
        checked = check_lead_rows(rows, max_text_chars=max_text_chars)
        tables, snapshots = lead_rows_to_tables(checked, as_of, latest=latest)
        features = request_features(tables, snapshots, self.features, self.icp)
        return self.score_columns(features, reasons=reasons, as_of_text=True)

    def score_frame(
        self, frame: Table | pd.DataFrame, reasons: bool = True, as_of_text: bool = False
    ) -> pd.DataFrame:
        """Scores for features + ICP columns (one row per snapshot); a frame keeps its index.

        With `as_of_text`, as_of is ISO 8601 text (for JSON and Spark).
        """
        index = frame.index if isinstance(frame, pd.DataFrame) else None
        return frame_of(self.score_columns(frame, reasons, as_of_text), index)

    def score_columns(
        self, frame: Table | pd.DataFrame, reasons: bool = True, as_of_text: bool = False
    ) -> dict[str, object]:
        """score_frame's columns, in order, as arrays (or one value for every row), before any frame is
        built: the online server writes them to JSON directly."""
        frame = as_table(frame)
        if reasons:
            contributions = self.model.contribution_values(frame)
            raw = contributions.sum(axis=1)
        else:
            raw = self.model.predict_raw(frame)
        score = self.model.calibrator.predict(raw)
        disqualified = frame["disqualified"].astype(bool)
        as_of = frame["snapshot_at"]
        columns: dict[str, object] = {
            "lead_id": frame["lead_id"].astype(object),
            "as_of": iso_seconds(as_of) if as_of_text else as_of,
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
            # arrays, not scalars: they join the other text columns' one conversion (pandas' broadcast costs)
            "model_name": np.full(len(score), self.model_name, dtype=object),
            "model_version": np.full(len(score), str(self.model_version), dtype=object),
            **NO_TREND,  # the scoring job fills the trend in against the last run (pipelines/score_job.py)
        }
        if reasons:
            columns |= self._explained(frame, contributions, disqualified)
        return {name: columns[name] for name in SCORE_COLUMNS}

    def _explained(
        self, frame: Table, contributions: np.ndarray, disqualified: np.ndarray
    ) -> dict[str, object]:
        """The reason columns: fit and intent contributions, intent band and the reasons in words."""
        names, groups = self.model.feature_names, self.groups
        fit = group_contribution(contributions, names, groups["fit"])
        intent = group_contribution(contributions, names, groups["intent"])
        sums, concepts = concept_sums(contributions, names)
        words = reason_texts(
            frame,
            sums,
            concepts,
            self.positive_reasons,
            self.negative_reasons,
            self.min_reason_contribution,
            self.min_absence_contribution,
        )
        detail = frame["disqualify_detail"]
        return {
            "intent_band": intent_band(intent, self.intent_cutpoints),
            "reasons": _with_disqualification(words[:, 2], detail, disqualified),
            "reasons_positive": words[:, 0],
            "reasons_negative": words[:, 1],
            "fit_contribution": fit,
            "intent_contribution": intent,
        }


def feature_frame(
    tables: Mapping[str, Table | pd.DataFrame],
    snapshots: Table | pd.DataFrame,
    features: FeatureConfig,
    icp: ICPConfig,
) -> pd.DataFrame:
    """guarded_features as a frame (RangeIndex), for training and reports."""
    return guarded_features(tables, snapshots, features, icp).to_frame()


def guarded_features(
    tables: Mapping[str, Table | pd.DataFrame],
    snapshots: Table | pd.DataFrame,
    features: FeatureConfig,
    icp: ICPConfig,
) -> Table:
    """Features plus the ICP guardrail's columns (fit tier, disqualification) for each snapshot."""
    built = build_features(tables, snapshots, features, icp)
    return built | icp_columns(built, icp)


def request_features(
    tables: Mapping[str, Table], snapshots: Table, features: FeatureConfig, icp: ICPConfig
) -> Table:
    """guarded_features for an online request's rows, each lead as when scored alone: the rows of a request
    (or of a Spark batch) are unrelated leads, so one is never the duplicate of another's email there (the
    duplicate-lead rule is batch scoring's); a lead's score and grade must not hang on what it was sent with."""
    built = build_features(tables, snapshots, features, icp)
    built = built | {"is_duplicate": np.zeros(built.n_rows, dtype=bool)}
    return built | icp_columns(built, icp)


def intent_band(intent_contribution: np.ndarray, cutpoints: tuple[float, float]) -> np.ndarray:
    """low / medium / high from the intent features' contribution (log-odds), cut points frozen in training."""
    high, medium = intent_contribution >= cutpoints[1], intent_contribution >= cutpoints[0]
    return np.where(high, "high", np.where(medium, "medium", "low")).astype(object)


def intent_cutpoints_from(
    model: TrainedModel, reference: pd.DataFrame, intent_features: list[str]
) -> tuple[float, float]:
    """Medium from the median, high from the 80th percentile of the intent features' contribution (log-odds)
    on a reference window (the validation window)."""
    values = group_contribution(model.contribution_values(reference), model.feature_names, intent_features)
    return float(np.quantile(values, 0.5)), float(np.quantile(values, 0.8))


def group_contribution(contributions: np.ndarray, names: list[str], features: list[str]) -> np.ndarray:
    """Per row, the summed contribution (log-odds) of those `features` that are among `names`, the columns of
    the contributions array (the fit or the intent features, say)."""
    columns = _positions_of(tuple(names), tuple(features))
    if not columns:
        return np.zeros(len(contributions))
    # A running sum, column after column, so a row's sum does not depend on how many rows are scored with it
    # (numpy's row sums round differently for one row and for many); + 0.0 as the sum started from 0 did.
    return np.cumsum(contributions[:, list(columns)], axis=1)[:, -1] + 0.0


@lru_cache(maxsize=64)
def _positions_of(names: tuple[str, ...], features: tuple[str, ...]) -> tuple[int, ...]:
    """The positions in `names` of those `features` that are among them, in the order of `features`."""
    position = {name: j for j, name in enumerate(names)}
    return tuple(position[c] for c in features if c in position)


def score_records(columns: dict[str, object]) -> list[dict[str, object]]:
    """score_columns as one dict of Python values per lead (JSON-ready; a missing text is None)."""
    size = len(np.asarray(columns["lead_id"]))
    lists = []
    for values in columns.values():
        items = values.tolist() if hasattr(values, "tolist") else [values] * size
        lists.append([None if v is pd.NA else v for v in items])
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def iso_seconds(times: object) -> np.ndarray:
    """Times as ISO 8601 text to the second (JSON and Spark carry no pandas timestamps)."""
    return np.datetime_as_string(np.asarray(times, dtype="datetime64[s]"), unit="s").astype(object)


def _with_disqualification(reasons: np.ndarray, detail: np.ndarray, disqualified: np.ndarray) -> np.ndarray:
    """A disqualified lead's reasons start with why it was disqualified."""
    out = reasons.astype(object)
    for row in np.flatnonzero(disqualified):  # a loop over the disqualified rows only
        out[row] = f"disqualified: {detail[row]}; {reasons[row]}"
    return out
