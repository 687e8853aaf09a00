"""Hostile sweep 9c: large and wide flat exports (work that grows with rows x levels). Measurements are in
benchmarks/bench_wide.py; these tests check the shape of the work, never its time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.card.data import segment_comparison
from models.evaluate import roc_auc, rows_by_value, segment_metrics


class _CountedLabels(np.ndarray):
    """An array that counts its comparisons with one text value: a pass over every row per segment value."""

    passes = 0

    def __eq__(self, other):  # type: ignore[override]
        if isinstance(other, str):
            type(self).passes += 1
        return np.asarray(self).__eq__(other)


@pytest.fixture
def counted_labels(monkeypatch):
    """Every Series.to_numpy() in the test hands back a _CountedLabels view."""
    plain = pd.Series.to_numpy
    monkeypatch.setattr(
        pd.Series, "to_numpy", lambda self, *a, **k: plain(self, *a, **k).view(_CountedLabels)
    )
    _CountedLabels.passes = 0
    return _CountedLabels


def many_sources(
    n: int = 3000, levels: int = 1500, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sources = rng.choice([f"utm-{i}" for i in range(levels)] + [None], n).astype(object)
    sources[:400] = "newsletter"  # one segment with enough rows for its AUC
    return rng.integers(0, 2, n), rng.random(n).round(2), pd.DataFrame({"lead_source": sources})


def test_rows_by_value_groups_rows_as_a_mask_per_value_would():
    labels = np.array(["b", "a", "(missing)", "b", "c", "a", "b"], dtype=object)
    grouped = rows_by_value(labels)
    assert [value for value, _ in grouped] == list(np.unique(labels))
    for value, positions in grouped:
        assert positions.tolist() == np.flatnonzero(labels == value).tolist()


def test_segment_tables_of_a_lead_source_of_thousands_of_values_make_no_pass_over_the_rows_per_value(
    counted_labels,
):
    """A B2C export's lead source (utm values) of thousands of levels: the training evaluation's and the card's
    segment tables compared every test row with each value (60,000 test leads x 8,000 sources: 21 s and 32 s);
    they group the rows once, with the same numbers."""
    y, p, segments = many_sources()
    metrics = segment_metrics(y, p, segments, min_rows=100)
    scores = pd.DataFrame({"won": y, "model": p, "points": np.nan})
    card = segment_comparison(scores, segments, 100)
    assert counted_labels.passes == 0
    assert len(metrics) == len(card) == segments["lead_source"].fillna("(missing)").nunique()
    newsletter = metrics.set_index("value").loc["newsletter"]
    assert newsletter["n"] == 400 and newsletter["roc_auc"] == pytest.approx(roc_auc(y[:400], p[:400]))
    assert card.set_index("value").loc["newsletter", "auc_model"] == pytest.approx(newsletter["roc_auc"])
    assert metrics["n"].sum() == card["n"].sum() == len(y)
