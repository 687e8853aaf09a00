"""Target statistics: the smoothed win rate of each level of a categorical feature (and of each pair of levels
of two low-cardinality ones), as numeric columns appended to the model matrix.

It reads the float matrix LightGBM is fed (`models.train.FeatureEncoder.transform`: category codes, NaN for
a missing or unseen level), so scoring uses the very mapping fitted in training. scikit-learn's contract:
- `fit(codes, y)` learns, per column group, the win count and row count of each key (a level, or a pair of
  levels; missing is a key of its own) over all the rows given;
- `transform(codes)` maps each row's key to (won + smoothing * prior) / (rows + smoothing), the prior being
  the win rate of the fitted rows; a key never seen in fitting gets the prior. Unseen levels arrive as NaN
  (missing) from the encoder, so they get the missing key's rate, or the prior when training had no missing;
- `fit_transform(codes, y)` fits on all rows but encodes each of them out of fold (stratified folds, `seed`):
  a training row's encoding never uses its own label, so the trees cannot learn the label from it.
Contributions of an appended column are handed back to the features it is built from (`fold_back`), split
equally between the two features of a pair, so explanations keep one column per feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from features.frames import code_positions
from features.vocab import WIN_RATE_PREFIX


def stat_groups(
    feature_names: Sequence[str], levels: dict[str, list[str]], pair_max_levels: int, max_pairs: int
) -> list[tuple[int, ...]]:
    """Column groups to encode: every categorical feature alone, then pairs of categorical features that
    each have at least 3 and at most `pair_max_levels` levels (in feature order, at most `max_pairs`)."""
    categorical = [j for j, name in enumerate(feature_names) if name in levels]
    small = [j for j in categorical if 3 <= len(levels[feature_names[j]]) <= pair_max_levels]
    singles: list[tuple[int, ...]] = [(j,) for j in categorical]
    return singles + list(combinations(small, 2))[:max_pairs]


def group_name(feature_names: Sequence[str], group: tuple[int, ...]) -> str:
    """The appended column's name, e.g. "win_rate__industry" or "win_rate__industry__seniority"."""
    return WIN_RATE_PREFIX + "__".join(feature_names[j] for j in group)


def smoothed_rates(won: np.ndarray, rows: np.ndarray, prior: float, smoothing: float) -> np.ndarray:
    """(won + smoothing * prior) / (rows + smoothing) per key, the prior for a key without rows: with
    smoothing 0 (no pull towards the prior) that key's 0 / 0 was NaN, a missing value to the trees."""
    rates = np.full(len(rows), prior)
    seen = (rows + smoothing) > 0
    rates[seen] = (won[seen] + smoothing * prior) / (rows[seen] + smoothing)
    return rates


class TargetStats:
    """Smoothed win rates of categorical keys (see the module docstring); plain arrays only, so it pickles
    small and does not depend on the scikit-learn version."""

    def __init__(
        self,
        groups: Sequence[tuple[int, ...]],
        n_levels: dict[int, int],
        n_features: int,
        *,
        smoothing: float,
        folds: int,
        seed: int,
    ) -> None:
        self.groups = [tuple(group) for group in groups]
        self.n_levels = dict(n_levels)  # categorical column -> how many levels its codes run over
        self.n_features = n_features
        self.smoothing = smoothing
        self.folds = folds
        self.seed = seed

    def _keys(self, codes: np.ndarray, group: tuple[int, ...]) -> np.ndarray:
        """One integer key per row: the codes of the group's columns (missing = one past the last level)."""
        key = np.zeros(len(codes), dtype=np.int64)
        for j in group:
            n = self.n_levels[j]
            key = key * (n + 1) + code_positions(codes[:, j], n)  # missing (or past the levels) is n
        return key

    def _size(self, group: tuple[int, ...]) -> int:
        return int(np.prod([self.n_levels[j] + 1 for j in group]))

    def _tables(self, codes: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        y = np.asarray(y, dtype=float)
        prior = float(y.mean())
        tables = []
        for group in self.groups:  # a loop over the column groups, each a bincount
            keys, size = self._keys(codes, group), self._size(group)
            won = np.bincount(keys, weights=y, minlength=size)
            rows = np.bincount(keys, minlength=size)
            tables.append(smoothed_rates(won, rows, prior, self.smoothing))
        return prior, tables

    def fit(self, codes: np.ndarray, y: np.ndarray) -> TargetStats:
        """Learn each key's smoothed win rate on all the rows."""
        codes = np.asarray(codes, dtype=float)
        self.prior_, self.tables_ = self._tables(codes, y)
        return self

    def transform(self, codes: np.ndarray) -> np.ndarray:
        """rows x groups: the fitted win rate of each row's key (the prior for a key never seen)."""
        codes = np.asarray(codes, dtype=float)
        return self._encode(codes, self.tables_)

    def _encode(self, codes: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
        out = np.empty((len(codes), len(self.groups)))
        for g, (group, table) in enumerate(zip(self.groups, tables, strict=True)):
            out[:, g] = table[self._keys(codes, group)]
        return out

    def fit_transform(self, codes: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Fit on all rows; encode each row with the rates of the folds it is not in (its own label unused)."""
        codes, y = np.asarray(codes, dtype=float), np.asarray(y, dtype=int)
        self.fit(codes, y)
        out = np.empty((len(codes), len(self.groups)))
        folds = min(self.folds, int(y.sum()), int((1 - y).sum()))
        if folds < 2:  # one class: every rate is the prior, whatever the folds
            out[:] = self.prior_
            return out
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
        for fit, held in splitter.split(codes, y):  # a loop over the folds
            _, tables = self._tables(codes[fit], y[fit])
            out[held] = self._encode(codes[held], tables)
        return out

    def names(self, feature_names: Sequence[str]) -> list[str]:
        """The appended columns' names."""
        return [group_name(feature_names, group) for group in self.groups]

    def fold_back(self, values: np.ndarray) -> np.ndarray:
        """Contributions over (features, appended columns, bias) -> over (features, bias): each appended
        column's contribution is shared equally by the features of its group."""
        p = self.n_features
        out = np.concatenate([values[:, :p], values[:, -1:]], axis=1)
        for g, group in enumerate(self.groups):
            for j in group:
                out[:, j] += values[:, p + g] / len(group)
        return out
