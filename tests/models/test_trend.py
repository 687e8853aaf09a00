"""Score trend against the last run of the same model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.trend import trend_counts, with_trend


def scores(ids, values, grades):
    return pd.DataFrame({"lead_id": ids, "score": values, "grade": grades})


def test_each_lead_gets_its_previous_score_change_and_trend():
    now = scores(["a", "b", "c", "d"], [0.80, 0.30, 0.52, 0.40], ["A", "C", "B", "C"])
    last = scores(["a", "b", "c"], [0.40, 0.50, 0.50], ["C", "B", "B"])
    out = with_trend(now, last, steady=0.05).set_index("lead_id")
    assert out.loc["a", "previous_score"] == 0.40 and np.isclose(out.loc["a", "score_change"], 0.40)
    assert out["trend"].to_dict() == {"a": "rising", "b": "falling", "c": "steady", "d": "new"}
    assert out["grade_jump"].to_dict() == {"a": "C→A", "b": "B→C", "c": "", "d": ""}
    assert np.isnan(out.loc["d", "previous_score"]) and out.loc["d", "previous_grade"] == ""


def test_no_previous_run_leaves_the_trend_empty():
    out = with_trend(scores(["a"], [0.5], ["B"]), None, steady=0.05)
    assert out["trend"].tolist() == [""] and np.isnan(out["previous_score"]).all()


def test_trend_counts_count_grade_moves_up_and_down():
    now = scores(["a", "b", "c", "d"], [0.80, 0.30, 0.52, 0.40], ["A", "C", "B", "C"])
    last = scores(["a", "b", "c"], [0.40, 0.50, 0.50], ["C", "B", "B"])
    counts = trend_counts(with_trend(now, last, 0.05)).set_index("trend")["leads"].to_dict()
    assert counts == {"rising": 1, "falling": 1, "steady": 1, "new": 1, "grade up": 1, "grade down": 1}
