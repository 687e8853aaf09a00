"""The call list: capacity, guardrail, routing, exploration slice and expected wins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.queue import Capacity, QueueConfig, QueueError, exploration_outcomes, plan_calls


def score_table(n: int = 200, disqualified_every: int = 10, seed: int = 0) -> pd.DataFrame:
    """A score table in the shape `leadscore score` publishes, best lead not first (order must not matter)."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(0.01, 0.9, n)
    disqualified = np.arange(n) % disqualified_every == 0
    grade = np.select([score >= 0.7, score >= 0.5, score >= 0.3], ["A", "B", "C"], "D")
    return pd.DataFrame(
        {
            "lead_id": [f"L{i:04d}" for i in range(n)],
            "as_of": pd.Timestamp("2026-10-01"),
            "score": score,
            "grade": np.where(disqualified, "D", grade),
            "rank_score": np.where(disqualified, -1.0 + score, score),
            "fit_tier": "A",
            "disqualified": disqualified,
            "reasons": "+ requested a demo",
            "model_name": "leadscore",
            "model_version": "3",
        }
    )


NO_EXPLORATION = QueueConfig(exploration_share=0)


def test_capacity_is_filled_best_first_and_disqualified_leads_are_never_called():
    scores = score_table()
    plan = plan_calls(scores, Capacity(reps=3, per_rep=10), NO_EXPLORATION)
    callable_scores = scores.loc[~scores["disqualified"], "score"].sort_values(ascending=False)
    assert len(plan.calls) == 30
    assert plan.calls["score"].tolist() == sorted(plan.calls["score"], reverse=True)
    assert set(plan.calls["score"]) == set(callable_scores.head(30))
    assert not scores.set_index("lead_id").loc[plan.calls["lead_id"], "disqualified"].any()
    assert plan.expected.plan == pytest.approx(plan.expected.score_ordered)


def test_a_disqualified_lead_with_the_top_score_is_not_called():
    scores = score_table()
    scores.loc[0, ["score", "disqualified"]] = [0.99, True]  # a competitor the model likes
    plan = plan_calls(scores, Capacity(reps=1, per_rep=5), QueueConfig(exploration_share=0.5))
    assert "L0000" not in set(plan.calls["lead_id"])


def test_each_rep_gets_per_rep_calls_a_day():
    plan = plan_calls(score_table(), Capacity(reps=4, per_rep=5, days=3), QueueConfig())
    per_rep_day = plan.calls.groupby(["rep", "day"]).size()
    assert len(per_rep_day) == 12 and (per_rep_day == 5).all()
    assert plan.calls["call_order"].tolist() == list(range(1, 61))
    assert plan.calls["day"].is_monotonic_increasing


def test_senior_reps_get_the_senior_grades_first():
    plan = plan_calls(score_table(), Capacity(reps=4, per_rep=5, senior_reps=1), NO_EXPLORATION)
    senior = plan.calls.loc[plan.calls["rep"].str.startswith("senior")]
    assert len(senior) == 5 and set(senior["grade"]) <= {"A", "B"}
    others = plan.calls.loc[~plan.calls["rep"].str.startswith("senior")]
    assert senior["score"].min() >= others.loc[others["grade"].isin(["A", "B"]), "score"].max()


def test_exploration_slice_is_drawn_below_the_cut_flagged_and_costs_expected_wins():
    scores = score_table(n=400)
    capacity = Capacity(reps=2, per_rep=20)
    plan = plan_calls(scores, capacity, QueueConfig(exploration_share=0.1, seed=1))
    explored = plan.calls.loc[plan.calls["exploration"]]
    ranked = plan.calls.loc[~plan.calls["exploration"]]
    assert len(explored) == 4 and len(ranked) == 36
    assert explored["score"].max() < ranked["score"].min()  # all from below the cut
    callable_below_cut = (~scores["disqualified"]).sum() - 36
    assert explored["exploration_chance"].eq(4 / callable_below_cut).all()
    assert ranked["exploration_chance"].isna().all()
    assert plan.expected.exploration_cost > 0
    assert plan.expected.plan > plan.expected.random


def test_exploration_draw_is_seeded_and_zero_switches_it_off():
    scores = score_table(n=400)
    capacity = Capacity(reps=2, per_rep=20)
    first = plan_calls(scores, capacity, QueueConfig(exploration_share=0.1, seed=5))
    again = plan_calls(scores, capacity, QueueConfig(exploration_share=0.1, seed=5))
    other = plan_calls(scores, capacity, QueueConfig(exploration_share=0.1, seed=6))
    pd.testing.assert_frame_equal(first.calls, again.calls)
    assert set(first.calls["lead_id"]) != set(other.calls["lead_id"])
    assert not plan_calls(scores, capacity, NO_EXPLORATION).calls["exploration"].any()


@pytest.mark.parametrize(
    ("capacity", "words"),
    [
        (Capacity(reps=0, per_rep=5), "--reps is 0"),
        (Capacity(reps=2, per_rep=0), "--per-rep is 0"),
        (Capacity(reps=2, per_rep=5, senior_reps=3), "--senior-reps is 3"),
        (Capacity(reps=10, per_rep=100), "only 180 open leads can be called"),
    ],
)
def test_a_capacity_that_cannot_make_a_plan_is_refused_with_the_setting(capacity, words):
    with pytest.raises(QueueError, match=words):
        plan_calls(score_table(), capacity, QueueConfig())


def test_all_leads_disqualified_is_refused():
    scores = score_table(n=20).assign(disqualified=True)
    with pytest.raises(QueueError, match="all 20 leads in the scores are disqualified"):
        plan_calls(scores, Capacity(reps=1, per_rep=1), QueueConfig())


def test_exploration_outcomes_compare_the_slice_with_the_ranked_calls():
    plan = plan_calls(score_table(n=400), Capacity(reps=2, per_rep=20), QueueConfig(exploration_share=0.1))
    won = pd.Series(1, index=plan.calls["lead_id"]).where(~plan.calls["exploration"].to_numpy(), 0)
    won = won.iloc[:-3]  # the last calls have no outcome yet
    table = exploration_outcomes(plan.calls, won).set_index("calls")
    assert table.loc["exploration", "win_rate"] == 0 and table.loc["ranked", "win_rate"] == 1
    assert table["with_outcome"].sum() == 37
