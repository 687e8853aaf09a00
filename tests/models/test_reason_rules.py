"""Reasons never contradict themselves (issue 21 item 2): one reason per concept, words that read as the sign,
absences shown only when they move the score enough, a minimum contribution, ordered by size.

The property tests run over every lead of the small synthetic history at three dates; the word lists below
are the specification a reason's words are checked against, written apart from models/explain.py.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.build import scoring_snapshots
from features.frames import Table
from models.explain import ACTIVITY_KINDS, choose_reasons, concept_sums, reason_texts
from pipelines.settings import ConfigError, load_config
from pipelines.sources import CrmSource

MIN, MIN_ABSENCE = 0.05, 0.1

# What each concept's words are about: a sentence must match its own concept's pattern.
ABOUT = {
    "activity": r"^(no recorded activity|no activity for \d+ days|active on \d+ days?|only \d+ active days?)",
    "pricing and demo": r"pricing|demo",
    "case studies": r"case stud",
    "webinars": r"webinar",
    "blog": r"blog",
    "email engagement": r"email",
    "careers page": r"careers",
    "unsubscribed": r"subscribed",
    "tech stack": r"tools in the ICP",
    "industry": r"^industry: ",
    "company size": r"^company size",
    "revenue": r"^annual revenue",
    "geography": r"^based in",
    "seniority": r"^seniority: ",
    "department": r"^department: ",
    "email domain": r"email (address|domain)",
    "lead source": r"^came in through",
    "company age": r"^company (founded|age)",
    "lead age": r"^lead creat",
    "duplicate": r"duplicate|first lead",
}
# Words that read as good news for conversion, and as bad news. A concept missing from GOOD states a fact
# that reads either way ("industry: retail"); "unknown" is never good news.
GOOD = {
    "activity": r"^active on|picking up",
    "pricing and demo": r"^(requested a demo|visited the pricing page|visited pricing)",
    "case studies": r"^read a case study",
    "webinars": r"^attended a webinar",
    "blog": r"^read the blog",
    "email engagement": r"^(clicked|opened)",
    "careers page": r"^no sign of job hunting",
    "unsubscribed": r"^still subscribed",
    "tech stack": r"^uses [1-9]\d* of",
    "email domain": r"^business",
    "duplicate": r"^first lead",
}
BAD = {
    "activity": r"^(no |only )|quiet",
    "pricing and demo": r"^(no |never |only )",
    "case studies": r"^(no |only )",
    "webinars": r"^(no |only )",
    "blog": r"^(no |only )",
    "email engagement": r"^(no |only )",
    "careers page": r"^visited the careers page",
    "unsubscribed": r"^unsubscribed",
    "tech stack": r"^uses (none|only)",
    "email domain": r"^(free|competitor)|unknown",
    "duplicate": r"^duplicate",
}
ABSENCE = r"^(no |never |uses none|still subscribed|first lead)|unknown"


def reads_good(concept: str, sentence: str) -> bool:
    bad = re.search(BAD.get(concept, r"unknown"), sentence) or "unknown" in sentence
    return not bad and (concept not in GOOD or re.search(GOOD[concept], sentence) is not None)


def reads_bad(concept: str, sentence: str) -> bool:
    if concept not in GOOD:
        return True  # a fact: the sign says which way it counts
    return re.search(GOOD[concept], sentence) is None and re.search(BAD[concept], sentence) is not None


@pytest.fixture(scope="module")
def explained(small_history, small_scorer):
    """Every lead of the small history at three dates: its features, concept sums and chosen reasons."""
    tables = small_history.tables()
    scorer = small_scorer
    parts = []
    for as_of in ("2025-09-01", "2026-03-01", "2026-10-01"):
        frame = scorer.guarded_features(tables, scoring_snapshots(tables["leads"], pd.Timestamp(as_of)))
        contributions = scorer.model.contribution_values(frame)
        sums, concepts = concept_sums(contributions, scorer.model.feature_names)
        chosen = choose_reasons(frame, sums, concepts, 3, 2, MIN, MIN_ABSENCE)
        parts.append((frame, sums, concepts, chosen))
    return parts


def test_many_leads_are_checked(explained):
    rows = sum(len(sums) for _, sums, _, _ in explained)
    shown = sum(int((chosen.text != "").sum()) for *_, chosen in explained)
    assert rows > 10_000 and shown > 3 * rows


def test_no_concept_twice_in_a_leads_reasons(explained):
    for *_, chosen in explained:
        for concepts in chosen.concept.tolist():
            named = [c for c in concepts if c]
            assert len(named) == len(set(named)), named


def test_each_sentence_speaks_of_its_own_concept(explained):
    for *_, chosen in explained:
        for concepts, texts in zip(chosen.concept.tolist(), chosen.text.tolist(), strict=True):
            for concept, text in zip(concepts, texts, strict=True):
                if concept:
                    assert re.search(ABOUT[concept], text), (concept, text)


def test_every_plus_and_minus_agrees_with_its_sign_and_its_words(explained):
    for *_, chosen in explained:
        plus, minus = slice(0, 3), slice(3, 5)
        for concepts, texts, values in zip(
            chosen.concept.tolist(), chosen.text.tolist(), chosen.value.tolist(), strict=True
        ):
            for concept, text, value in zip(concepts[plus], texts[plus], values[plus], strict=True):
                if concept:
                    assert value > 0 and reads_good(concept, text), (concept, text, value)
            for concept, text, value in zip(concepts[minus], texts[minus], values[minus], strict=True):
                if concept:
                    assert value < 0 and reads_bad(concept, text), (concept, text, value)


def test_no_reason_below_the_minimum_and_no_absence_below_its_own(explained):
    for *_, chosen in explained:
        shown = chosen.concept != ""
        strength = np.abs(chosen.value[shown])
        assert (strength >= MIN).all()
        absent = np.array([re.search(ABSENCE, t) is not None for t in chosen.text[shown]], dtype=bool)
        assert absent.any() and (strength[absent] >= MIN_ABSENCE).all()


def test_reasons_are_ordered_by_the_size_of_their_contribution(explained):
    for *_, chosen in explained:
        plus = np.where(np.isnan(chosen.value[:, :3]), -1e9, chosen.value[:, :3])
        minus = np.where(np.isnan(chosen.value[:, 3:]), 1e9, chosen.value[:, 3:])
        assert (np.diff(plus, axis=1) <= 0).all() and (np.diff(minus, axis=1) >= 0).all()


def test_a_lead_quiet_for_90_days_hears_of_it_once(explained):
    """No activity in 90 days: every activity concept's absence is told by "activity" alone."""
    for frame, _, _, chosen in explained:
        days = frame["days_since_last_activity"].astype(float)
        dormant = np.isnan(days) | (days >= 90)
        kinds = np.isin(chosen.concept[dormant], ACTIVITY_KINDS)
        assert dormant.sum() > 100 and not kinds.any()


def test_reason_columns_are_the_chosen_reasons_joined(explained):
    frame, sums, concepts, chosen = explained[-1]
    words = reason_texts(frame, sums, concepts, 3, 2, MIN, MIN_ABSENCE)
    for row in range(0, len(sums), 97):
        texts, values = chosen.text[row].tolist(), chosen.value[row].tolist()
        assert words[row, 0] == "; ".join(t for t in texts[:3] if t)
        assert words[row, 1] == "; ".join(t for t in texts[3:] if t)
        signed = [(("+ " if k < 3 else "- ") + t, abs(values[k])) for k, t in enumerate(texts) if t]
        assert words[row, 2] == "; ".join(s for s, _ in sorted(signed, key=lambda p: -p[1]))


def test_the_scorer_shows_the_configured_minimum(small_history, small_scorer):
    """The minimum comes from the config (scoring.min_reason_contribution) through the scorer."""
    cfg = load_config(
        overrides=["scoring.min_reason_contribution=0.3", "scoring.min_absence_contribution=0.5"]
    )
    scorer = CrmSource(small_history.tables(), location="").scorer(small_scorer.model, cfg)
    assert (scorer.min_reason_contribution, scorer.min_absence_contribution) == (0.3, 0.5)
    tables = small_history.tables()
    frame = scorer.guarded_features(tables, scoring_snapshots(tables["leads"], pd.Timestamp("2026-10-01")))
    scored = scorer.score_frame(frame)
    sums, concepts = concept_sums(scorer.model.contribution_values(frame), scorer.model.feature_names)
    chosen = choose_reasons(frame, sums, concepts, 3, 2, 0.3, 0.5)
    expected = ["; ".join(t for t in row[:3] if t) for row in chosen.text.tolist()]
    assert scored["reasons_positive"].tolist() == expected
    assert (np.abs(chosen.value[chosen.concept != ""]) >= 0.3).all()
    fewer = (chosen.concept != "").sum()
    default = choose_reasons(frame, sums, concepts, 3, 2, MIN, MIN_ABSENCE)
    assert fewer < (default.concept != "").sum()


def test_the_minimums_are_typed_settings():
    assert load_config().scoring.min_reason_contribution == MIN
    assert load_config().scoring.min_absence_contribution == MIN_ABSENCE
    with pytest.raises(ConfigError, match="scoring.min_reason_contribution"):
        load_config(overrides=["scoring.min_reason_contribution=-0.1"])


# Golden examples: exact sentences from hand-set values (concept sums in log-odds).

LEAD = {
    "days_since_last_activity": 1.2,
    "active_days_90d": 1,
    "velocity_7_30": 2.0,
    "days_since_last_high_intent": 3.0,
    "n_pricing_page_7d": 2,
    "n_pricing_page_30d": 2,
    "n_pricing_page_90d": 2,
    "n_demo_request_7d": 0,
    "n_demo_request_30d": 1,
    "n_demo_request_90d": 1,
    "n_blog_7d": 0,
    "n_blog_30d": 0,
    "n_blog_90d": 0,
    "company_age_years": 49.0,
    "industry": "software",
    "employee_band": "50-199",
    "email_domain_type": "free",
}
CONCEPTS = ["activity", "pricing and demo", "blog", "company age", "industry", "company size", "email domain"]


def golden(values: list[float], **changes: object) -> list[str]:
    frame = Table.of_frame(pd.DataFrame([LEAD | changes]))
    return reason_texts(frame, np.array([values]), CONCEPTS, 3, 2, MIN, MIN_ABSENCE)[0].tolist()


def test_one_active_day_lowering_the_score_reads_as_bad_news():
    """Was '- active on 1 day in the last 90, picking up this week'."""
    positive, negative, signed = golden([-0.5, 0.8, 0, 0, 0, 0, 0])
    assert negative == "only 1 active day in the last 90"
    assert signed == (
        "+ requested a demo 1 time in the last 30 days and visited the pricing page 2 times in the last 7 days; "
        "- only 1 active day in the last 90"
    )


def test_the_same_activity_raising_the_score_reads_as_good_news():
    assert golden([0.5, 0, 0, 0, 0, 0, 0])[0] == "active on 1 day in the last 90, picking up this week"
    assert golden([0.5, 0, 0, 0, 0, 0, 0], velocity_7_30=0.0)[0] == (
        "active on 1 day in the last 90, last active 1 day ago"
    )


def test_an_absence_that_raised_the_score_is_not_a_plus_and_leaves_its_place():
    """Was '+ no blog reading in the last 90 days' on the lowest-scored leads."""
    positive, negative, signed = golden([0, 0, 0.4, 0, 0.2, 0.1, 0])
    assert positive == "industry: software; company size 50-199 employees"
    assert "blog" not in signed


def test_an_absence_needs_the_larger_minimum_a_fact_the_smaller():
    frame = {"days_since_last_high_intent": np.nan, "n_pricing_page_7d": 0, "n_pricing_page_30d": 0}
    frame |= {"n_pricing_page_90d": 0, "n_demo_request_30d": 0, "n_demo_request_90d": 0}
    assert golden([0, -0.08, 0, -0.06, 0, 0, 0], **frame)[1] == "company founded 49 years ago"
    assert golden([0, -0.12, 0, -0.06, 0, 0, 0], **frame)[1] == (
        "never visited pricing or asked for a demo; company founded 49 years ago"
    )


def test_a_lead_with_no_activity_hears_it_once_with_the_absences_added():
    """Was '- no activity for 200 days; - no activity in the last 90 days, quiet this week' (or '- no recorded
    activity' beside it): one sentence now, its contribution the activity concepts' together."""
    quiet = {"days_since_last_activity": 200.0, "active_days_90d": 0, "velocity_7_30": 0.0}
    quiet |= {"days_since_last_high_intent": 230.0, "n_pricing_page_7d": 0, "n_pricing_page_30d": 0}
    quiet |= {"n_pricing_page_90d": 0, "n_demo_request_30d": 0, "n_demo_request_90d": 0}
    positive, negative, signed = golden([-0.6, -0.3, 0.07, 0, -0.2, 0.1, 0], **quiet)
    assert negative == "no activity for 200 days; industry: software"
    assert signed == "- no activity for 200 days; - industry: software; + company size 50-199 employees"
    never = quiet | {"days_since_last_activity": np.nan, "days_since_last_high_intent": np.nan}
    assert golden([-0.06, -0.06, 0, 0, 0, 0, 0], **never)[1] == "no recorded activity"


def test_words_that_cannot_read_as_their_sign_are_not_shown():
    """A free email address raising a score, or many pricing visits lowering one, have no true words."""
    positive, negative, signed = golden([0, -0.4, 0, 0, 0, 0, 0.3], n_demo_request_90d=2)
    assert signed == ""
    assert golden([0, 0, 0, 0, 0, 0, -0.3])[1] == "free email address"
