"""A regularised logistic regression on the model matrix whose log-odds split additively by feature.

It reads the float array LightGBM is fed (`models.train.FeatureEncoder.transform`: numbers, and category
codes with NaN for a missing or unseen level), so scoring one lead costs a few numpy operations. Design columns:
- a numeric feature: missing -> the training median plus a missing indicator; signed log1p; standardised
  on the training rows; clipped to +-`clip` standard deviations, so a value far outside the training range
  moves the log-odds by a bounded amount (it still extrapolates, unlike trees, up to that bound); a training
  value far from the others (a placeholder for unknown, -999999) reads as missing, in training and scoring;
- a categorical feature: one column per level with at least `min_frequency` training rows, one for the
  rarer levels, one for missing (and unseen) values.
Contributions: a feature's is sum_k coef_k * (x_k - mean_k) over its design columns (means on the training
rows), and the bias is the intercept plus sum_k coef_k * mean_k, so they add up to the log-odds exactly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse import hstack as sparse_hstack
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from features.frames import code_positions


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """sign(x) * log(1 + |x|): tames heavy tails (revenue, headcount, counts) for a linear model."""
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class LinearScore:
    """A fitted linear log-odds over the encoded matrix (see the module docstring); plain arrays only."""

    is_categorical: np.ndarray  # bool per feature
    medians: np.ndarray  # numeric features: imputation value (0 for categorical)
    centres: np.ndarray  # numeric features: mean of signed_log1p on the training rows
    scales: np.ndarray  # and its standard deviation (1 when constant)
    clip: float
    value_coef: np.ndarray  # numeric features: coefficient of the standardised value (0 for categorical)
    missing_coef: np.ndarray  # numeric features: coefficient of the missing indicator
    offsets: np.ndarray  # per feature: sum_k coef_k * mean_k over its design columns (numeric features)
    code_tables: dict[int, np.ndarray]  # categorical feature j -> contribution per code, the last for missing
    bias: float
    # Numeric feature j -> the far values training read as missing (placeholders such as -999999, see
    # FAR_ROBUST_SDS and far_values). Scoring reads them as missing too; any other value,
    # however far, is standardised and clipped (the linear part extrapolates up to the clip). None: a model
    # saved before the rule.
    placeholders: dict[int, np.ndarray] | None = None

    def standardised(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Clipped standardised numeric values and missing indicators (categorical columns: zeros); a
        placeholder value reads as missing."""
        missing = np.isnan(X) & ~self.is_categorical
        for j, values in (self.placeholders or {}).items():  # a loop over the few features that have any
            missing[:, j] |= np.isin(X[:, j], values)
        filled = np.where(missing, self.medians, np.nan_to_num(X))
        z = np.clip((signed_log1p(filled) - self.centres) / self.scales, -self.clip, self.clip)
        return np.where(self.is_categorical, 0.0, z), missing.astype(float)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """rows x (features, then the bias): each feature's share of the log-odds; rows sum to `margin`."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        z, missing = self.standardised(X)
        out = np.empty((X.shape[0], X.shape[1] + 1))
        out[:, :-1] = z * self.value_coef + missing * self.missing_coef - self.offsets
        for j, table in self.code_tables.items():  # a loop over the categorical columns
            out[:, j] = table[code_positions(X[:, j], len(table) - 1)]
        out[:, -1] = self.bias
        return out

    def margin(self, X: np.ndarray) -> np.ndarray:
        """The log-odds of each row."""
        return self.contributions(X).sum(axis=1)


# A training value this many robust standard deviations (of the signed log) from the median is no part of the
# spread the standardisation measures, and reads as missing (with the missing indicator): a placeholder for unknown
# (-999999, 9999999999) written in a tenth of the rows stretched the standard deviation sevenfold, squeezed every
# real value into a sliver of the clipped range, and the linear part, and leadscore's model boosted from it, lost
# the feature (AUC 0.825 -> 0.660 where LightGBM's own kept 0.797). Only when a gap of FAR_MIN_GAP (on the signed
# log: a factor of about 7), and no less than the near values' own span, parts the far values from the rest: a
# series that sat still for months and then moved (an interest rate published monthly) has a tiny robust spread
# in the rows of its quiet months, and its later values, a step away, are the signal, not a placeholder (the
# bank funnel's backtest lost 0.016 AUC and its ECE rose 0.03 -> 0.19 before this gap was asked for).
# And only a value repeated (PLACEHOLDER_MIN_ROWS rows and PLACEHOLDER_MIN_SHARE of them at least) that, with the
# other repeated far values, makes most of the far rows (PLACEHOLDER_MIN_COVER): a placeholder is one value written
# for "unknown", while real values far from the bulk are many distinct ones (a few enterprise accounts' headcounts
# beside a book of small firms, refunds beside sales), which the linear part keeps reading: read as missing they
# got the missing indicator's weight, an unknown headcount the enterprise uplift, and scores stopped rising with
# the value.
FAR_ROBUST_SDS = 8.0
FAR_MIN_GAP = 2.0
PLACEHOLDER_MIN_ROWS = 5
PLACEHOLDER_MIN_SHARE = 0.005
PLACEHOLDER_MIN_COVER = 0.8
PLACEHOLDERS_KEPT = 3  # placeholders are a convention or two; more repeated far values are real ones


def near_range(logged: np.ndarray) -> tuple[float, float]:
    """The signed-log values within FAR_ROBUST_SDS robust standard deviations of the median (the larger of the
    MAD's and the interquartile range's estimate), on each side where the values beyond are parted from the near
    ones by a gap of FAR_MIN_GAP and of the near values' span at least; (-inf, inf) when the values are too tied
    to tell, or when every value or none would be far: ordinary data keep every value, and the same numbers as
    before."""
    if not len(logged):
        return -np.inf, np.inf
    median = float(np.median(logged))
    q25, q75 = np.percentile(logged, [25, 75])
    robust = max(1.4826 * float(np.median(np.abs(logged - median))), float(q75 - q25) / 1.349)
    if robust <= 1e-12:
        return -np.inf, np.inf
    low, high = median - FAR_ROBUST_SDS * robust, median + FAR_ROBUST_SDS * robust
    near = (logged >= low) & (logged <= high)
    if not 0 < near.sum() < len(logged):
        return -np.inf, np.inf
    nearest, farthest = float(logged[near].min()), float(logged[near].max())
    gap = max(FAR_MIN_GAP, farthest - nearest)
    below, above = logged[logged < low], logged[logged > high]
    parted_below = len(below) > 0 and nearest - float(below.max()) >= gap
    parted_above = len(above) > 0 and float(above.min()) - farthest >= gap
    return (low if parted_below else -np.inf), (high if parted_above else np.inf)


def far_values(x: np.ndarray) -> np.ndarray:
    """A training column's placeholders, most frequent first: its values outside `near_range` that are each
    repeated and together make most of the far rows (see PLACEHOLDER_MIN_COVER); none when the far rows are many
    distinct values, or more than PLACEHOLDERS_KEPT repeated ones. Empty for ordinary data."""
    given = x[~np.isnan(x)]
    logged = signed_log1p(given)
    low, high = near_range(logged)
    values, counts = np.unique(given[(logged < low) | (logged > high)], return_counts=True)
    repeated = counts >= max(PLACEHOLDER_MIN_ROWS, PLACEHOLDER_MIN_SHARE * len(given))
    if not repeated.any() or repeated.sum() > PLACEHOLDERS_KEPT:
        return values[:0]
    if counts[repeated].sum() < PLACEHOLDER_MIN_COVER * counts.sum():
        return values[:0]
    values, counts = values[repeated], counts[repeated]
    return values[np.argsort(-counts, kind="stable")]


def _numeric_design(x: np.ndarray, clip: float) -> tuple[list[np.ndarray], float, float, float, np.ndarray]:
    """The feature's design columns (the clipped standardised value, and a missing indicator when some value is
    missing or far), its median, centre and scale, and the far values read as missing (most frequent first)."""
    placeholders = far_values(x)
    missing = np.isnan(x) | np.isin(x, placeholders)
    median = float(np.median(x[~missing])) if (~missing).any() else 0.0
    logged = signed_log1p(np.where(missing, median, x))
    centre, scale = float(logged.mean()), float(logged.std())
    scale = scale if scale > 1e-12 else 1.0
    columns = [np.clip((logged - centre) / scale, -clip, clip)]
    if missing.any():
        columns.append(missing.astype(float))
    return columns, median, centre, scale, placeholders


def _category_slots(codes: np.ndarray, n_levels: int, min_frequency: int) -> tuple[np.ndarray, int]:
    """Per code (the last for missing), its design column among the feature's own columns; and how many."""
    missing = np.isnan(codes)
    counts = np.bincount(codes[~missing].astype(np.int64), minlength=n_levels)
    kept = np.flatnonzero(counts >= min_frequency)
    slot = np.full(n_levels + 1, -1, dtype=np.int64)
    slot[kept] = np.arange(len(kept))
    n_columns = len(kept)
    rare = np.flatnonzero((counts > 0) & (counts < min_frequency))
    if len(rare) or (counts == 0).any():  # rare and never-seen levels share one column
        slot[:n_levels][slot[:n_levels] < 0] = n_columns
        n_columns += 1
    slot[n_levels] = n_columns  # missing (and unseen, which the encoded matrix also makes NaN)
    return slot, n_columns + 1


# Wider designs are fitted sparse (see fit_linear_score); narrower ones dense, as they always were.
DENSE_MAX_COLUMNS = 500

# A feature's design columns: a categorical's design column per row and how many, or a numeric's columns.
Block = tuple[np.ndarray, int] | np.ndarray


def _design_matrix(blocks: list[Block], n: int, dense: bool) -> np.ndarray | csr_matrix:
    """The design columns side by side: a categorical block as its one-hot columns, a numeric one as is."""
    parts: list[np.ndarray | csr_matrix] = []
    for block in blocks:
        if isinstance(block, tuple):
            column, width = block
            one_hot = csr_matrix((np.ones(n), (np.arange(n), column)), shape=(n, width))
            parts.append(one_hot.toarray() if dense else one_hot)
        else:
            parts.append(block if dense else csr_matrix(block))
    if not parts:
        return np.zeros((n, 0))
    return np.hstack(parts) if dense else sparse_hstack(parts, format="csr")


def fit_linear_score(
    X: np.ndarray,
    y: np.ndarray,
    is_categorical: np.ndarray,
    n_levels: dict[int, int],
    *,
    c: float,
    min_frequency: int,
    clip: float,
    seed: int,
) -> LinearScore:
    """L2 logistic regression (inverse strength `c`) on the design columns of the encoded matrix `X`.

    `n_levels` gives, per categorical column index, how many levels its codes run over.
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    is_categorical = np.asarray(is_categorical, dtype=bool)
    medians, centres, scales = np.zeros(p), np.zeros(p), np.ones(p)
    placeholders: dict[int, np.ndarray] = {}
    blocks: list[Block] = []
    owner: list[tuple[int, str]] = []  # per design column: its feature and its kind
    slots: dict[int, np.ndarray] = {}
    for j in range(p):  # a loop over the features
        if is_categorical[j]:
            slot, width = _category_slots(X[:, j], n_levels[j], min_frequency)
            index = np.where(np.isnan(X[:, j]), n_levels[j], np.nan_to_num(X[:, j])).astype(np.int64)
            blocks.append((slot[index], width))
            owner += [(j, "level")] * width
            slots[j] = slot
        else:
            columns, medians[j], centres[j], scales[j], far = _numeric_design(X[:, j], clip)
            if len(far):
                placeholders[j] = far
            blocks.append(np.column_stack(columns))
            owner += [(j, "value"), (j, "missing")][: len(columns)]
    wide = len(owner) > DENSE_MAX_COLUMNS
    design = _design_matrix(blocks, n, dense=not wide)
    # Newton-Cholesky is exact and fast on a few hundred columns, but holds a columns x columns Hessian and a
    # dense design: a category of 2,000 levels over 100,000 rows took 5 minutes and 5 GB. L-BFGS on the
    # sparse one-hot design needs memory in proportion to the rows (tolerance 1e-6: log-odds within 0.004
    # of the exact fit).
    model = LogisticRegression(
        C=c,
        solver="lbfgs" if wide else "newton-cholesky",
        max_iter=1000 if wide else 200,
        tol=1e-6 if wide else 1e-4,
        random_state=seed,
    )
    # Small products: BLAS threads cost more than they save. L-BFGS stopped by its iteration cap on a very
    # wide design is close enough (the selection folds judge every fit by its held-out log loss); its
    # ConvergenceWarning reached the console as scikit-learn's raw text.
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(design, np.asarray(y, dtype=int))
    coef, means = model.coef_[0], np.asarray(design.mean(axis=0)).ravel()
    value_coef, missing_coef, offsets = np.zeros(p), np.zeros(p), np.zeros(p)
    start = 0
    code_tables: dict[int, np.ndarray] = {}
    for j in range(p):  # collect each feature's coefficients back from its design columns
        width = sum(1 for o in owner if o[0] == j)
        w, m = coef[start : start + width], means[start : start + width]
        offset = float(w @ m)
        if is_categorical[j]:
            code_tables[j] = w[slots[j]] - offset
        else:
            value_coef[j] = w[0]
            missing_coef[j] = w[1] if width > 1 else 0.0
            offsets[j] = offset
        start += width
    return LinearScore(
        is_categorical=is_categorical,
        medians=medians,
        centres=centres,
        scales=scales,
        clip=float(clip),
        value_coef=value_coef,
        missing_coef=missing_coef,
        offsets=offsets,
        code_tables=code_tables,
        bias=float(model.intercept_[0] + coef @ means),
        placeholders=placeholders,
    )
