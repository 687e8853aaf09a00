"""The model that ships is trained again on its test window (models.splits.refit_split)."""

import numpy as np
import pandas as pd

from models.splits import out_of_time_split, refit_split
from models.train import train_conversion_model


def test_refit_split_learns_every_row_and_keeps_the_tested_windows():
    times = pd.Series(pd.date_range("2024-01-01", periods=100, freq="D"))
    split = out_of_time_split(times, 0.2, 0.2)
    refit = refit_split(split)
    assert np.array_equal(refit.train, split.train)
    assert np.array_equal(refit.valid, np.sort(np.concatenate([split.valid, split.test])))
    assert len(refit.test) == 0
    summary = refit.summary()
    # The gate compares tested models: the refitted one keeps where its tested model's test window began.
    assert summary["test_start"] == split.test_start.isoformat()
    assert summary["refit"] is True and summary["learned_end"] == times.max().isoformat()
    assert summary["n_train"] + summary["n_valid"] == 100


def _source_new_in_the_test_window(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two years of leads; a source that only starts in the newest 20 % converts far more than the others."""
    rng = np.random.default_rng(seed)
    n = 2400
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 730, n)), unit="D")
    newest = np.arange(n) >= int(0.8 * n)
    source = np.where(newest & (rng.random(n) < 0.4), "partner", rng.choice(["web", "event", "ads"], n))
    size = rng.normal(0, 1, n)
    logit = -0.8 + 0.8 * size + 2.5 * (source == "partner")
    won = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"snapshot_at": times, "source": source, "size": size})
    return frame, won


def test_the_refitted_model_knows_what_only_the_test_window_showed(small_config):
    frame, won = _source_new_in_the_test_window()
    split = out_of_time_split(frame["snapshot_at"], 0.15, 0.2)
    fit = {
        name: train_conversion_model(frame, won, ["source", "size"], ["source"], chosen, small_config)
        for name, chosen in (("tested", split), ("refit", refit_split(split)))
    }
    assert "partner" not in fit["tested"].encoder.levels_["source"]
    assert "partner" in fit["refit"].encoder.levels_["source"]
    leads = pd.DataFrame({"source": ["partner", "web"], "size": [0.0, 0.0]})
    tested, refit = (fit[name].predict_proba(leads) for name in ("tested", "refit"))
    assert refit[0] > refit[1] + 0.2  # a partner lead now ranks well above a like web lead
    assert abs(tested[0] - tested[1]) < 0.05  # the tested model took the source for missing
