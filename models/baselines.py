"""Baselines the conversion model must beat on the same split: the sales team's points model and logistic
regression."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from models.config import PointsConfig
from models.linear import far_values, signed_log1p
from models.train import CalibrationMethod, Calibrator, fit_calibrator, float_values

MISSING_CATEGORY = "(missing)"


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("boolean").fillna(False).astype(bool)


def _has_activity(activity: str) -> Callable[[pd.DataFrame, int], pd.Series]:
    return lambda frame, window: pd.to_numeric(frame[f"n_{activity}_{window}d"]).fillna(0) > 0


def _equals(column: str, value: str) -> Callable[[pd.DataFrame, int], pd.Series]:
    return lambda frame, window: (frame[column] == value).fillna(False).astype(bool)


# Rule name (a PointsConfig weight) -> when it fires, given the feature frame and the activity window in days.
POINT_RULES: dict[str, Callable[[pd.DataFrame, int], pd.Series]] = {
    "demo_request": _has_activity("demo_request"),
    "pricing_page": _has_activity("pricing_page"),
    "case_study": _has_activity("case_study"),
    "blog": _has_activity("blog"),
    "careers_page": _has_activity("careers_page"),
    "c_level": _equals("seniority", "c_level"),
    "free_email": _equals("email_domain_type", "free"),
    "competitor": _equals("email_domain_type", "competitor"),
    "unsubscribe": lambda frame, window: _flag(frame, "unsubscribed"),
    "inactive_60d": lambda frame, window: _flag(frame, "inactive_60d"),
}


def points_weights(weights: PointsConfig | Mapping[str, float] | None = None) -> PointsConfig:
    """A PointsConfig from a config object, a plain mapping of overrides, or the defaults."""
    if weights is None:
        return PointsConfig()
    if isinstance(weights, PointsConfig):
        return weights
    return PointsConfig.model_validate(dict(weights))


@dataclass
class PointsModel:
    """The hand-made points score (presence-based rules, see PointsConfig), plus an optional calibration of
    points to a probability so that Brier and ECE compare fairly with the conversion model. Rank metrics (AUC,
    lift) should use the raw points from `score`."""

    weights: PointsConfig = field(default_factory=PointsConfig)
    calibrator: Calibrator | None = None

    def __post_init__(self) -> None:
        self.weights = points_weights(self.weights)

    def rule_points(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Points each rule gives each lead (0 when it does not fire); rules with weight 0 are left out."""
        columns = {}
        for name, fires in POINT_RULES.items():  # ten rules, each vectorised over the leads
            weight = float(getattr(self.weights, name))
            if weight == 0:
                continue
            try:
                hit = fires(frame, self.weights.window_days)
            except KeyError as err:
                raise KeyError(f"points rule {name!r} needs feature column {err.args[0]!r}") from err
            columns[name] = np.where(hit.to_numpy(dtype=bool), weight, 0.0)
        return pd.DataFrame(columns, index=frame.index)

    def score(self, frame: pd.DataFrame) -> pd.Series:
        """Total points per lead."""
        return self.rule_points(frame).sum(axis=1).astype(float).rename("points")

    def fit(
        self,
        frame: pd.DataFrame,
        y: np.ndarray | pd.Series,
        method: CalibrationMethod = "sigmoid",
        seed: int = 0,
    ) -> PointsModel:
        """Calibrate points to a probability on the training window (sigmoid keeps the ranking unchanged)."""
        self.calibrator = fit_calibrator(self.score(frame).to_numpy(), np.asarray(y), method, seed=seed)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of winning from the points (call `fit` first)."""
        if self.calibrator is None:
            raise RuntimeError("PointsModel.predict_proba needs fit() on the training window first")
        return self.calibrator.predict(self.score(frame).to_numpy())


def clipped(x: np.ndarray, limit: float) -> np.ndarray:
    """Standardised values clipped to +-limit: an input far outside the training range (a trending series,
    a typo) moves the log-odds by at most coef * limit instead of without bound."""
    return np.clip(x, -limit, limit)


class PlaceholdersAsMissing(TransformerMixin, BaseEstimator):
    """Each column's placeholders in training (models.linear.far_values: -999999 for unknown in a tenth of the
    rows) read as missing, in training and scoring alike, as leadscore's linear part reads them: they had
    stretched the spread the baseline scales by, and its AUC fell to about 0.62 where leadscore's held 0.82,
    a margin that was the baseline's preprocessing, not the model."""

    def fit(self, X: np.ndarray, y: object = None) -> PlaceholdersAsMissing:
        values = np.asarray(X, dtype=float)
        self.placeholders_ = [far_values(values[:, j]) for j in range(values.shape[1])]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        values = np.array(X, dtype=float)
        for j, far in enumerate(self.placeholders_):
            if len(far):
                values[np.isin(values[:, j], far), j] = np.nan
        return values

    def get_feature_names_out(self, input_features: object = None) -> object:
        return input_features


def _linear_inputs(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {name: float_values(frame[name]) for name in numeric}
    for name in categorical:
        columns[name] = frame[name].astype("str").fillna(MISSING_CATEGORY).to_numpy(dtype=object)
    return pd.DataFrame(columns, index=frame.index)


@dataclass
class LogisticBaseline:
    """Logistic regression on the same features; `predict_proba` returns the probability of winning (1-d)."""

    pipeline: Pipeline
    numeric: list[str]
    categorical: list[str]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        inputs = _linear_inputs(frame, self.numeric, self.categorical)
        return self.pipeline.predict_proba(inputs)[:, 1]


def fit_logistic_regression(
    frame: pd.DataFrame,
    y: np.ndarray | pd.Series,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    seed: int,
    *,
    c: float = 1.0,
    min_frequency: int = 20,
    max_iter: int = 2000,
    clip: float = 5.0,
) -> LogisticBaseline:
    """Read placeholders as missing, impute (median + missing indicator), signed log1p, scale and clip (to
    +-`clip` standard deviations) numerics; one-hot categoricals (rare levels pooled, unseen levels ignored);
    unweighted L2 logistic regression."""
    categorical = [c_ for c_ in feature_names if c_ in set(categorical)]
    numeric = [c_ for c_ in feature_names if c_ not in set(categorical)]
    numeric_steps = Pipeline(
        [
            ("placeholders", PlaceholdersAsMissing()),
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")),
            ("scale", StandardScaler()),
            ("clip", FunctionTransformer(clipped, kw_args={"limit": clip}, feature_names_out="one-to-one")),
        ]
    )
    encoder = OneHotEncoder(handle_unknown="ignore", min_frequency=min_frequency, sparse_output=True)
    pipeline = Pipeline(
        [
            ("columns", ColumnTransformer([("num", numeric_steps, numeric), ("cat", encoder, categorical)])),
            ("model", LogisticRegression(C=c, max_iter=max_iter, random_state=seed)),
        ]
    )
    # Small products: BLAS threads cost more than they save (4 times the time on two busy cores; same numbers).
    with threadpool_limits(limits=1, user_api="blas"):
        pipeline.fit(_linear_inputs(frame, numeric, categorical), np.asarray(y, dtype=int))
    return LogisticBaseline(pipeline=pipeline, numeric=numeric, categorical=categorical)
