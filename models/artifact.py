"""The scoring artifact: an MLflow pyfunc around the LeadScorer (the one place that knows MLflow's format).

Input: flat lead rows (see models/lead_input.py), strings in; categories are rebuilt inside from the
training levels. Output: one row of scores and reasons per lead.
"""

from __future__ import annotations

import gc
import pickle
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from features.frames import frame_of
from models.flat_scorer import FlatScorer
from models.lead_input import (
    CLOCK_SKEW,
    LeadInputError,
    check_lead_rows,
    check_params,
    lead_rows_to_tables,
)
from models.scorer import LeadScorer, iso_seconds

SCORER_ARTIFACT = "scorer"


class LeadScoreModel(PythonModel):
    """pyfunc: lead rows in, scores with reasons out."""

    # Longest text accepted in a field (the server sets it from serving.max_text_chars; None: no cap).
    max_text_chars: int | None = None

    def __init__(self) -> None:
        self.scorer: LeadScorer | FlatScorer | None = None

    def load_context(self, context: Any) -> None:
        with open(context.artifacts[SCORER_ARTIFACT], "rb") as handle:
            self.scorer = pickle.load(handle)
        # What is loaded now lives as long as the server: keep it out of the garbage collector's full
        # passes, which otherwise walk these hundreds of thousands of objects during some requests.
        gc.freeze()

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score lead rows; a malformed row is a client error (HTTP 400 when served), never a 500."""
        assert self.scorer is not None, "load_context was not called"
        if isinstance(self.scorer, FlatScorer):  # a flat-export model takes the export's own rows
            try:
                as_of, reasons = check_params(params, latest=_now() + CLOCK_SKEW)
            except LeadInputError as error:
                raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from error
            scores = self.scorer.score_rows(model_input, as_of or _now(), reasons=reasons)
            return _with_text_times(scores)
        return frame_of(self.score_columns(model_input, params))

    def score_columns(
        self, rows: pd.DataFrame | list[dict[str, Any]], params: dict[str, Any] | None = None
    ) -> dict[str, object]:
        """predict's columns for lead rows (a frame, or JSON records as the server has them), before any
        frame is built (see LeadScorer.score_columns)."""
        assert isinstance(self.scorer, LeadScorer), "lead rows need a LeadScorer"
        now = _now()
        try:
            as_of, reasons = check_params(params, latest=now + CLOCK_SKEW)
            checked = check_lead_rows(rows, max_text_chars=self.max_text_chars)
            tables, snapshots = lead_rows_to_tables(checked, as_of or now, latest=now + CLOCK_SKEW)
        except LeadInputError as error:
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from error
        features = self.scorer.guarded_features(tables, snapshots)
        return self.scorer.score_columns(features, reasons=reasons, as_of_text=True)


def _now() -> pd.Timestamp:
    """The request's arrival, in UTC (naive, as every time inside)."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def _with_text_times(scores: pd.DataFrame) -> pd.DataFrame:
    """as_of as ISO 8601 text (JSON and Spark carry no pandas timestamps), on a fresh RangeIndex."""
    scores = scores.assign(as_of=iso_seconds(scores["as_of"]))
    return scores if scores.index.equals(pd.RangeIndex(len(scores))) else scores.reset_index(drop=True)
