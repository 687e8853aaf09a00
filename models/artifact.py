"""The scoring artifact: an MLflow pyfunc around a Scorer (the one place that knows MLflow's format).

Input: the rows the scorer reads online: lead rows (see models/lead_input.py), strings in, for CRM tables;
an export's own rows for a flat export. Categories are rebuilt inside from the training levels. Output: one
row of scores and reasons per lead.
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
from models.lead_input import CLOCK_SKEW, LeadInputError, check_params
from models.scorer import Scorer

SCORER_ARTIFACT = "scorer"


class LeadScoreModel(PythonModel):
    """pyfunc: lead rows in, scores with reasons out."""

    # Longest text accepted in a field (the server sets it from serving.max_text_chars; None: no cap).
    max_text_chars: int | None = None

    def __init__(self) -> None:
        self.scorer: Scorer | None = None

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
        return frame_of(self.score_columns(model_input, params))

    @property
    def typed_by_signature(self) -> bool:
        """Whether requests must be typed by the signature first (an export's rows) rather than checked here."""
        assert self.scorer is not None, "load_context was not called"
        return self.scorer.input.typed_by_signature

    def score_columns(
        self, rows: pd.DataFrame | list[dict[str, Any]], params: dict[str, Any] | None = None
    ) -> dict[str, object]:
        """predict's columns for the rows (a frame, or JSON records as the server has them), before any
        frame is built (see Scorer.score_request)."""
        assert self.scorer is not None, "load_context was not called"
        now = _now()
        try:
            as_of, reasons = check_params(params, latest=now + CLOCK_SKEW)
            return self.scorer.score_request(
                rows, as_of or now, reasons, latest=now + CLOCK_SKEW, max_text_chars=self.max_text_chars
            )
        except LeadInputError as error:
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from error


def _now() -> pd.Timestamp:
    """The request's arrival, in UTC (naive, as every time inside)."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None)
