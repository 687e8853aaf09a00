"""The conversion model: LightGBM with native categoricals and early stopping, calibrated on validation.

Spaces: LightGBM's raw output is a log-odds margin (`predict_raw`, which is also what the contributions add
up to); the calibrator maps that margin to a calibrated probability (`predict_proba`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from features.frames import Table, column, n_rows
from features.text import FEW_VALUES
from models.config import LightGBMConfig, ModelConfig
from models.evaluate import assign_grades, brier_score, expected_calibration_error, grade_cutpoints
from models.gate import check_minimum_data
from models.splits import Split

CalibrationMethod = Literal["auto", "isotonic", "sigmoid", "none"]
_PROBABILITY_FLOOR = 1e-6  # a calibrated lead is never certain to win or to lose
SMALL_INPUT_ROWS = 1_000  # fewer rows than this are scored on one thread


def _to_float(col: pd.Series) -> np.ndarray:
    """Float values of a numeric or boolean column (nullable Int64/boolean and object bools too)."""
    values = pd.to_numeric(col, errors="coerce").astype(float)
    not_numbers = values.isna() & col.notna()
    if not_numbers.any():
        example = col[not_numbers].iloc[0]
        raise ValueError(
            f"feature {col.name!r} holds text such as {example!r}; list it among the categorical features"
        )
    return values.to_numpy()


def category_levels(col: pd.Series) -> list[str]:
    """The sorted distinct non-missing values of a categorical column, as strings."""
    return sorted(col.dropna().astype("str").unique().tolist())


def category_codes(values: Any, levels: Sequence[str]) -> np.ndarray:
    """The position of each value (as a string) among `levels`, -1 when missing or not a level.

    Values are looked up once per distinct value, so one row and a million rows cost the same per value;
    a few values are looked up one by one (factorising them costs more).
    """
    objects = (
        values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    )
    position = {level: i for i, level in enumerate(levels)}
    if len(objects) <= FEW_VALUES:
        found = [-1 if pd.isna(value) else position.get(str(value), -1) for value in objects.tolist()]
        return np.array(found, dtype=np.int64)
    codes, distinct = pd.factorize(objects, use_na_sentinel=True)
    looked_up = np.array([position.get(str(value), -1) for value in distinct] + [-1], dtype=np.int64)
    return looked_up[codes]  # code -1 (missing) picks the trailing -1


def prepare_matrix(
    frame: pd.DataFrame,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    levels: dict[str, list[str]] | None = None,
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The model matrix: feature columns in order, categoricals as pandas Categorical, everything else float.

    With `levels=None` the category levels are learnt from `frame` (training); otherwise they are the frozen
    training levels and any value not among them becomes missing, which LightGBM handles like an unseen value.
    """
    _check_features(frame, feature_names, categorical)
    learn = levels is None
    levels = dict(levels) if levels is not None else {}
    numbers = _numeric_block(frame, [name for name in feature_names if name not in categorical])
    columns: dict[str, Any] = {}
    for name in feature_names:  # a loop over columns, not rows
        if name in categorical:
            if learn:
                levels[name] = category_levels(frame[name])
            codes = category_codes(frame[name], levels[name])
            columns[name] = pd.Categorical.from_codes(codes, categories=levels[name])
        else:
            columns[name] = numbers[name]
    return pd.DataFrame(columns, index=frame.index), levels


def encoded_matrix(
    frame: Table,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    levels: dict[str, list[str]],
) -> np.ndarray:
    """The same matrix as prepare_matrix with frozen levels, as one float array: a categorical column holds
    its category codes (NaN when missing or unseen), which is exactly what LightGBM makes of a pandas
    Categorical with the training categories. No pandas frame is built, which matters for one lead."""
    _check_features(frame, feature_names, categorical)
    numeric = [name for name in feature_names if name not in categorical]
    numbers = _numeric_block(frame, numeric)
    out = np.empty((n_rows(frame), len(feature_names)), dtype=float)
    for j, name in enumerate(feature_names):
        if name in categorical:
            codes = category_codes(column(frame, name), levels[name])
            out[:, j] = np.where(codes >= 0, codes, np.nan)
        else:
            out[:, j] = numbers[name]
    return out


def _check_features(frame: Table, feature_names: Sequence[str], categorical: Sequence[str]) -> None:
    missing = [name for name in feature_names if name not in frame]
    if missing:
        raise KeyError(f"feature columns missing from the frame: {missing}")
    unknown_categorical = [name for name in categorical if name not in feature_names]
    if unknown_categorical:
        raise ValueError(f"categorical columns not among the features: {unknown_categorical}")


def _numeric_block(frame: Table, names: list[str]) -> dict[str, np.ndarray]:
    """Float arrays of the numeric features: one conversion of a frame's whole block, column by column on
    failure (or when the table is named arrays already)."""
    if not isinstance(frame, pd.DataFrame):
        return {name: _float_values(column(frame, name), name) for name in names}
    try:
        block = _columns(frame, names).to_numpy(dtype=float, na_value=np.nan)
        return {name: block[:, j] for j, name in enumerate(names)}
    except (TypeError, ValueError):  # text or odd objects somewhere: find and name the column
        return {name: _to_float(frame[name]) for name in names}


def _float_values(values: Any, name: str) -> np.ndarray:
    """Float values of a numeric column's values (see _to_float)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(float)
    return _to_float(pd.Series(values, name=name, copy=False))


def _columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """frame[names], taken by position when the column names are unique (half the cost on one row)."""
    if not frame.columns.is_unique:
        return frame[names]
    return frame.iloc[:, frame.columns.get_indexer(names)]


def prediction_threads(n_rows: int, configured: int) -> int:
    """One thread for small inputs: starting OpenMP threads costs more than scoring a few rows (and on a
    busy machine far more: 16 ms instead of 0.2 ms for one lead, measured), the configured count otherwise."""
    return 1 if n_rows < SMALL_INPUT_ROWS else configured


def lightgbm_params(cfg: LightGBMConfig, seed: int) -> dict[str, Any]:
    """LightGBM training parameters: binary log loss, no class weights, deterministic for a seed."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": cfg.learning_rate,
        "num_leaves": cfg.num_leaves,
        "max_depth": cfg.max_depth,
        "min_data_in_leaf": cfg.min_child_samples,
        "feature_fraction": cfg.feature_fraction,
        "bagging_fraction": cfg.bagging_fraction,
        "bagging_freq": cfg.bagging_freq,
        "lambda_l1": cfg.lambda_l1,
        "lambda_l2": cfg.lambda_l2,
        "min_data_per_group": cfg.min_data_per_group,
        "cat_smooth": cfg.cat_smooth,
        "max_bin": cfg.max_bin,
        "seed": seed,
        "deterministic": cfg.deterministic,
        "force_col_wise": True,  # fixed histogram layout: same trees on every run
        "num_threads": cfg.num_threads,
        "verbosity": cfg.verbosity,
    }


def fit_lightgbm(
    X_train: pd.DataFrame,
    y_train: np.ndarray | pd.Series,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray | pd.Series,
    cfg: ModelConfig,
) -> lgb.Booster:
    """Boosted trees with early stopping on the validation log loss; `booster.best_iteration` is set."""
    categorical = [c for c in X_train.columns if isinstance(X_train[c].dtype, pd.CategoricalDtype)]
    train_set = lgb.Dataset(
        X_train, label=np.asarray(y_train, dtype=float), categorical_feature=categorical, free_raw_data=True
    )
    valid_set = lgb.Dataset(
        X_valid, label=np.asarray(y_valid, dtype=float), categorical_feature=categorical, reference=train_set
    )
    booster = lgb.train(
        lightgbm_params(cfg.lightgbm, cfg.seed),
        train_set,
        num_boost_round=cfg.lightgbm.n_estimators,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[
            lgb.early_stopping(cfg.lightgbm.early_stopping_rounds, first_metric_only=True, verbose=False)
        ],
    )
    if booster.best_iteration <= 0:  # no early stop happened: all rounds were useful
        booster.best_iteration = booster.current_iteration()
    return booster


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Calibrator:
    """Maps a raw score (a log-odds margin, or any score rising with the chance of winning) to a probability.

    Plain arrays only, so it pickles small and does not depend on the scikit-learn version.
    method "sigmoid": p = expit(slope * raw + intercept) (Platt scaling);
    method "isotonic": a monotone step function, interpolated between its knots and clipped at the ends;
    method "none": p = expit(raw), i.e. trust the log-odds as they are.
    """

    method: str
    slope: float = 1.0
    intercept: float = 0.0
    knots_x: np.ndarray | None = None
    knots_y: np.ndarray | None = None
    cv_brier: dict[str, float] = field(default_factory=dict)  # "auto" only: the cross-validated choice

    def predict(self, raw: np.ndarray | Sequence[float]) -> np.ndarray:
        raw_arr = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            assert self.knots_x is not None and self.knots_y is not None
            p = np.interp(raw_arr, self.knots_x, self.knots_y)
        else:
            p = _expit(self.slope * raw_arr + self.intercept)
        return np.clip(p, _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)


def _logistic_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray, ridge: float) -> float:
    margin = X @ w
    return float(np.mean(np.logaddexp(0.0, margin) - y * margin) + 0.5 * ridge * w[0] ** 2)


def _fit_sigmoid(raw: np.ndarray, y: np.ndarray, ridge: float = 1e-4, max_iter: int = 100) -> Calibrator:
    """Platt scaling by damped Newton steps on the standardised score (two parameters, no solver needed).

    The tiny ridge on the slope only keeps it finite when the classes separate perfectly.
    """
    centre, spread = float(raw.mean()), float(raw.std()) or 1.0
    X = np.column_stack([(raw - centre) / spread, np.ones_like(raw)])
    y = y.astype(float)
    rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    w = np.array([0.0, np.log(rate / (1 - rate))])
    loss = _logistic_loss(w, X, y, ridge)
    for _ in range(max_iter):
        p = _expit(X @ w)
        grad = X.T @ (p - y) / len(y) + np.array([ridge * w[0], 0.0])
        if np.abs(grad).max() < 1e-10:
            break
        hess = (X * (p * (1 - p))[:, None]).T @ X / len(y) + np.diag([ridge, 1e-12])
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-10:
            candidate = w - t * step
            candidate_loss = _logistic_loss(candidate, X, y, ridge)
            if candidate_loss <= loss:
                break
            t /= 2
        else:
            break
        w, loss = candidate, candidate_loss
    slope = w[0] / spread
    return Calibrator("sigmoid", slope=float(slope), intercept=float(w[1] - slope * centre))


def _fit_isotonic(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    return Calibrator(
        "isotonic",
        knots_x=np.asarray(model.X_thresholds_, dtype=float),
        knots_y=np.asarray(model.y_thresholds_, dtype=float),
    )


_FITTERS = {"sigmoid": _fit_sigmoid, "isotonic": _fit_isotonic}


def fit_calibrator(
    raw_valid: np.ndarray | Sequence[float],
    y_valid: np.ndarray | Sequence[int],
    method: CalibrationMethod = "auto",
    *,
    seed: int = 0,
    cv_folds: int = 5,
) -> Calibrator:
    """Fit a calibrator on validation scores. "auto" picks isotonic or sigmoid by the lower out-of-fold Brier
    score in a stratified cross-validation inside the validation window (sigmoid on a tie), then refits it on
    the whole window, so the choice is not made on the data the calibrator was fitted on."""
    raw = np.asarray(raw_valid, dtype=float)
    y = np.asarray(y_valid, dtype=int)
    if method == "none":
        return Calibrator("none")
    if method in _FITTERS:
        return _FITTERS[method](raw, y)
    if method != "auto":
        raise ValueError(f"unknown calibration method {method!r}; use auto, isotonic, sigmoid or none")
    folds = min(cv_folds, int(y.sum()), int((1 - y).sum()))
    if folds < 2:
        raise ValueError("calibration needs at least 2 won and 2 lost deals in the validation window")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out_of_fold = {name: np.empty(len(y)) for name in _FITTERS}
    for fit_idx, held_idx in splitter.split(raw.reshape(-1, 1), y):  # a loop over folds
        for name, fitter in _FITTERS.items():
            out_of_fold[name][held_idx] = fitter(raw[fit_idx], y[fit_idx]).predict(raw[held_idx])
    cv_brier = {name: brier_score(y, pred) for name, pred in out_of_fold.items()}
    best = "isotonic" if cv_brier["isotonic"] < cv_brier["sigmoid"] else "sigmoid"
    calibrator = _FITTERS[best](raw, y)
    calibrator.cv_brier = cv_brier
    return calibrator


def _calibration_metrics(
    y: np.ndarray, raw: np.ndarray, calibrator: Calibrator, bins: int
) -> dict[str, float]:
    if len(y) == 0:
        return {"n": 0}
    before, after = _expit(raw), calibrator.predict(raw)
    return {
        "n": int(len(y)),
        "brier_before": brier_score(y, before),
        "brier_after": brier_score(y, after),
        "ece_before": expected_calibration_error(y, before, bins),
        "ece_after": expected_calibration_error(y, after, bins),
    }


@dataclass
class TrainedModel:
    """A fitted conversion model with everything needed to score new feature frames the same way."""

    booster: lgb.Booster
    calibrator: Calibrator
    levels: dict[str, list[str]]
    feature_names: list[str]
    categorical: list[str]
    best_iteration: int
    grade_thresholds: dict[str, float]
    calibration_report: dict[str, Any]
    split_summary: dict[str, Any] = field(default_factory=dict)
    training_counts: dict[str, int] = field(default_factory=dict)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return prepare_matrix(frame, self.feature_names, self.categorical, self.levels)[0]

    def encoded(self, frame: Table) -> np.ndarray:
        """The model matrix as LightGBM sees it (see encoded_matrix): what scoring feeds the booster."""
        return encoded_matrix(frame, self.feature_names, self.categorical, self.levels)

    def _predict(self, frame: Table, **kind: bool) -> np.ndarray:
        threads = prediction_threads(n_rows(frame), int(self.booster.params.get("num_threads", 0) or 0))
        values = self.booster.predict(
            self.encoded(frame), num_iteration=self.best_iteration, num_threads=threads, **kind
        )
        return np.asarray(values)

    def predict_raw(self, frame: Table) -> np.ndarray:
        """Uncalibrated log-odds margin of each row (the sum of its contributions)."""
        return self._predict(frame, raw_score=True)

    def predict_uncalibrated(self, frame: pd.DataFrame) -> np.ndarray:
        """LightGBM's own probability, before calibration."""
        return _expit(self.predict_raw(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that the lead's deal is won."""
        return self.calibrator.predict(self.predict_raw(frame))

    def grade(self, frame: pd.DataFrame) -> pd.Series:
        """Grade A-D from the cut points frozen on the validation window."""
        return assign_grades(pd.Series(self.predict_proba(frame), index=frame.index), self.grade_thresholds)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP contributions in log-odds: a column per feature plus "bias"; rows sum to predict_raw."""
        values = self.contribution_values(frame)
        return pd.DataFrame(values, columns=[*self.feature_names, "bias"], index=frame.index)

    def contribution_values(self, frame: Table) -> np.ndarray:
        """contributions as an array: rows x (feature_names, then the bias)."""
        return self._predict(frame, pred_contrib=True)

    def feature_importance(self) -> pd.DataFrame:
        """Total gain and split count per feature, highest gain first."""
        return (
            pd.DataFrame(
                {
                    "feature": self.feature_names,
                    "gain": self.booster.feature_importance("gain", iteration=self.best_iteration),
                    "splits": self.booster.feature_importance("split", iteration=self.best_iteration),
                }
            )
            .sort_values("gain", ascending=False, kind="stable")
            .reset_index(drop=True)
        )


def train_conversion_model(
    frame: pd.DataFrame,
    y: np.ndarray | pd.Series,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    split: Split,
    cfg: ModelConfig,
) -> TrainedModel:
    """Gate, fit LightGBM on the train window with early stopping on the validation window, calibrate on the
    validation window, and freeze the grade cut points on the validation window's calibrated scores.

    `frame` and `y` are aligned by position; `split` holds positions into them. The calibration report gives
    Brier and ECE before and after calibration on the validation window (in-sample for the calibrator, so
    optimistic) and on the test window (honest).
    """
    labels = np.asarray(y)
    if len(labels) != len(frame):
        raise ValueError(f"frame has {len(frame)} rows but y has {len(labels)}")
    feature_names, categorical = list(feature_names), [c for c in feature_names if c in set(categorical)]
    counts = check_minimum_data(labels[split.train], cfg.min_won, cfg.min_lost, window="training")
    check_minimum_data(
        labels[split.valid], cfg.min_valid_per_class, cfg.min_valid_per_class, window="validation"
    )
    labels = labels.astype(int)

    X_train, levels = prepare_matrix(frame.iloc[split.train], feature_names, categorical)
    X_valid, _ = prepare_matrix(frame.iloc[split.valid], feature_names, categorical, levels)
    y_train, y_valid, y_test = labels[split.train], labels[split.valid], labels[split.test]
    booster = fit_lightgbm(X_train, y_train, X_valid, y_valid, cfg)
    best_iteration = int(booster.best_iteration)

    raw_valid = np.asarray(booster.predict(X_valid, raw_score=True, num_iteration=best_iteration))
    calibrator = fit_calibrator(
        raw_valid, y_valid, cfg.calibration, seed=cfg.seed, cv_folds=cfg.calibration_cv_folds
    )
    report: dict[str, Any] = {
        "method": calibrator.method,
        "requested": cfg.calibration,
        "cv_brier": dict(calibrator.cv_brier),
        "valid": _calibration_metrics(y_valid, raw_valid, calibrator, cfg.ece_bins),
    }
    if len(split.test):
        X_test, _ = prepare_matrix(frame.iloc[split.test], feature_names, categorical, levels)
        raw_test = np.asarray(booster.predict(X_test, raw_score=True, num_iteration=best_iteration))
        report["test"] = _calibration_metrics(y_test, raw_test, calibrator, cfg.ece_bins)

    thresholds = grade_cutpoints(calibrator.predict(raw_valid), cfg.grades.shares())
    return TrainedModel(
        booster=booster,
        calibrator=calibrator,
        levels=levels,
        feature_names=feature_names,
        categorical=categorical,
        best_iteration=best_iteration,
        grade_thresholds=thresholds,
        calibration_report=report,
        split_summary=split.summary(),
        training_counts=counts,
    )
