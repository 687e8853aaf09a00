"""The conversion model: LightGBM with native categoricals and early stopping, calibrated on validation.

Spaces: LightGBM's raw output is a log-odds margin (`predict_raw`, which is also what the contributions add
up to); the calibrator maps that margin to a calibrated probability (`predict_proba`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from features.fit import UNKNOWN
from features.frames import Table, as_table
from features.season import SEASON_FEATURES, year_covered
from features.text import factorize_texts
from models.adversarial import adversarial_auc, seen_share, time_identifying
from models.calibration_trend import block_offsets, trend_shift
from models.config import LightGBMConfig, ModelConfig
from models.evaluate import (
    assign_grades,
    brier_score,
    expected_calibration_error,
    grade_cutpoints,
    roc_auc,
)
from models.linear import LinearScore, fit_linear_score
from models.minimum_data import InsufficientDataError, NoSignalError, check_minimum_data
from models.selection import (
    BoostingResult,
    Fold,
    best_blend,
    cross_fitted_scores,
    cross_validated_boosting,
    fold_auc_interval,
    fold_log_losses,
    grouped_folds,
    time_ordered_folds,
    usable_folds,
)
from models.splits import Split
from models.target_stats import TargetStats, stat_groups

CalibrationMethod = Literal["auto", "isotonic", "sigmoid", "none"]
_PROBABILITY_FLOOR = 1e-6  # a calibrated lead is never certain to win or to lose
SMALL_INPUT_ROWS = 1_000  # fewer rows than this are scored on one thread


def float_values(col: pd.Series) -> np.ndarray:
    """Float values of a numeric or boolean column (nullable Int64/boolean and object bools too)."""
    values = pd.to_numeric(col, errors="coerce").astype(float)
    not_numbers = values.isna() & col.notna()
    if not_numbers.any():
        example = col[not_numbers].iloc[0]
        raise ValueError(
            f"feature {col.name!r} holds text such as {example!r}; list it among the categorical features"
        )
    return values.to_numpy()


class FeatureEncoder:
    """The model matrix of a table, with scikit-learn's contract: `fit` learns the levels of the categorical
    features (`levels_`, sorted distinct values as text), `transform` gives the float matrix LightGBM is fed.

    In that matrix a categorical column holds its category codes (NaN when missing or not a level: LightGBM
    handles it like an unseen value) and every other feature its float value. Plain attributes only, so it
    pickles small and does not depend on the scikit-learn version.
    """

    def __init__(self, feature_names: Sequence[str], categorical: Sequence[str]) -> None:
        self.feature_names = list(feature_names)
        self.categorical = list(categorical)

    def fit(self, X: Table | pd.DataFrame, y: Any = None) -> FeatureEncoder:
        """Learn the levels of the categorical features."""
        table = self._checked(X)
        self.levels_ = {name: _levels(table[name]) for name in self.categorical}
        return self

    def transform(self, X: Table | pd.DataFrame) -> np.ndarray:
        """The model matrix as one float array: rows x feature_names."""
        table = self._checked(X)
        out = np.empty((table.n_rows, len(self.feature_names)), dtype=float)
        for j, name in enumerate(self.feature_names):  # a loop over columns, not rows
            if name in self.levels_:
                codes = _category_codes(table[name], self.levels_[name])
                out[:, j] = np.where(codes >= 0, codes, np.nan)
            else:
                out[:, j] = _float_values(table[name], name)
        return out

    def frame(self, X: Table | pd.DataFrame) -> pd.DataFrame:
        """The matrix as LightGBM's pandas input (training needs it): categorical features as pandas
        Categoricals of the levels, the rest float; a frame's index is kept."""
        values = self.transform(X)
        columns: dict[str, Any] = {}
        for j, name in enumerate(self.feature_names):
            if name in self.levels_:
                codes = np.where(np.isnan(values[:, j]), -1, values[:, j]).astype(np.int64)
                columns[name] = pd.Categorical.from_codes(codes, categories=self.levels_[name])
            else:
                columns[name] = values[:, j]
        return pd.DataFrame(columns, index=X.index if isinstance(X, pd.DataFrame) else None)

    def _checked(self, X: Table | pd.DataFrame) -> Table:
        missing = [name for name in self.feature_names if name not in X]
        if missing:
            raise KeyError(f"feature columns missing from the frame: {missing}")
        unknown_categorical = [name for name in self.categorical if name not in self.feature_names]
        if unknown_categorical:
            raise ValueError(f"categorical columns not among the features: {unknown_categorical}")
        return as_table(X)


def _levels(values: np.ndarray) -> list[str]:
    """The sorted distinct non-missing values of a categorical column, as text."""
    return sorted({str(value) for value in values[~pd.isna(values)].tolist()})


def _category_codes(values: np.ndarray, levels: Sequence[str]) -> np.ndarray:
    """The position of each value (as text) among `levels`, -1 when missing or not a level; looked up once
    per distinct value, so one row and a million rows cost the same per value."""
    codes, distinct = factorize_texts(values) if values.dtype == object else pd.factorize(values)
    position = {level: i for i, level in enumerate(levels)}
    looked_up = np.array([level_position(value, position) for value in list(distinct)] + [-1], dtype=np.int64)
    return looked_up[codes]  # code -1 (missing) picks the trailing -1


BOOLEAN_SPELLINGS = {"true": ("True", "TRUE", "true"), "false": ("False", "FALSE", "false")}


def level_position(value: Any, position: dict[str, int]) -> int:
    """The position of a value (as text) among the levels, -1 when not a level. A boolean is one level however
    it is written, as pandas reads a CSV: the text "TRUE" (a database, Spark or JSON, a frame read as text)
    is the level "True" that a column pandas read as booleans gave training, and the other way round."""
    text = str(value)
    if text in position:
        return position[text]
    spellings = BOOLEAN_SPELLINGS.get(text.casefold(), ())
    return next((position[s] for s in spellings if s in position), -1)


def _float_values(values: np.ndarray, name: str) -> np.ndarray:
    """Float values of a numeric feature (see float_values)."""
    if values.dtype.kind in "biuf":
        return values.astype(float)
    return float_values(pd.Series(values, name=name, copy=False))


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

    def shifted(self, shift: float) -> Calibrator:
        """This map with `shift` added to its output's log-odds (it stays monotone increasing)."""
        if shift == 0.0:
            return self
        if self.method == "isotonic":
            assert self.knots_y is not None
            knots = np.clip(self.knots_y, _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
            return replace(self, knots_y=_expit(np.log(knots / (1 - knots)) + shift))
        return replace(self, intercept=self.intercept + shift)


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


def _fit_isotonic(raw: np.ndarray, y: np.ndarray, end_rows: int = 0) -> Calibrator:
    """Centred isotonic regression: one knot per step of the isotonic fit, at the middle of the step, joined
    linearly. The map rises strictly between its first and last knot, so the leads of one step are not tied
    (a step function gives a whole grade one score and erases the ranking inside it).

    The lowest and the highest steps are pooled with their neighbours until each holds `end_rows` rows: a
    step of a few rows at either end sits at 0 or 1, and every score beyond the fitted range (a lead unlike
    those calibrated on) would get that certainty."""
    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    x, p = np.asarray(model.X_thresholds_, dtype=float), np.asarray(model.y_thresholds_, dtype=float)
    levels, step = np.unique(p, return_inverse=True)  # the step levels rise with x
    if end_rows > 0 and len(levels) > 2:
        row_step = np.clip(np.searchsorted(levels, model.predict(raw)), 0, len(levels) - 1)
        rows = np.bincount(row_step, minlength=len(levels))
        won = np.bincount(row_step, weights=y.astype(float), minlength=len(levels))
        low = int(np.searchsorted(np.cumsum(rows), end_rows))  # steps 0..low make the lowest
        high = len(levels) - 1 - int(np.searchsorted(np.cumsum(rows[::-1]), end_rows))
        if low < high:
            group = np.clip(np.arange(len(levels)), low, high)
            rows, won = np.bincount(group, weights=rows)[low:], np.bincount(group, weights=won)[low:]
            levels, step = won / rows, group[step] - low
    centres = np.bincount(step, weights=x) / np.bincount(step)
    return Calibrator("isotonic", knots_x=centres, knots_y=levels)


def fit_calibrator(
    raw_valid: np.ndarray | Sequence[float],
    y_valid: np.ndarray | Sequence[int],
    method: CalibrationMethod = "auto",
    *,
    seed: int = 0,
    cv_folds: int = 5,
    increasing: bool = False,
    isotonic_min_rows: int = 0,
    isotonic_end_rows: int = 0,
) -> Calibrator:
    """Fit a calibrator on validation scores. "auto" picks isotonic or sigmoid by the lower out-of-fold Brier
    score in a stratified cross-validation inside the validation window (sigmoid on a tie), then refits it on
    the whole window, so the choice is not made on the data the calibrator was fitted on. On fewer than
    `isotonic_min_rows` rows "auto" is sigmoid: a step function fitted on a few hundred rows overfits them.
    The isotonic map's end steps hold `isotonic_end_rows` rows at least (see _fit_isotonic).

    With `increasing`, a map that would not rise with the score is refused (NoSignalError): a Platt slope at or
    below 0 reverses or erases the ranking, and so does an isotonic fit that is flat ("auto" then falls back
    to sigmoid)."""
    raw = np.asarray(raw_valid, dtype=float)
    y = np.asarray(y_valid, dtype=int)
    fitters: dict[str, Callable[[np.ndarray, np.ndarray], Calibrator]] = {
        "sigmoid": _fit_sigmoid,
        "isotonic": partial(_fit_isotonic, end_rows=isotonic_end_rows),
    }
    if method == "none":
        return Calibrator("none")
    if method in fitters:
        return (
            _increasing_or_refused(fitters[method](raw, y), raw, y) if increasing else fitters[method](raw, y)
        )
    if method != "auto":
        raise ValueError(f"unknown calibration method {method!r}; use auto, isotonic, sigmoid or none")
    if len(y) < isotonic_min_rows:
        sigmoid = _fit_sigmoid(raw, y)
        return _increasing_or_refused(sigmoid, raw, y) if increasing else sigmoid
    folds = min(cv_folds, int(y.sum()), int((1 - y).sum()))
    if folds < 2:
        raise ValueError("calibration needs at least 2 won and 2 lost deals in the validation window")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out_of_fold = {name: np.empty(len(y)) for name in fitters}
    for fit_idx, held_idx in splitter.split(raw.reshape(-1, 1), y):  # a loop over folds
        for name, fitter in fitters.items():
            out_of_fold[name][held_idx] = fitter(raw[fit_idx], y[fit_idx]).predict(raw[held_idx])
    cv_brier = {name: brier_score(y, pred) for name, pred in out_of_fold.items()}
    best = "isotonic" if cv_brier["isotonic"] < cv_brier["sigmoid"] else "sigmoid"
    calibrator = fitters[best](raw, y)
    if increasing and best == "isotonic" and not is_increasing(calibrator):
        calibrator = fitters["sigmoid"](raw, y)
    if increasing:
        calibrator = _increasing_or_refused(calibrator, raw, y)
    calibrator.cv_brier = cv_brier
    return calibrator


def is_increasing(calibrator: Calibrator) -> bool:
    """Does the map rise with the score (Platt slope above 0; an isotonic fit that is not flat)?"""
    if calibrator.method == "sigmoid":
        return calibrator.slope > 0
    if calibrator.method == "isotonic":
        assert calibrator.knots_y is not None
        return bool(np.ptp(calibrator.knots_y) > 0)
    return True


def _increasing_or_refused(calibrator: Calibrator, raw: np.ndarray, y: np.ndarray) -> Calibrator:
    if is_increasing(calibrator):
        return calibrator
    shape = f"Platt slope {calibrator.slope:.3g}" if calibrator.method == "sigmoid" else "a flat isotonic map"
    raise NoSignalError(
        f"no learnable signal: on the most recent labelled window ({len(y)} rows, {int(y.sum())} won) the "
        f"win rate does not rise with the model's score (calibration: {shape}, ROC AUC "
        f"{roc_auc(y, raw):.3f}), so its scores would rank leads backwards or all alike. Check that the "
        "outcome is labelled the same way across time and that the features are known when the lead is "
        "scored; retrain when more recent deals have closed."
    )


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
    encoder: FeatureEncoder  # fitted: the features, in order, and the levels of the categorical ones
    best_iteration: int
    grade_thresholds: dict[str, float]
    calibration_report: dict[str, Any]
    split_summary: dict[str, Any] = field(default_factory=dict)
    training_counts: dict[str, int] = field(default_factory=dict)
    # The linear part: the trees were boosted from it ("linear_lightgbm") or blended with it ("blend"); None
    # for plain trees. The log-odds are tree_weight * trees + linear_weight * linear.
    linear: LinearScore | None = None
    tree_weight: float = 1.0
    linear_weight: float = 1.0
    # Time-identifying numbers only the linear part reads (model.drift.numbers): the trees were trained with
    # them missing (unused when the chosen contender has no linear part).
    linear_only: list[str] = field(default_factory=list)
    # How the model was chosen: folds, each contender's out-of-fold log loss, the choice, the signal check
    # and the features the drift check dropped (see train_conversion_model).
    selection: dict[str, Any] = field(default_factory=dict)
    # Win rates of categorical levels and pairs appended to the matrix the trees read (model.target_stats);
    # None when off. The linear part never reads them.
    target_stats: TargetStats | None = None
    # Share of the learning rows with each feature missing (a categorical's level unknown counts as missing):
    # scoring compares its own shares with these (models.coverage). Empty for older models.
    feature_missing: dict[str, float] = field(default_factory=dict)
    # The smallest and largest value of each numeric feature in the learning rows (the same use).
    feature_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Per categorical feature, the share of the learning rows whose level no other row holds: how often a lead
    # brings a level not seen before (Good-Turing), which a long tail (landing pages, cities) does every day.
    # Empty for older models (models.coverage then expects the rule of three's rate).
    new_level_share: dict[str, float] = field(default_factory=dict)
    # The calibrated scores of the rows the grade cut-offs were set on, each from a model that had not learnt
    # the row: how the model scores leads it never saw, before the test window (the card's reference). Empty
    # for older models.
    cutoff_scores: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def feature_names(self) -> list[str]:
        return self.encoder.feature_names

    @property
    def categorical(self) -> list[str]:
        return self.encoder.categorical

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A model pickled before the encoder existed kept its levels and features itself."""
        if "encoder" not in state:
            encoder = FeatureEncoder(state.pop("feature_names"), state.pop("categorical"))
            encoder.levels_ = state.pop("levels")
            state["encoder"] = encoder
        state.setdefault("linear_only", [])
        state.setdefault("feature_missing", {})
        state.setdefault("feature_range", {})
        state.setdefault("new_level_share", {})
        state.setdefault("cutoff_scores", np.empty(0))
        self.__dict__.update(state)

    def matrix(self, frame: Table | pd.DataFrame) -> pd.DataFrame:
        """The model matrix as LightGBM's pandas input (see FeatureEncoder.frame), target statistics appended."""
        X = self.encoder.frame(frame)
        X[self.linear_only] = np.nan
        if self.target_stats is None:
            return X
        return with_target_stats(
            X, self.target_stats, self.target_stats.transform(self.encoder.transform(frame))
        )

    def encoded(self, frame: Table | pd.DataFrame) -> np.ndarray:
        """The model matrix as LightGBM sees it (see FeatureEncoder.transform): what scoring feeds the booster."""
        return self.encoder.transform(frame)

    def _predict(self, frame: Table | pd.DataFrame, **kind: bool) -> np.ndarray:
        table = as_table(frame)
        if table.n_rows == 0:  # LightGBM divides by the row count (ZeroDivisionError): an empty batch is none
            return np.zeros((0, len(self.feature_names) + 1) if kind.get("pred_contrib") else 0)
        threads = prediction_threads(table.n_rows, int(self.booster.params.get("num_threads", 0) or 0))
        X = self.encoder.transform(table)
        stats = self.target_stats
        trees_X = X if stats is None else np.hstack([X, stats.transform(X)])
        if self.linear_only:  # the trees were trained with these as missing
            trees_X = trees_X.copy() if trees_X is X else trees_X
            trees_X[:, self._linear_only_positions()] = np.nan
        values = np.asarray(
            self.booster.predict(trees_X, num_iteration=self.best_iteration, num_threads=threads, **kind)
        )
        if stats is not None and kind.get("pred_contrib"):  # hand each win-rate column back to its features
            values = stats.fold_back(values)
        if self.linear is not None:  # boosted from or blended with the linear log-odds: add them
            linear = self.linear.contributions(X) if kind.get("pred_contrib") else self.linear.margin(X)
            values = self.tree_weight * values + self.linear_weight * linear
        return values

    def _linear_only_positions(self) -> list[int]:
        names = self.encoder.feature_names
        return [names.index(name) for name in self.linear_only]

    def predict_raw(self, frame: Table | pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds margin of each row (the sum of its contributions; the linear part included)."""
        return self._predict(frame, raw_score=True)

    def predict_uncalibrated(self, frame: pd.DataFrame) -> np.ndarray:
        """LightGBM's own probability, before calibration."""
        return _expit(self.predict_raw(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that the lead's deal is won."""
        return self.calibrator.predict(self.predict_raw(frame))

    def grade(self, frame: pd.DataFrame) -> pd.Series:
        """Grade A-D from the cut points frozen on the most recent labelled rows (see train_conversion_model)."""
        return assign_grades(pd.Series(self.predict_proba(frame), index=frame.index), self.grade_thresholds)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Contributions in log-odds (TreeSHAP, plus the linear part's coef * (x - mean) per feature when the
        trees were boosted from it): a column per feature plus "bias"; rows sum to predict_raw."""
        values = self.contribution_values(frame)
        return pd.DataFrame(values, columns=[*self.feature_names, "bias"], index=frame.index)

    def contribution_values(self, frame: Table | pd.DataFrame) -> np.ndarray:
        """contributions as an array: rows x (feature_names, then the bias)."""
        return self._predict(frame, pred_contrib=True)

    def feature_importance(self) -> pd.DataFrame:
        """Total gain and split count per feature (a win-rate column's shared by its features), highest gain
        first."""
        gain = self.booster.feature_importance("gain", iteration=self.best_iteration)
        splits = self.booster.feature_importance("split", iteration=self.best_iteration)
        if self.target_stats is not None:
            both = np.vstack([gain, splits]).astype(float)
            gain, splits = self.target_stats.fold_back(np.hstack([both, np.zeros((2, 1))]))[:, :-1]
        return (
            pd.DataFrame({"feature": self.feature_names, "gain": gain, "splits": splits})
            .sort_values("gain", ascending=False, kind="stable")
            .reset_index(drop=True)
        )


@dataclass
class LearningRows:
    """The learning rows as every step of training reads them: the labels, the selection folds, the trees'
    matrix (the time-identifying numbers missing) and the encoded codes the linear part and win rates read."""

    y: np.ndarray
    folds: list[Fold]
    fold_kind: str
    encoder: FeatureEncoder
    X: pd.DataFrame
    codes: np.ndarray
    params: dict[str, Any]
    cfg: ModelConfig

    @property
    def names(self) -> list[str]:
        return self.encoder.feature_names

    @property
    def categorical(self) -> list[str]:
        return self.encoder.categorical

    def level_counts(self) -> dict[int, int]:
        """The number of levels of each categorical feature, by its position."""
        levels = self.encoder.levels_
        return {j: len(levels[name]) for j, name in enumerate(self.names) if name in levels}

    def linear_on(self, positions: np.ndarray, c: float) -> LinearScore:
        """The linear part fitted on the rows at `positions` with strength `c`."""
        return fit_linear_score(
            self.codes[positions],
            self.y[positions],
            np.array([name in set(self.categorical) for name in self.names]),
            self.level_counts(),
            c=c,
            min_frequency=self.cfg.selection.linear_min_frequency,
            clip=self.cfg.logistic_clip,
            seed=self.cfg.seed,
        )

    def new_target_stats(self, groups: list[tuple[int, ...]]) -> TargetStats:
        """Unfitted win rates of `groups` (model.target_stats)."""
        stats_cfg = self.cfg.target_stats
        return TargetStats(
            groups,
            self.level_counts(),
            len(self.names),
            smoothing=stats_cfg.smoothing,
            folds=stats_cfg.folds,
            seed=self.cfg.seed,
        )

    def dataset(self, X: pd.DataFrame, y: np.ndarray, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        """A constructed LightGBM dataset of these settings (raw data kept: boosting reads it per fold)."""
        return lgb.Dataset(
            X,
            label=y.astype(float),
            reference=reference,
            categorical_feature=self.categorical,
            params=self.params,
            free_raw_data=False,
        ).construct()


@dataclass
class LinearChoice:
    """The linear part's strength chosen on the selection folds, and each fold's linear part at it."""

    c: float
    margins: list[tuple[np.ndarray, np.ndarray]] | None  # per fold: log-odds of its fitted and held-out rows
    parts: list[LinearScore] = field(default_factory=list)
    losses: dict[float, float] = field(default_factory=dict)  # mean held-out log loss of each strength


def learning_rows(
    rows: pd.DataFrame,
    y: np.ndarray,
    folds: list[Fold],
    fold_kind: str,
    names: list[str],
    categorical: list[str],
    linear_only: list[str],
    cfg: ModelConfig,
) -> LearningRows:
    """Encode the learning rows; the trees see the numbers only the linear part reads as missing."""
    encoder = FeatureEncoder(names, categorical).fit(rows)
    X = encoder.frame(rows)
    X[linear_only] = np.nan  # the trees never split on them; the linear part reads them from `codes`
    params = lightgbm_params(cfg.lightgbm, cfg.seed)
    if len(rows) < cfg.lightgbm.single_thread_below_rows:
        params["num_threads"] = 1
    return LearningRows(y, folds, fold_kind, encoder, X, encoder.transform(rows), params, cfg)


def target_stat_groups(learn: LearningRows) -> list[tuple[int, ...]]:
    """The categorical features and pairs whose win rates the trees read (none when model.target_stats is off)."""
    stats_cfg = learn.cfg.target_stats
    if not stats_cfg.enabled:
        return []
    return stat_groups(learn.names, learn.encoder.levels_, stats_cfg.pair_max_levels, stats_cfg.max_pairs)


def fold_datasets(
    learn: LearningRows, groups: list[tuple[int, ...]]
) -> list[tuple[lgb.Dataset, lgb.Dataset, pd.DataFrame]] | None:
    """Per selection fold, its fitted and held-out datasets with win rates fitted on the fitted rows alone (the
    held-out labels stay unseen); None without target statistics (the folds share one dataset)."""
    if not groups:
        return None
    sets = []
    for fit, held in learn.folds:
        stats = learn.new_target_stats(groups)
        fit_X = with_target_stats(
            learn.X.iloc[fit], stats, stats.fit_transform(learn.codes[fit], learn.y[fit])
        )
        held_X = with_target_stats(learn.X.iloc[held], stats, stats.transform(learn.codes[held]))
        fit_set = learn.dataset(fit_X, learn.y[fit])
        sets.append((fit_set, learn.dataset(held_X, learn.y[held], reference=fit_set), held_X))
    return sets


def choose_linear_strength(learn: LearningRows, contenders: Sequence[str]) -> LinearChoice:
    """The linear part's strength (model.selection.linear_c) with the lowest row-weighted mean held-out log
    loss over the selection folds, each fold's part fitted on its fitted rows only. Not fitted when no
    contender reads the linear part."""
    strengths = learn.cfg.selection.linear_c
    if "linear_lightgbm" not in contenders and "blend" not in contenders:
        return LinearChoice(strengths[0], None)
    held_rows = np.array([len(held) for _, held in learn.folds], dtype=float)
    margins, parts, losses = {}, {}, {}
    for c in strengths:
        parts[c] = [learn.linear_on(fit, c) for fit, _ in learn.folds]
        margins[c] = [
            (part.margin(learn.codes[fit]), part.margin(learn.codes[held]))
            for part, (fit, held) in zip(parts[c], learn.folds, strict=True)
        ]
        oof = np.zeros(len(learn.y))
        for (_, held), (_, margin) in zip(learn.folds, margins[c], strict=True):
            oof[held] = margin
        losses[c] = float(fold_log_losses(learn.y, oof, learn.folds) @ (held_rows / held_rows.sum()))
    best = min(losses, key=lambda c: losses[c])
    return LinearChoice(best, margins[best], parts[best], losses)


def boost_contenders(
    learn: LearningRows,
    contenders: Sequence[str],
    linear: LinearChoice,
    fold_sets: list[tuple[lgb.Dataset, lgb.Dataset, pd.DataFrame]] | None,
) -> dict[str, BoostingResult]:
    """Each contender boosted on every selection fold in lockstep (plain trees; trees boosted from the linear
    part's log-odds; a blend of plain trees and the linear part), by its mean held-out log loss."""
    dataset = learn.dataset(learn.X, learn.y)

    def boosted(inits: list[tuple[np.ndarray, np.ndarray]] | None) -> BoostingResult:
        return cross_validated_boosting(
            dataset,
            learn.X,
            learn.folds,
            inits,
            learn.params,
            learn.cfg.lightgbm.n_estimators,
            learn.cfg.lightgbm.early_stopping_rounds,
            fold_sets,
        )

    results: dict[str, BoostingResult] = {}
    for contender in contenders:
        if contender == "lightgbm":
            results[contender] = boosted(None)
        elif contender == "linear_lightgbm":
            results[contender] = boosted(linear.margins)
    if "blend" in contenders:
        assert linear.margins is not None
        trees = results["lightgbm"] if "lightgbm" in results else boosted(None)
        held = [margin for _, margin in linear.margins]
        results["blend"] = best_blend(learn.y, trees, held, learn.folds)
    return results


def auc_interval(learn: LearningRows, score: np.ndarray) -> tuple[float, float, float]:
    """The out-of-fold AUC of `score` over the selection folds and its interval (model.selection); NaN ends
    when no bootstrap round could be measured (numpy's warning of it is not the user's)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        return fold_auc_interval(
            learn.y,
            score,
            learn.folds,
            rounds=learn.cfg.bootstrap_rounds,
            seed=learn.cfg.seed,
            level=learn.cfg.selection.signal_confidence,
        )


def fit_final(
    learn: LearningRows, chosen: str, best: BoostingResult, linear_c: float, groups: list[tuple[int, ...]]
) -> tuple[lgb.Booster, LinearScore | None, TargetStats | None, dict[str, Any]]:
    """The chosen contender refitted on every learning row with the tree count chosen on the folds: the
    booster, its linear part and win rates (None when not used), and the record of the win rates."""
    cfg = learn.cfg
    everything = np.arange(len(learn.y))
    linear = learn.linear_on(everything, linear_c) if chosen in ("linear_lightgbm", "blend") else None
    X = learn.X
    if groups:
        stats: TargetStats | None = learn.new_target_stats(groups)
        assert stats is not None
        X = with_target_stats(X, stats, stats.fit_transform(learn.codes, learn.y))
        record = {
            "columns": stats.names(learn.names),
            "smoothing": cfg.target_stats.smoothing,
            "folds": cfg.target_stats.folds,
        }
    else:
        stats = None
        why = (
            "off (model.target_stats.enabled)" if not cfg.target_stats.enabled else "no categorical features"
        )
        record = {"columns": [], "why": why}
    final_set = lgb.Dataset(
        X,
        label=learn.y.astype(float),
        init_score=linear.margin(learn.codes) if linear is not None and chosen == "linear_lightgbm" else None,
        categorical_feature=learn.categorical,
        params=learn.params,
    )
    booster = lgb.train(learn.params, final_set, num_boost_round=best.trees)
    booster.params["num_threads"] = cfg.lightgbm.num_threads  # what scoring a large input may use
    return booster, linear, stats, record


def calibration_input(
    learn: LearningRows,
    chosen: str,
    best: BoostingResult,
    final_linear: LinearScore | None,
    fold_linear: LinearChoice,
    linear_only: list[str],
    recent: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The out-of-fold log-odds the calibrator is fitted on: the chosen contender's, with the time-identifying
    numbers read as the final linear part reads them (model.drift.calibrate_final_reading; see
    final_reading_shift); and the record of that reading (None when not done)."""
    if final_linear is None or not linear_only or not learn.cfg.drift.calibrate_final_reading:
        return best.oof_raw, None
    weight = 1.0 - best.tree_weight if chosen == "blend" else 1.0
    positions = [learn.names.index(name) for name in linear_only]
    shift = final_reading_shift(final_linear, fold_linear.parts, learn.folds, learn.codes, positions)
    oof_raw = best.oof_raw + weight * shift
    record = {
        "features": linear_only,
        "mean_shift": round(float(np.mean(oof_raw[recent] - best.oof_raw[recent])), 4),
    }
    return oof_raw, record


def calibrate(
    learn: LearningRows, oof_raw: np.ndarray, recent: np.ndarray, times: pd.Series | None
) -> tuple[Calibrator, dict[str, Any]]:
    """The calibrator fitted on the out-of-fold log-odds of the most recent held-out rows (monotone increasing,
    or refused), shifted by the base rate's trend when model.calibration_trend_min_z is set; and its report."""
    cfg = learn.cfg
    raw_recent, y_recent = oof_raw[recent], learn.y[recent]
    calibrator = fit_calibrator(
        raw_recent,
        y_recent,
        cfg.calibration,
        seed=cfg.seed,
        cv_folds=cfg.calibration_cv_folds,
        increasing=cfg.selection.check_signal,  # switched off: the gate alone judges the model
        isotonic_min_rows=cfg.calibration_isotonic_min_rows,
        isotonic_end_rows=cfg.calibration_isotonic_end_rows,
    )
    report: dict[str, Any] = {
        "method": calibrator.method,
        "requested": cfg.calibration,
        "cv_brier": dict(calibrator.cv_brier),
        "isotonic_min_rows": cfg.calibration_isotonic_min_rows,
        "valid": _calibration_metrics(y_recent, raw_recent, calibrator, cfg.ece_bins),
    }
    if learn.fold_kind == "time_ordered":
        report["block_offsets"] = block_offsets(learn.y, oof_raw, learn.folds)
        if cfg.calibration_trend_min_z is not None:
            assert times is not None
            trend = trend_shift(
                learn.y, oof_raw, learn.folds, times, recent, cfg.maturity_days, cfg.calibration_trend_min_z
            )
            calibrator = calibrator.shifted(trend.shift)
            report["trend"] = trend.record()
    return calibrator, report


def train_conversion_model(
    frame: pd.DataFrame,
    y: np.ndarray | pd.Series,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    split: Split,
    cfg: ModelConfig,
) -> TrainedModel:
    """Gate, choose and fit the model on the learning window (the split's train + validation rows), calibrate
    it on the most recent labelled rows, and freeze the grade cut points there. The test rows are only scored.

    1. Folds inside the learning window: expanding windows by snapshot time (grouped stratified folds when the
       rows have no time order), see models.selection.
    2. Drift check: features that alone tell the most recent block from the older rows (absolute dates,
       trending series) are dropped unless the config keeps them (model.drift); such numbers are read by the
       linear part only (the trees see them as missing), unless model.drift.numbers is "drop".
    3. Each contender (plain LightGBM; LightGBM boosted from a regularised logistic regression's log-odds) is
       boosted on every fold in lockstep; its tree count is the one with the lowest mean held-out log loss,
       and the contender with the lower loss is chosen.
    4. No signal: when the interval of the out-of-fold AUC includes 0.5, NoSignalError. Each fold is scored
       there by the contender, tree count and blend weight chosen on the other folds (cross_fitted_scores):
       choices made on the folds that measure would lift the AUC of data without signal. Also when the
       chosen contender's own out-of-fold AUC is below model.selection.min_auc.
    5. The final model is refitted on every learning row with that choice; the calibrator (monotone
       increasing, or refused) is fitted on the out-of-fold scores of the most recent held-out blocks
       (the newest, and older ones until model.calibration_min_rows rows; see calibration_rows).

    `frame` and `y` are aligned by position; `split` holds positions into them. The calibration report gives
    Brier and ECE before and after calibration on the calibration rows and on the test window (honest);
    `selection` records every choice and the numbers behind it.
    """
    labels = np.asarray(y)
    if len(labels) != len(frame):
        raise ValueError(f"frame has {len(frame)} rows but y has {len(labels)}")
    feature_names, categorical = list(feature_names), [c for c in feature_names if c in set(categorical)]
    learn_at = np.sort(np.concatenate([split.train, split.valid]))  # never the test rows
    # Counted on every row the model learns from: the selection folds and the final refit read the validation
    # rows too. Counting the training window alone refused a backtest fold whose rows held 45 won (39 of them
    # before the validation cut), which `leadscore evaluate` had checked held the minimum.
    counts = check_minimum_data(
        labels[learn_at], cfg.min_won, cfg.min_lost, window="learning (training and validation)"
    )
    labels = labels.astype(int)

    rows, y_learn = frame.iloc[learn_at], labels[learn_at]
    folds, fold_kind, skipped = learning_folds(rows, y_learn, split, cfg)
    check_bagging_rows(folds, cfg.lightgbm)
    # The calibrator and the grade cut-offs are fitted on these rows, scored out of fold: they need both
    # classes. The validation window itself is only the newest part of the learning rows (the folds cut
    # their own), and checking it refused rare outcomes the model could learn (2 % won: 6 won in it, 17 here).
    recent = calibration_rows(folds, fold_kind, cfg.calibration_min_rows)
    calibration_counts = check_calibration_rows(y_learn[recent], fold_kind, cfg)
    drift = drift_check(rows, folds, fold_kind, feature_names, categorical, cfg)
    names = [name for name in feature_names if name not in set(drift["dropped"])]
    linear_only = list(drift["linear_only"])
    learn = learning_rows(
        rows, y_learn, folds, fold_kind, names, [c for c in categorical if c in names], linear_only, cfg
    )

    groups = target_stat_groups(learn)
    contenders = readers_of(linear_only, cfg.selection.contenders)
    if list(contenders) != list(cfg.selection.contenders):
        drift["contenders"] = {
            "kept": list(contenders),
            "why": "only the trees boosted from the linear part read the time-identifying numbers in full",
        }
    fold_linear = choose_linear_strength(learn, contenders)
    results = boost_contenders(learn, contenders, fold_linear, fold_datasets(learn, groups))
    chosen = min(results, key=lambda name: results[name].log_loss)  # the first listed on a tie
    best = results[chosen]

    # Whether there is signal is judged on scores no fold's own labels helped choose (the chosen contender's
    # are not: the best of several on the same folds looks better than chance on data without signal); the
    # floor min_auc is the chosen model's own out-of-fold AUC, the one its record and card report.
    signal_raw, signal_picks = cross_fitted_scores(results, folds, len(y_learn))
    signal, chosen_auc = auc_interval(learn, signal_raw), auc_interval(learn, best.oof_raw)
    if cfg.selection.check_signal and cfg.bootstrap_rounds and np.isnan(signal[1]):
        raise InsufficientDataError(_unmeasurable_signal_message(learn.y, folds, cfg))
    if cfg.selection.check_signal and not (signal[1] > 0.5 and chosen_auc[0] >= cfg.selection.min_auc):
        raise NoSignalError(
            _no_signal_message(signal, chosen_auc[0], folds, fold_kind, cfg)
            + drift_note(drift, feature_names)
        )
    selection = _selection_record(results, chosen, folds, fold_kind, skipped, drift, chosen_auc, cfg)
    selection["signal"] = {"auc": signal[0], "low": signal[1], "high": signal[2], "contenders": signal_picks}
    selection["calibration_rows"] = int(len(recent))
    selection["calibration_counts"] = calibration_counts
    if fold_linear.losses:
        selection["linear_c"] = fold_linear.c
        selection["linear_c_log_loss"] = fold_linear.losses

    booster, linear, stats, selection["target_stats"] = fit_final(learn, chosen, best, fold_linear.c, groups)
    oof_raw, reading = calibration_input(learn, chosen, best, linear, fold_linear, linear_only, recent)
    if reading is not None:
        selection["calibration_reading"] = reading
    calibrator, report = calibrate(learn, oof_raw, recent, rows.get("snapshot_at"))
    cutoff_scores = np.asarray(calibrator.predict(oof_raw[recent]), dtype=float)
    model = TrainedModel(
        booster=booster,
        calibrator=calibrator,
        encoder=learn.encoder,
        best_iteration=best.trees,
        grade_thresholds=grade_cutpoints(cutoff_scores, cfg.grades.shares()),
        calibration_report=report,
        split_summary=split.summary(),
        training_counts=counts,
        linear=linear,
        linear_only=linear_only,
        tree_weight=best.tree_weight,
        linear_weight=1.0 - best.tree_weight if chosen == "blend" else 1.0,
        selection=selection,
        target_stats=stats,
        feature_missing=missing_shares(names, learn.codes, learn.encoder.levels_),
        feature_range=value_ranges(names, learn.categorical, learn.codes),
        new_level_share=new_level_shares(names, learn.categorical, learn.codes),
        cutoff_scores=cutoff_scores,
    )
    if len(split.test):
        raw_test = model.predict_raw(frame.iloc[split.test])
        report["test"] = _calibration_metrics(labels[split.test], raw_test, calibrator, cfg.ece_bins)
    return model


def missing_shares(
    names: Sequence[str], encoded: np.ndarray, levels: dict[str, list[str]] | None = None
) -> dict[str, float]:
    """Share of rows with each feature missing in a model matrix (FeatureEncoder.transform: NaN is missing).
    With `levels` (FeatureEncoder.levels_), a categorical's level "unknown" counts as missing too: CRM
    features write a missing industry, country or job title's seniority so."""
    if len(encoded) == 0:
        return {name: 1.0 for name in names}
    shares = {}
    for j, name in enumerate(names):
        missing = np.isnan(encoded[:, j])
        if levels and UNKNOWN in levels.get(name, ()):
            missing |= encoded[:, j] == levels[name].index(UNKNOWN)
        shares[name] = float(missing.mean())
    return shares


def new_level_shares(
    names: Sequence[str], categorical: Sequence[str], encoded: np.ndarray
) -> dict[str, float]:
    """Per categorical feature, the share of rows of a model matrix whose level appears in no other row: the
    Good-Turing estimate of how often the next lead brings a level never seen."""
    shares = {}
    for j, name in enumerate(names):
        if name not in categorical:
            continue
        codes = encoded[:, j][~np.isnan(encoded[:, j])]
        counts = np.unique(codes, return_counts=True)[1]
        shares[name] = float((counts == 1).sum() / len(encoded)) if len(encoded) else 0.0
    return shares


def value_ranges(
    names: Sequence[str], categorical: Sequence[str], encoded: np.ndarray
) -> dict[str, tuple[float, float]]:
    """The smallest and largest value of each numeric feature with a value in a model matrix."""
    ranges = {}
    for j, name in enumerate(names):
        known = encoded[:, j][~np.isnan(encoded[:, j])]
        if name not in categorical and len(known):
            ranges[name] = (float(known.min()), float(known.max()))
    return ranges


def final_reading_shift(
    final: LinearScore,
    fold_parts: Sequence[LinearScore],
    folds: Sequence[Fold],
    codes: np.ndarray,
    positions: Sequence[int],
) -> np.ndarray:
    """Per held-out row, how much the final linear part's reading of the features at `positions` (the
    time-identifying numbers) adds to its log-odds beyond what its fold's linear part read (0 elsewhere).
    Both readings are measured from their mean over the fold's fitted rows, where the fold's intercept
    holds the level: only what the held-out rows' values add beyond that level is swapped."""
    shift = np.zeros(len(codes))
    final_part = final.contributions(codes)[:, positions].sum(axis=1)
    for (fit, held), part in zip(folds, fold_parts, strict=True):
        fold_part = part.contributions(codes)[:, positions].sum(axis=1)
        shift[held] = (final_part[held] - final_part[fit].mean()) - (fold_part[held] - fold_part[fit].mean())
    return shift


def with_target_stats(X: pd.DataFrame, stats: TargetStats, values: np.ndarray) -> pd.DataFrame:
    """The pandas matrix with the win-rate columns appended (named by TargetStats.names)."""
    names = stats.names(list(X.columns[: stats.n_features]))
    return pd.concat([X, pd.DataFrame(values, columns=names, index=X.index)], axis=1)


def calibration_rows(folds: list[Fold], fold_kind: str, min_rows: int) -> np.ndarray:
    """The rows the calibrator is fitted on: time-ordered, the most recent held-out blocks, newest first,
    until they hold `min_rows` rows (the latest level, with enough rows for a stable map); grouped, every
    held-out row."""
    if fold_kind != "time_ordered":
        return np.sort(np.concatenate([held for _, held in folds]))
    blocks: list[np.ndarray] = []
    for _, held in reversed(folds):  # newest block first
        blocks.append(held)
        if sum(len(b) for b in blocks) >= min_rows:
            break
    return np.sort(np.concatenate(blocks))


def check_calibration_rows(y_recent: np.ndarray, fold_kind: str, cfg: ModelConfig) -> dict[str, int]:
    """The won and lost counts of the calibration rows; InsufficientDataError, naming the settings, when
    either is below model.min_valid_per_class."""
    won, lost = int(y_recent.sum()), int(len(y_recent) - y_recent.sum())
    if won >= cfg.min_valid_per_class and lost >= cfg.min_valid_per_class:
        return {"n_won": won, "n_lost": lost}
    rows = "newest held-out rows" if fold_kind == "time_ordered" else "held-out rows"
    raise InsufficientDataError(
        f"not enough closed deals to calibrate: the {len(y_recent):,} {rows} of the selection folds, where the "
        f"calibrator and the grade cut-offs are fitted, hold {won} won and {lost} lost, fewer than "
        f"model.min_valid_per_class={cfg.min_valid_per_class} of each. Load more history, or raise "
        f"model.calibration_min_rows ({cfg.calibration_min_rows}) so that older held-out rows count too."
    )


def check_bagging_rows(folds: Sequence[Fold], cfg: LightGBMConfig) -> None:
    """InsufficientDataError, naming the setting, when LightGBM's bagging would draw no row of the smallest
    selection fold's fitted rows (it draws int(bagging_fraction * rows); 0 rows ended in its fatal check)."""
    if cfg.bagging_freq == 0 or not folds:
        return
    rows = min(len(fit) for fit, _ in folds)
    if int(cfg.bagging_fraction * rows) >= 1:
        return
    raise InsufficientDataError(
        f"not enough rows for model.lightgbm.bagging_fraction={cfg.bagging_fraction:g}: each tree would "
        f"learn from {int(cfg.bagging_fraction * rows)} of the {rows:,} rows the smallest selection fold "
        f"fits on. Set model.lightgbm.bagging_fraction to {math.ceil(10_000 / rows) / 10_000:g} or more, or "
        "model.lightgbm.bagging_freq=0 to turn bagging off."
    )


def learning_folds(
    rows: pd.DataFrame, y: np.ndarray, split: Split, cfg: ModelConfig
) -> tuple[list[Fold], str, int]:
    """The folds inside the learning rows: time-ordered when every row has a snapshot time and the split is
    not grouped_random, else grouped by account and stratified; the folds lacking a class are skipped.
    Returns the folds, their kind and how many were skipped."""
    times = rows["snapshot_at"] if "snapshot_at" in rows.columns else None
    timed = split.method != "grouped_random" and times is not None and bool(times.notna().all())
    if timed:
        assert times is not None
        folds, kind = time_ordered_folds(times, cfg.selection.folds), "time_ordered"
    else:
        groups = rows["account_id"].to_numpy() if "account_id" in rows.columns else None
        folds, kind = grouped_folds(y, groups, cfg.selection.folds, cfg.seed), "grouped"
    kept, skipped = usable_folds(folds, y)
    if len(kept) < 2:
        raise InsufficientDataError(
            f"the learning window's {len(y)} rows ({int(y.sum())} won) give {len(kept)} usable "
            f"{kind.replace('_', '-')} folds of the {cfg.selection.folds} asked (each fold needs won and lost "
            "deals on both sides, and distinct snapshot times to cut at); load more history, or lower "
            "model.selection.folds."
        )
    return kept, kind, skipped


def readers_of(linear_only: Sequence[str], contenders: Sequence[str]) -> list[str]:
    """The contenders that compete when the drift check hands numbers to the linear part: only the trees
    boosted from it (linear_lightgbm) read them in full. Plain trees cannot read them and a blend may weigh
    the linear part down to nothing; the selection folds cannot be trusted to see that, since each fold's
    linear part was fitted before the numbers moved (a bank's funnel, seed 5: plain trees chosen, ECE 0.178;
    linear_lightgbm 0.094 and a higher AUC). All of them when nothing is handed over or linear_lightgbm is
    not configured."""
    if linear_only and "linear_lightgbm" in contenders:
        return ["linear_lightgbm"]
    return list(contenders)


def newest_and_before(
    times: pd.Series | None, folds: list[Fold], n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the newest half (by time) of the most recent held-out block, and of the held-out block before
    that one: a level held in both outlasted the half block between them, as a sales rep does and a month
    or a quarter's campaign does not. Without times, the whole recent block."""
    recent = folds[-1][1]
    newest = np.zeros(n_rows, dtype=bool)
    if times is None:
        newest[recent] = True
    else:
        values = pd.to_datetime(times).to_numpy()
        newest[recent[values[recent] >= np.sort(values[recent])[len(recent) // 2]]] = True
    before = np.zeros(n_rows, dtype=bool)
    before[folds[-2][1] if len(folds) > 1 else folds[-1][0]] = True  # one fold: the rows it fits on
    return newest, before


def drift_check(
    rows: pd.DataFrame,
    folds: list[Fold],
    fold_kind: str,
    feature_names: list[str],
    categorical: list[str],
    cfg: ModelConfig,
) -> dict[str, Any]:
    """The adversarial check on the learning rows (most recent held-out block against the older rows): the
    features it drops, and the numbers only the linear part reads (model.drift.numbers); a record of it."""
    if not cfg.drift.enabled:
        return {"checked": False, "why": "model.drift.enabled is false", "dropped": [], "linear_only": []}
    if fold_kind != "time_ordered":
        return {"checked": False, "why": "the rows have no time order", "dropped": [], "linear_only": []}
    recent = np.zeros(len(rows), dtype=bool)
    recent[folds[-1][1]] = True
    aucs = adversarial_auc(rows, recent, feature_names, categorical)
    flagged = time_identifying(aucs, cfg.drift.adversarial_auc)
    short_seasons = [  # a kept month of the year in a history that does not cover the year: left out
        name
        for name in flagged
        if name in set(cfg.drift.keep)
        and name in SEASON_FEATURES
        and not year_covered(rows[name], cfg.drift.season_min_rows_per_month)
    ]
    candidates = [
        name
        for name in flagged
        if name in set(categorical) and name not in set(cfg.drift.keep) and name not in SEASON_FEATURES
    ]
    recurring: dict[str, float] = {}
    if candidates:  # a flagged category most of whose newest rows hold levels of the period before: kept
        newest, before = newest_and_before(rows.get("snapshot_at"), folds, len(rows))
        shares = {
            name: seen_share(rows[name], newest, before, cfg.drift.recurring_min_rows) for name in candidates
        }
        recurring = {n: round(v, 4) for n, v in shares.items() if v >= cfg.drift.recurring_share}
    left_out = [
        name
        for name in time_identifying(aucs, cfg.drift.adversarial_auc, cfg.drift.keep)
        if name not in recurring
    ] + short_seasons
    to_linear = cfg.drift.numbers == "linear" and bool(
        {"linear_lightgbm", "blend"} & set(cfg.selection.contenders)
    )
    numbers = [name for name in left_out if name not in set(categorical) and name not in short_seasons]
    linear_only = numbers if to_linear else []
    record: dict[str, Any] = {
        "checked": True,
        "threshold": cfg.drift.adversarial_auc,
        "recent_rows": int(recent.sum()),
        "auc": {name: round(float(value), 4) for name, value in aucs.head(10).items()},
        "flagged": flagged,
        "kept": [name for name in flagged if name not in left_out and name not in recurring],
        "dropped": [name for name in left_out if name not in linear_only],
        "linear_only": linear_only,
        "not_recurring": short_seasons,
        "recurring": recurring,
    }
    if len(left_out) == len(feature_names):
        record |= {
            "dropped": [],
            "linear_only": [],
            "not_recurring": [],
            "why": "every feature was flagged; none left out",
        }
    return record


def _selection_record(
    results: dict[str, BoostingResult],
    chosen: str,
    folds: list[Fold],
    fold_kind: str,
    skipped: int,
    drift: dict[str, Any],
    signal: tuple[float, float, float],
    cfg: ModelConfig,
) -> dict[str, Any]:
    weight = {name: f", tree weight {r.tree_weight:.2f}" for name, r in results.items() if name == "blend"}
    losses = ", ".join(
        f"{name} {r.log_loss:.4f} ({r.trees} trees{weight.get(name, '')})" for name, r in results.items()
    )
    return {
        "folds": fold_kind,
        "n_folds": len(folds),
        "skipped_folds": skipped,
        "fold_rows": [[int(len(fit)), int(len(held))] for fit, held in folds],
        "contenders": {
            name: {"log_loss": r.log_loss, "trees": r.trees, "fold_log_loss": r.fold_log_loss}
            | ({"tree_weight": r.tree_weight} if name == "blend" else {})
            for name, r in results.items()
        },
        "chosen": chosen,
        "why": f"lowest mean {fold_kind.replace('_', '-')} out-of-fold log loss: {losses}",
        "oof_auc": signal[0],
        "oof_auc_low": signal[1],
        "oof_auc_high": signal[2],
        "signal_confidence": cfg.selection.signal_confidence,
        "bootstrap_rounds": cfg.bootstrap_rounds,
        "drift": drift,
    }


def _unmeasurable_signal_message(y: np.ndarray, folds: list[Fold], cfg: ModelConfig) -> str:
    """The refusal when every bootstrap round of the out-of-fold AUC drew a held-out block of one outcome
    (model.selection.folds so many that the blocks hold a few rows): no interval, where it read "nan to nan,
    which includes 0.5", a model with an AUC of 0.7 refused as no signal."""
    smallest = min(folds, key=lambda fold: len(fold[1]))[1]
    won = int(y[smallest].sum())
    return (
        f"too few rows in each selection fold to check the signal: model.selection.folds={cfg.selection.folds} "
        f"cuts the learning window's {len(y):,} rows into held-out blocks of as few as {len(smallest)} rows "
        f"({won} won, {len(smallest) - won} lost), and in every bootstrap round of the out-of-fold AUC some block drew "
        "one outcome alone, so its interval cannot be measured. Lower model.selection.folds, or give more history."
    )


def drift_note(drift: dict[str, Any], feature_names: Sequence[str]) -> str:
    """For a refusal: the features the drift check left out, with its setting, when it left any out (with
    model.drift.adversarial_auc 0.51 nearly all, and the refusal sent the user to check the labels)."""
    dropped = list(drift.get("dropped", []))
    if not dropped:
        return ""
    return (
        f" The drift check left out {len(dropped)} of the {len(feature_names)} features as time-identifying "
        f"(model.drift.adversarial_auc {drift['threshold']:g}): raise it, or list features in "
        "model.drift.keep, if they tell the lead rather than the period."
    )


def _no_signal_message(
    signal: tuple[float, float, float], chosen_auc: float, folds: list[Fold], fold_kind: str, cfg: ModelConfig
) -> str:
    """The refusal: the cross-fitted AUC and its interval when that includes 0.5, else the chosen model's AUC
    below the floor."""
    auc, low, high = signal
    held = sum(len(h) for _, h in folds)
    kind = fold_kind.replace("_", "-")
    interval = (
        f"{cfg.selection.signal_confidence:.0%} interval {low:.3f} to {high:.3f}, each fold scored by the "
        "model chosen on the other folds"
    )
    what = (
        f"the {kind} out-of-fold ROC AUC is {auc:.3f} ({interval}, which includes 0.5)"
        if not low > 0.5
        else f"the chosen model's {kind} out-of-fold ROC AUC is {chosen_auc:.3f}, below "
        f"model.selection.min_auc {cfg.selection.min_auc:.2f} (cross-fitted {auc:.3f}, {interval})"
    )
    return (
        f"no learnable signal: {what} on {held} held-out rows in {len(folds)} folds of the learning window, "
        "so the features tell won from lost deals no better than chance and no model was trained. Check that "
        "the label column holds the outcome of these rows (won = 1), that the features are filled in and "
        "known when the lead is scored, and that there is enough closed history."
    )
