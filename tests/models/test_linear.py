"""The linear part (models.linear) and the logistic-regression baseline on categories of many levels."""

import numpy as np
import pandas as pd
import pytest

import models.linear as linear
from models.baselines import fit_logistic_regression
from models.linear import fit_linear_score


def _many_levels(n: int, levels: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A category of `levels` levels with effects of their own, a number with gaps, a small category."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, n).astype(float)
    number = rng.normal(size=n)
    number[rng.random(n) < 0.1] = np.nan
    effect = rng.normal(0, 0.7, levels)
    logit = -1.5 + effect[codes.astype(int)] + 0.5 * np.nan_to_num(number)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([codes, number, rng.integers(0, 5, n).astype(float)]), y


def _fit(X: np.ndarray, y: np.ndarray, levels: int, c: float, min_frequency: int = 1) -> linear.LinearScore:
    return fit_linear_score(
        X,
        y,
        np.array([True, False, True]),
        {0: levels, 2: 5},
        c=c,
        min_frequency=min_frequency,
        clip=5.0,
        seed=0,
    )


@pytest.mark.parametrize("c", [0.1, 1.0])
def test_a_wide_design_is_fitted_sparse_to_the_same_log_odds_as_the_dense_one(monkeypatch, c):
    # A category of thousands of levels made a dense rows x levels design: 100,000 rows and 2,000 levels took
    # 5 minutes and 5 GB for one fit. Past DENSE_MAX_COLUMNS the design is sparse; the answer must not change.
    X, y = _many_levels(6000, 300)
    monkeypatch.setattr(linear, "DENSE_MAX_COLUMNS", 10_000)
    dense = _fit(X, y, 300, c)
    monkeypatch.setattr(linear, "DENSE_MAX_COLUMNS", 10)
    wide = _fit(X, y, 300, c)
    assert np.abs(dense.margin(X) - wide.margin(X)).max() < 0.01
    np.testing.assert_allclose(wide.contributions(X[:50]).sum(axis=1), wide.margin(X[:50]))


def test_rare_levels_are_read_down_to_min_frequency_and_pooled_below_it():
    X, y = _many_levels(3000, 400)  # about 7 rows per level
    per_level = _fit(X, y, 400, c=1.0, min_frequency=5)
    pooled = _fit(X, y, 400, c=1.0, min_frequency=20)
    assert len(np.unique(per_level.code_tables[0].round(9))) > 300
    assert len(np.unique(pooled.code_tables[0].round(9))) <= 2  # the pool and missing


def test_the_baseline_fits_a_category_of_many_levels_without_a_dense_design():
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame(
        {
            "city": rng.integers(0, 2000, n).astype(str),
            "visits": rng.poisson(3, n).astype(float),
            "source": rng.choice(["web", "ads", "event"], n),
        }
    )
    y = (rng.random(n) < 0.2).astype(int)
    model = fit_logistic_regression(
        frame, y, ["city", "visits", "source"], ["city", "source"], seed=0, min_frequency=5
    )
    design = model.pipeline.named_steps["columns"].transform(frame.head(100))
    assert hasattr(design, "tocsr")  # scipy sparse: memory in proportion to rows, not rows x levels
    p = model.predict_proba(frame.head(100))
    assert p.shape == (100,) and np.all((p > 0) & (p < 1))


def test_a_wide_fit_stopped_by_its_iteration_cap_says_nothing_on_the_console(monkeypatch):
    # On a 300-column export L-BFGS reached its cap and scikit-learn's raw ConvergenceWarning (with its docs
    # link) reached the console in the middle of train's output.
    import warnings

    from sklearn.linear_model import LogisticRegression

    X, y = _many_levels(3000, 600)
    monkeypatch.setattr(linear, "DENSE_MAX_COLUMNS", 10)
    monkeypatch.setattr(  # the cap reached at once, as on a very wide export
        linear, "LogisticRegression", lambda **kw: LogisticRegression(**{**kw, "max_iter": 2})
    )
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        score = _fit(X, y, 600, c=1.0)
    assert not [w for w in seen if "converge" in str(w.message).lower()]
    assert np.isfinite(score.margin(X)).all()
