"""Backtests: the same folds for leadscore's default pipeline and every baseline, and their metrics.

Three ways to cut labelled rows into folds (positions into the labelled rows, sorted ascending):
- `kfold_folds`: scikit-learn's StratifiedKFold(k, shuffle=True, random_state=seed) over the rows in input
  order (`BacktestData.input_order`: the sources list them by id, pipelines.sources.in_id_order), so anyone
  can reproduce the folds;
- `out_of_time_folds`: train on the earliest rows by time, test on the latest `test_fraction`;
- `rolling_folds`: the latest `test_fraction` of rows cut into N consecutive windows, each trained only on
  rows strictly earlier than its window.
Inside each fold's training rows, leadscore's pipeline gets its own train / validation split
(`inner_split`): time-ordered when there are times, stratified random otherwise. The fold's test rows are
never handed to any contender's training. Pure: no disk, no printing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from models.baselines import MISSING_CATEGORY, PointsModel, fit_logistic_regression
from models.config import BACKTEST_CONTENDERS as CONTENDERS
from models.config import BacktestConfig, ModelConfig
from models.evaluate import expected_calibration_error, log_loss, pr_auc, roc_auc
from models.formatting import figure_text
from models.minimum_data import InsufficientDataError
from models.splits import Split, known_before
from models.train import FeatureEncoder, TrainedModel, train_conversion_model

METRICS = ("roc_auc", "pr_auc", "log_loss", "ece")
HGB_MAX_LEVELS = 250  # HistGradientBoosting takes at most 255 categories per feature (less its own reserve)


@dataclass
class BacktestData:
    """Labelled rows ready for folds: features, 0/1 labels, optional times and true probabilities."""

    frame: pd.DataFrame
    y: np.ndarray
    feature_names: list[str]
    categorical: list[str]
    times: pd.Series | None = None  # one timestamp per row, or None when the data have no time column
    true_probability: np.ndarray | None = None  # synthetic data: the generator's truth (the oracle)
    with_points: bool = True  # the points model needs CRM event features
    known_at: pd.Series | None = None  # when each row's outcome became known (a deal's close), if recorded
    input_order: np.ndarray | None = None  # positions listing the rows as the input did (None: as they are)
    # Days between the newest learning row and scoring that the source implies (an export: 0, its rows are
    # not cut at model.maturity_days); None: the configuration's.
    maturity_days: int | None = None
    left_out: list[str] = field(default_factory=list)  # what was read but is not here, and why (sentences)
    warnings: list[str] = field(default_factory=list)  # what `train` would warn of in these data (sentences)

    def counts(self) -> dict[str, int]:
        return {"rows": len(self.y), "won": int((self.y == 1).sum()), "lost": int((self.y == 0).sum())}


@dataclass(frozen=True)
class Fold:
    """Positions of one fold's training and test rows (and, when cut by time, where its test window lies)."""

    name: str
    train: np.ndarray
    test: np.ndarray
    test_start: pd.Timestamp | None = None
    test_end: pd.Timestamp | None = None
    not_known: int = 0  # earlier rows left out of training: their outcome was not known at test_start


@dataclass
class FoldResult:
    """What one fold measured: metrics per contender, or why the fold or a contender has none."""

    fold: Fold
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # contender -> the reason it has no score
    skipped: str | None = None  # the whole fold was skipped (one class), and why
    test_won_share: float = float("nan")

    @property
    def status(self) -> str:
        """skipped, some refused (a contender has no score here) or ok: the console's and the JSON's."""
        if self.skipped:
            return "skipped"
        return "some refused" if self.refused else "ok"

    def summary(self) -> dict[str, Any]:
        fold = self.fold
        out: dict[str, Any] = {
            "fold": fold.name,
            "n_train": len(fold.train),
            "n_test": len(fold.test),
            "n_not_known": fold.not_known,
            "test_won_share": self.test_won_share,
            "status": self.status,  # the JSON said "ok" where the console said "some refused"
        }
        if fold.test_start is not None and fold.test_end is not None:
            out["test_start"], out["test_end"] = fold.test_start.isoformat(), fold.test_end.isoformat()
        if self.skipped:
            out["reason"] = self.skipped
        out["metrics"] = self.metrics
        if self.refused:
            out["refused"] = self.refused
        return out


# Folds --------------------------------------------------------------------------------------------------


def check_enough_labels(
    y: np.ndarray, what: str, per_class: int, min_won: int, min_lost: int, per_fold: int = 1
) -> None:
    """InsufficientDataError naming the counts unless `y` has `per_fold` rows of each class for each of the
    `per_class` test folds (or windows) asked, and the training minimum (min_won / min_lost) overall."""
    won, lost = int((y == 1).sum()), int((y == 0).sum())
    if len(y) and not (won and lost):  # "ask for fewer folds" cannot help: the label names one outcome only
        present, absent = ("won", "lost") if won else ("lost", "won")
        raise InsufficientDataError(
            f"too little labelled data for {what}: every one of the {len(y)} labelled rows is {present}, so no "
            f"fold or window can tell won from lost. Check that {absent} rows are exported with their outcome "
            "(for a flat export: that the spec's positive_labels and negative_labels hold the label column's "
            "values)."
        )
    need = per_class * per_fold
    need_won, need_lost = max(need, min_won), max(need, min_lost)
    if won < need_won or lost < need_lost:
        each = (
            f"{per_fold} of each class in each of the {per_class} test folds, evaluate.min_test_rows_per_class"
            if per_fold > 1
            else f"{per_class} of each so that every test fold has both"
        )
        raise InsufficientDataError(
            f"too little labelled data for {what}: {won} won and {lost} lost labelled rows; it needs at "
            f"least {need_won} won and {need_lost} lost ({each}, and model.min_won={min_won} / "
            f"model.min_lost={min_lost} to train). Ask for fewer folds or windows, or give more labelled "
            "history."
        )


def kfold_folds(y: np.ndarray, k: int, seed: int, order: np.ndarray | None = None) -> list[Fold]:
    """StratifiedKFold(k, shuffle=True, random_state=seed) over the rows listed in `order` (positions; None:
    as they are), as scikit-learn cuts them for anyone who lists the rows so."""
    order = np.arange(len(y)) if order is None else np.asarray(order)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        Fold(name=f"fold {i + 1}", train=np.sort(order[train]), test=np.sort(order[test]))
        for i, (train, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y[order]))
    ]


def _cut_times(times: pd.Series, shares: Sequence[float]) -> list[pd.Timestamp]:
    """For each share, the earliest time with at least that share of the rows strictly before it."""
    values = pd.to_datetime(times).to_numpy()
    unique_times, counts = np.unique(values, return_counts=True)
    rows_before = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cuts = []
    for share in shares:
        position = min(
            int(np.searchsorted(rows_before, share * len(values), side="left")), len(unique_times) - 1
        )
        cuts.append(pd.Timestamp(unique_times[position]))
    return cuts


def rolling_folds(times: pd.Series, windows: int, test_fraction: float) -> list[Fold]:
    """The latest `test_fraction` of rows in `windows` consecutive test windows by time; each window is
    trained on every row strictly earlier than its start. Rows sharing a time stay in one window."""
    if windows < 1:
        raise ValueError("the number of rolling windows must be at least 1")
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    values = pd.to_datetime(times).to_numpy()
    if pd.isna(values).any():
        raise ValueError(
            f"{int(pd.isna(values).sum())} rows have no time; a time-ordered fold needs one per row"
        )
    shares = [1 - test_fraction + test_fraction * i / windows for i in range(windows)]
    starts = _cut_times(times, shares)
    ends = [*starts[1:], None]
    folds = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        before_start = values < start.to_datetime64()
        in_window = ~before_start if end is None else (~before_start & (values < end.to_datetime64()))
        test = np.flatnonzero(in_window)
        if len(test) == 0 or not before_start.any():
            raise ValueError(
                f"too few distinct times to cut {windows} test window(s) from the latest "
                f"{figure_text(test_fraction * 100, 4)}% "
                "of rows; ask for fewer windows or a larger test fraction"
            )
        name = "out of time" if windows == 1 else f"window {i + 1}"
        folds.append(
            Fold(
                name=name,
                train=np.flatnonzero(before_start),
                test=test,
                test_start=pd.Timestamp(values[test].min()),
                test_end=pd.Timestamp(values[test].max()),
            )
        )
    return folds


def out_of_time_folds(times: pd.Series, test_fraction: float) -> list[Fold]:
    """One fold: train on rows earlier than the latest `test_fraction`, test on those latest rows."""
    return rolling_folds(times, 1, test_fraction)


def known_at_cutoff(fold: Fold, times: pd.Series, known_at: pd.Series, maturity_days: int) -> Fold:
    """The fold with only the training rows `leadscore train` could learn from at its test window's start
    (models.splits.known_before). Without it a backtest trains on outcomes that came after the cutoff."""
    if fold.test_start is None:
        return fold
    created, closed = pd.Series(times).iloc[fold.train], pd.Series(known_at).iloc[fold.train]
    known = known_before(created, closed, fold.test_start, maturity_days)  # it reads them as times
    return replace(fold, train=fold.train[known], not_known=int((~known).sum()))


def inner_split(y: np.ndarray, times: pd.Series | None, valid_fraction: float, seed: int) -> Split:
    """Train / validation positions inside one fold's training rows (no test rows): the latest
    `valid_fraction` by time when there are times, a stratified random draw otherwise."""
    positions = np.arange(len(y))
    if times is not None:
        values = pd.to_datetime(times).to_numpy()
        (valid_start,) = _cut_times(pd.Series(values), [1 - valid_fraction])
        train = np.flatnonzero(values < valid_start.to_datetime64())
        valid = np.flatnonzero(values >= valid_start.to_datetime64())
        method = "backtest_out_of_time"
    else:
        stratify = y if min(int((y == 1).sum()), int((y == 0).sum())) >= 2 else None
        train, valid = train_test_split(
            positions, test_size=valid_fraction, stratify=stratify, random_state=seed
        )
        train, valid, method = np.sort(train), np.sort(valid), "backtest_random"
    if len(train) == 0 or len(valid) == 0:
        why = ""
        if times is not None:  # rows sharing a time stay in one window: one day of history cannot be cut
            distinct = len(pd.unique(pd.to_datetime(times)))
            why = (
                f": they were created at {distinct} distinct time{'s' if distinct != 1 else ''}, and rows "
                "sharing a time stay in one window; the test window needs more dated history before it, or "
                "--set model.split.method=grouped_random draws the validation rows at random"
            )
        raise InsufficientDataError(
            "the fold's training rows cannot be cut into a training and a validation window "
            f"({len(train)} and {len(valid)} rows){why}"
        )
    return Split(train=train, valid=valid, test=np.array([], dtype=int), method=method)


# Contenders ---------------------------------------------------------------------------------------------


@dataclass
class Prediction:
    """A contender's probabilities on the test rows, and the score it ranks by when that differs (points)."""

    p: np.ndarray
    score: np.ndarray | None = None


def catboost_available() -> bool:
    try:
        import catboost  # noqa: F401
    except ImportError:
        return False
    return True


def _capped_levels(X_train: pd.DataFrame, X_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Categoricals with at most HGB_MAX_LEVELS categories: the most frequent in training; others missing."""
    X_train, X_test = X_train.copy(), X_test.copy()
    for name in X_train.columns:
        if isinstance(X_train[name].dtype, pd.CategoricalDtype):
            counts = X_train[name].value_counts()
            if len(X_train[name].cat.categories) > HGB_MAX_LEVELS:
                kept = counts.index[:HGB_MAX_LEVELS].tolist()
                X_train[name] = X_train[name].cat.set_categories(kept)
                X_test[name] = X_test[name].cat.set_categories(kept)
    return X_train, X_test


def _text_and_numbers(frame: pd.DataFrame, names: list[str], categorical: list[str]) -> pd.DataFrame:
    """Categoricals as text (missing -> a level of its own), numerics as float: what CatBoost takes."""
    X = FeatureEncoder(names, categorical).fit(frame).frame(frame)
    for name in categorical:
        X[name] = frame[name].astype("str").fillna(MISSING_CATEGORY).to_numpy(dtype=object)
    return X


def train_leadscore(
    data: BacktestData, fold: Fold, model_cfg: ModelConfig, cfg: BacktestConfig
) -> TrainedModel:
    """leadscore's default pipeline fitted on the fold's training rows only, as `train` would fit it."""
    if data.maturity_days is not None:
        model_cfg = model_cfg.model_copy(update={"maturity_days": data.maturity_days})
    train = data.frame.iloc[fold.train].reset_index(drop=True)
    y_train = data.y[fold.train]
    # As `train` does: model.split.method grouped_random (for dates that cannot be trusted or cut) draws the
    # validation rows and the selection folds at random; evaluate cut them by time whatever it said.
    grouped = model_cfg.split.method == "grouped_random"
    times = None if data.times is None or grouped else data.times.iloc[fold.train].reset_index(drop=True)
    split = inner_split(y_train, times, cfg.valid_fraction, model_cfg.seed)
    if grouped:
        split = replace(split, method="grouped_random")
    return train_conversion_model(train, y_train, data.feature_names, data.categorical, split, model_cfg)


def predict_contender(
    name: str,
    data: BacktestData,
    fold: Fold,
    model_cfg: ModelConfig,
    cfg: BacktestConfig,
) -> Prediction:
    """Fit contender `name` on the fold's training rows only and predict its test rows."""
    frame, y = data.frame, data.y
    train, test = frame.iloc[fold.train].reset_index(drop=True), frame.iloc[fold.test].reset_index(drop=True)
    y_train = y[fold.train]
    names, categorical, seed = data.feature_names, data.categorical, model_cfg.seed
    if name == "leadscore":
        model = train_leadscore(data, fold, model_cfg, cfg)
        return Prediction(np.asarray(model.predict_proba(test), dtype=float))
    if name == "points_model":
        points = PointsModel(model_cfg.points).fit(train, y_train, seed=seed)
        return Prediction(points.predict_proba(test), points.score(test).to_numpy(dtype=float))
    if name == "logistic_regression":
        logistic = fit_logistic_regression(
            train,
            y_train,
            names,
            categorical,
            seed,
            c=model_cfg.logistic_c,
            min_frequency=model_cfg.logistic_min_frequency,
            clip=model_cfg.logistic_clip,
        )
        return Prediction(logistic.predict_proba(test))
    iterations = cfg.baseline_iterations
    if name == "catboost_default":
        from catboost import CatBoostClassifier

        options: dict[str, Any] = {"iterations": iterations} if iterations else {}
        booster = CatBoostClassifier(
            random_seed=seed,
            verbose=False,
            allow_writing_files=False,
            thread_count=model_cfg.lightgbm.num_threads,
            cat_features=categorical,
            **options,
        )
        booster.fit(_text_and_numbers(train, names, categorical), y_train)
        return Prediction(
            np.asarray(booster.predict_proba(_text_and_numbers(test, names, categorical)))[:, 1]
        )
    encoder = FeatureEncoder(names, categorical).fit(train)
    X_train, X_test = encoder.frame(train), encoder.frame(test)
    if name == "lightgbm_default":
        options = {"n_estimators": iterations} if iterations else {}
        classifier = lgb.LGBMClassifier(
            random_state=seed, verbosity=-1, n_jobs=model_cfg.lightgbm.num_threads, **options
        )
        return Prediction(np.asarray(classifier.fit(X_train, y_train).predict_proba(X_test))[:, 1])
    if name == "hist_gradient_boosting":
        X_train, X_test = _capped_levels(X_train, X_test)
        # HGB's binning raises on a numeric column with no value in training; it carries nothing, drop it.
        empty = [c for c in X_train.columns if X_train[c].isna().all()]
        X_train, X_test = X_train.drop(columns=empty), X_test.drop(columns=empty)
        options = {"max_iter": iterations} if iterations else {}
        hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed, **options)
        with threadpool_limits(model_cfg.lightgbm.num_threads, user_api="openmp"):  # as many as LightGBM
            return Prediction(hgb.fit(X_train, y_train).predict_proba(X_test)[:, 1])
    raise ValueError(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")


def contenders_for(data: BacktestData, cfg: BacktestConfig) -> list[str]:
    """The configured contenders that apply to these data (and are installed), then the oracle if known."""
    names: list[str] = [
        name
        for name in cfg.contenders
        if (name != "points_model" or data.with_points)
        and (name != "catboost_default" or catboost_available())
    ]
    return [*names, "oracle"] if data.true_probability is not None else names


def metrics_of(y: np.ndarray, prediction: Prediction, ece_bins: int) -> dict[str, float]:
    """ROC AUC and PR AUC of the ranking score; log loss and ECE of the probabilities."""
    score = prediction.p if prediction.score is None else prediction.score
    return {
        "roc_auc": roc_auc(y, score),
        "pr_auc": pr_auc(y, score),
        "log_loss": log_loss(y, prediction.p),
        "ece": expected_calibration_error(y, prediction.p, ece_bins),
    }


def _one_class(y: np.ndarray, window: str) -> str | None:
    won, lost = int((y == 1).sum()), int((y == 0).sum())
    if won and lost:
        return None
    present = "won" if won else "lost"
    return f"the {window} rows ({len(y)}) are all {present}: AUC is undefined, fold skipped"


def _too_few(y: np.ndarray, per_class: int) -> str | None:
    won, lost = int((y == 1).sum()), int((y == 0).sum())
    if won >= per_class and lost >= per_class:
        return None
    return (
        f"the test rows ({len(y)}) hold {won} won and {lost} lost, fewer than "
        f"evaluate.min_test_rows_per_class={per_class} of each: their AUC would be noise, fold skipped"
    )


def evaluate_fold(
    data: BacktestData,
    fold: Fold,
    model_cfg: ModelConfig,
    cfg: BacktestConfig,
    contenders: Sequence[str],
    on_contender: Callable[[str], None] | None = None,
) -> FoldResult:
    """Every contender trained on the fold's training rows and measured on its test rows.

    A fold whose test or training rows hold one class, or whose test rows hold fewer than
    `cfg.min_test_rows_per_class` of a class, is skipped (with the reason): a rolling window of 107 test rows
    with 2 won was averaged in as an equal (AUC 0.38 against 0.80 in the window before). A contender that
    refuses to train (InsufficientDataError or a subclass: the minimum-data check, no learnable signal)
    is recorded with its reason; the other contenders still run.
    """
    y_test = data.y[fold.test]
    result = FoldResult(fold=fold, test_won_share=float(y_test.mean()) if len(y_test) else float("nan"))
    result.skipped = (
        _one_class(y_test, "test")
        or _one_class(data.y[fold.train], "training")
        or _too_few(y_test, cfg.min_test_rows_per_class)
    )
    if result.skipped:
        return result
    for name in contenders:  # a handful of contenders, each vectorised
        if on_contender is not None:
            on_contender(name)
        if name == "oracle":
            assert data.true_probability is not None
            prediction = Prediction(np.asarray(data.true_probability[fold.test], dtype=float))
        else:
            try:
                prediction = predict_contender(name, data, fold, model_cfg, cfg)
            except InsufficientDataError as error:
                result.refused[name] = f"{type(error).__name__}: {error}"
                continue
        result.metrics[name] = metrics_of(y_test, prediction, model_cfg.ece_bins)
    return result


def same_folds(results: Sequence[FoldResult]) -> list[FoldResult]:
    """The folds every contender measured, when some contender measured fewer than the others (it refused to
    train on some, e.g. no learnable signal there): means over unequal folds compare contenders on different
    test windows. Empty when every contender measured the same folds, or no fold holds them all."""
    measured = [result for result in results if not result.skipped and result.metrics]
    names = {name for result in measured for name in result.metrics}
    same = [result for result in measured if names <= set(result.metrics)]
    return same if 0 < len(same) < len(measured) else []


def mean_metrics(results: Sequence[FoldResult]) -> dict[str, dict[str, float]]:
    """Per contender: the mean of each metric over the folds that measured it, the AUC's standard
    deviation and the number of folds counted."""
    by_contender: dict[str, list[dict[str, float]]] = {}
    for result in results:
        for name, values in result.metrics.items():
            by_contender.setdefault(name, []).append(values)
    out: dict[str, dict[str, float]] = {}
    for name, rows in by_contender.items():
        summary: dict[str, float] = {}
        for metric in METRICS:
            measured = [row[metric] for row in rows if not math.isnan(row[metric])]
            summary[metric] = float(np.mean(measured)) if measured else float("nan")
        aucs = [row["roc_auc"] for row in rows if not math.isnan(row["roc_auc"])]
        summary["roc_auc_std"] = float(np.std(aucs)) if len(aucs) > 1 else float("nan")
        summary["folds"] = len(rows)
        out[name] = summary
    return out
