"""Reasons are chosen for all rows and concepts at once (issue 16, online latency): the same reasons as a
plain walk down one lead's concepts, strongest first, and the same for a lead scored alone as in a batch,
down to the last bit of every sum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.frames import Table
from models.explain import ACTIVITY_KINDS, WORDS, choose_reasons, concept_sums, reads_as, reason_texts
from models.scorer import group_contribution

MIN, MIN_ABSENCE = 0.05, 0.1
ACTIVITIES = ("pricing_page", "demo_request", "case_study", "webinar", "blog", "careers_page")
TEXTS = {
    "email_domain_type": ["business", "free", "competitor", None],
    "employee_band": ["1-9", "50-199", "unknown", None],
    "revenue_band": ["<1M", "10M-50M", None],
    "country": ["US", "DE", None],
    "region": ["north_america", "europe", None],
    "seniority": ["c_level", "manager", None],
    "industry": ["software", "retail", None],
    "department": ["sales", "it", None],
    "lead_source": ["referral", "paid_search", None],
}
CONCEPTS = [*WORDS, "mystery_feature"]  # the last has no words of its own: its name is its reason


def _leads(n: int, seed: int) -> Table:
    """`n` leads with every column the reasons read: counts, days (some missing), flags and texts."""
    rng = np.random.default_rng(seed)

    def days(high: float) -> np.ndarray:
        values = rng.uniform(0, high, n)
        values[rng.random(n) < 0.2] = np.nan
        return values

    columns: dict[str, object] = {
        "days_since_last_activity": days(200),
        "days_since_last_high_intent": days(300),
        "active_days_90d": rng.integers(0, 5, n),
        "velocity_7_30": rng.choice([0.0, 0.5, 1.0, 2.0], n),
        "n_email_click_30d": rng.integers(0, 3, n),
        "n_email_open_30d": rng.integers(0, 4, n),
        "n_unsubscribe_90d": rng.integers(0, 2, n),
        "unsubscribed": rng.random(n) < 0.2,
        "is_duplicate": rng.random(n) < 0.2,
        "tech_overlap_count": rng.integers(0, 5, n),
        "company_age_years": days(60),
        "lead_age_days": days(400),
        "month_of_year": rng.integers(0, 14, n).astype(float),
    }
    for activity in ACTIVITIES:
        for window in (7, 30, 90):
            columns[f"n_{activity}_{window}d"] = rng.integers(0, 4, n)
    frame = pd.DataFrame(columns)
    for name, choices in TEXTS.items():
        frame[name] = pd.Series(rng.choice(np.array(choices, dtype=object), n), dtype="str")
    return Table.of_frame(frame)


def _sums(n: int, seed: int) -> np.ndarray:
    """Concept sums with ties and values on the minimums, as well as arbitrary ones."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-0.3, -0.1, -0.07, -0.05, -0.02, 0.0, 0.02, 0.05, 0.07, 0.1, 0.3], (n, len(CONCEPTS)))
    return np.where(rng.random(steps.shape) < 0.3, rng.normal(0, 0.2, steps.shape), steps)


def _one_side(frame: Table, row: int, values: list[float], up: bool, slots: int) -> list[tuple[str, str]]:
    """One lead's reasons of one sign, walking its concepts from the strongest, one concept at a time."""
    signed = [v if up else -v for v in values]
    chosen: list[tuple[str, str]] = []
    for j in sorted(range(len(values)), key=lambda k: -signed[k]):  # sorted() is stable, as argsort's
        if len(chosen) == slots or not signed[j] >= MIN:
            break
        name = CONCEPTS[j]
        words = WORDS.get(name)
        sentence, absent = words(frame, np.array([row]), up)[0] if words else (name.replace("_", " "), False)
        if sentence and (signed[j] >= MIN_ABSENCE or not absent) and reads_as(name, sentence, up):
            chosen.append((name, sentence))
    return chosen + [("", "")] * (slots - len(chosen))


def _dormant_added(frame: Table, row: int, values: list[float]) -> list[float]:
    """A lead without activity in 90 days: its activity kinds' sums added into "activity", one by one."""
    days = frame["days_since_last_activity"][row]
    if not (np.isnan(days) or days >= 90):
        return values
    out, activity = list(values), CONCEPTS.index("activity")
    for j, name in enumerate(CONCEPTS):
        if name in ACTIVITY_KINDS:
            out[activity] += values[j]
            out[j] = 0.0
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reasons_are_those_of_a_walk_down_each_leads_concepts(seed):
    frame, sums = _leads(300, seed), _sums(300, seed)
    chosen = choose_reasons(frame, sums, CONCEPTS, 3, 2, MIN, MIN_ABSENCE)
    for row in range(300):
        values = _dormant_added(frame, row, sums[row].tolist())
        expected = _one_side(frame, row, values, True, 3) + _one_side(frame, row, values, False, 2)
        assert list(zip(chosen.concept[row], chosen.text[row], strict=True)) == expected, row
        shown = [values[CONCEPTS.index(c)] if c else np.nan for c, _ in expected]
        np.testing.assert_array_equal(chosen.value[row], shown)


def test_a_lead_alone_gets_the_reasons_it_gets_in_a_batch():
    frame, sums = _leads(200, 7), _sums(200, 7)
    batch = reason_texts(frame, sums, CONCEPTS, 3, 2, MIN, MIN_ABSENCE)
    for row in range(200):
        alone = Table({name: frame[name][row : row + 1] for name in frame})
        assert reason_texts(alone, sums[row : row + 1], CONCEPTS, 3, 2, MIN, MIN_ABSENCE).tolist() == [
            batch[row].tolist()
        ]


def test_no_slots_and_no_concepts_give_no_reasons():
    frame = _leads(3, 0)
    assert reason_texts(frame, _sums(3, 0), CONCEPTS, 0, 0, MIN, MIN_ABSENCE).tolist() == [["", "", ""]] * 3
    assert reason_texts(frame, np.zeros((3, 0)), [], 3, 2, MIN, MIN_ABSENCE).tolist() == [["", "", ""]] * 3


# Eight or more features in one concept: numpy adds them in another order for one row than for many.
ACTIVITY_FEATURES = [
    "days_since_last_activity",
    "inactive_60d",
    "n_activities_7d",
    "n_activities_30d",
    "n_activities_90d",
    "engagement_score",
    "velocity_7_30",
    "active_days_90d",
    "n_pricing_page_7d",
    "industry",
    "n_activities_180d",
]


def _contributions(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    shape = (n, len(ACTIVITY_FEATURES) + 1)  # and one more column, as the model adds its bias
    values = rng.normal(0, 1, shape) * 10.0 ** rng.integers(-9, 3, shape)
    values[rng.random(values.shape) < 0.1] = np.nan
    return values


def _running_sum(values: list[float]) -> float:
    total = 0.0
    for value in values:
        total += 0.0 if np.isnan(value) else value
    return total


def test_concept_sums_add_one_feature_after_another_for_one_lead_and_for_many():
    contributions = _contributions(500)
    sums, concepts = concept_sums(contributions, ACTIVITY_FEATURES)
    assert concepts == ["activity", "pricing and demo", "industry"]
    activity = [j for j, f in enumerate(ACTIVITY_FEATURES) if f not in ("n_pricing_page_7d", "industry")]
    for row in range(500):
        alone, _ = concept_sums(contributions[row : row + 1], ACTIVITY_FEATURES)
        assert alone.tolist() == [sums[row].tolist()]
        assert sums[row, 0] == _running_sum(contributions[row, activity].tolist())


def test_fit_and_intent_sums_add_one_feature_after_another_for_one_lead_and_for_many():
    contributions = np.nan_to_num(_contributions(500))
    chosen = ACTIVITY_FEATURES[1:10]
    batch = group_contribution(contributions, ACTIVITY_FEATURES, [*chosen, "not a feature"])
    columns = [ACTIVITY_FEATURES.index(f) for f in chosen]
    for row in range(500):
        alone = group_contribution(contributions[row : row + 1], ACTIVITY_FEATURES, chosen)
        assert alone.tolist() == [batch[row]]
        assert batch[row] == _running_sum(contributions[row, columns].tolist())
    assert group_contribution(np.array([[-0.0, -0.0]]), ["a", "b"], ["a", "b"]).tolist() == [0.0]
    assert group_contribution(contributions, ACTIVITY_FEATURES, ["none"]).tolist() == [0.0] * 500
