"""The ICP guardrail: fit tiers, hard disqualification rules, training exclusion, the scoring guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from features.config import ExtraRule, ICPConfig
from features.frames import as_table, frame_of
from features.icp import (
    exclude_disqualified,
    excluded_counts_frame,
    guarded_grades,
    guarded_ranks,
    icp_columns,
    win_rate_by_tier,
)
from features.vocab import DISQUALIFY_REASONS

ICP_YAML = Path(__file__).resolve().parents[2] / "pipelines" / "defaults" / "icp.yaml"

# A lead that meets every criterion of the default ICP and fires no hard rule.
PERFECT = {
    "lead_id": "L0",
    "industry": "software",
    "employee_count": 400.0,
    "employee_band": "200-999",
    "annual_revenue": 5e7,
    "revenue_band": "5e7-2.5e8",
    "country": "US",
    "region": "north_america",
    "tech_overlap_count": 2,
    "tech_stack_size": 6,
    "seniority": "vp",
    "department": "sales",
    "email_domain_type": "business",
    "lead_source": "referral",
    "is_duplicate": False,
    "unsubscribed": False,
    "engagement_score": 5.0,
    "n_pricing_page_30d": 1,
}


def frame(*changes: dict) -> pd.DataFrame:
    """A feature frame with one row per change set, each a perfect-fit lead with those changes."""
    rows = [{**PERFECT, "lead_id": f"L{i}", **change} for i, change in enumerate(changes)]
    return pd.DataFrame(rows)


def guardrail(features: pd.DataFrame, icp: ICPConfig) -> pd.DataFrame:
    """icp_columns of a feature frame (read as the scoring path reads it), as a frame on its index."""
    return frame_of(icp_columns(as_table(features), icp), features.index)


def with_guardrail(features: pd.DataFrame, icp: ICPConfig) -> pd.DataFrame:
    """The feature frame with the guardrail's columns, as training has it."""
    return pd.concat([features, guardrail(features, icp)], axis=1)


def icp_row(change: dict, icp: ICPConfig | None = None) -> pd.Series:
    return guardrail(frame(change), icp or ICPConfig()).iloc[0]


# ---- the shipped example


def test_shipped_yaml_is_valid_and_equals_the_defaults():
    raw = yaml.safe_load(ICP_YAML.read_text())
    assert set(raw) == set(ICPConfig.model_fields), "every ICPConfig field is in the documented example"
    assert ICPConfig.model_validate(raw) == ICPConfig()


def test_commented_extra_rule_example_in_yaml_is_valid():
    text = ICP_YAML.read_text()
    block = text.split("Example (not active):\n", 1)[1].split("\nextra_rules: []", 1)[0]
    example = yaml.safe_load("\n".join(line.removeprefix("#") for line in block.splitlines()))
    icp = ICPConfig.model_validate({"extra_rules": example["extra_rules"]})
    assert [r.action for r in icp.extra_rules] == ["disqualify", "criterion"]


def test_defaults_match_the_synthetic_crm_market():
    icp = ICPConfig()
    assert set(icp.competitor_domains) == {"rivalscore.io", "leadgenius.ai", "scoreforce.com"}
    assert set(icp.target_industries) == {"software", "fintech", "ecommerce", "healthcare_it", "media"}
    assert set(icp.served_regions) == {"north_america", "europe"}


# ---- validation


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {
                "extra_rules": [
                    {"name": "x", "feature": "industry", "op": "==", "value": "a", "reason": "too_big"}
                ]
            },
            "reason 'too_big' is not a disqualify reason code",
        ),
        ({"employee_range": [500, 50]}, "employee_range must be [low, high]"),
        ({"revenue_range": [1e9, 1e6]}, "revenue_range must be [low, high]"),
        ({"employee_range": [-5, 50]}, "employee_range must be [low, high] with 0 <= low"),
        ({"target_industry": ["software"]}, "Extra inputs are not permitted"),
        ({"criterion_weights": {"size": 1.0}}, "unknown criteria ['size']"),
        ({"criterion_weights": {"tech": -1.0}}, "must be >= 0"),
        ({"excluded_personas": ["studnet"]}, "unknown seniorities ['studnet']"),
        ({"excluded_personas": ["manager"]}, "both targeted and excluded"),
        ({"tier_a_min_share": 0.4, "tier_b_min_share": 0.6}, "tier_b_min_share must not exceed"),
        ({"served_regions": [], "served_countries": []}, "both empty"),
        (
            {"extra_rules": [{"name": "x", "feature": "industry", "op": "in", "value": "media"}]},
            "needs a list",
        ),
        (
            {"extra_rules": [{"name": "x", "feature": "industry", "op": ">", "value": "media"}]},
            "needs a number",
        ),
        (
            {"extra_rules": [{"name": "x", "feature": "a", "op": "==", "value": 1, "oops": 1}]},
            "Extra inputs are not permitted",
        ),
        (
            {
                "extra_rules": [
                    {"name": "x", "feature": "a", "op": "==", "value": 1},
                    {"name": "x", "feature": "b", "op": "==", "value": 1},
                ]
            },
            "names must be unique",
        ),
        (
            {
                "criterion_weights": dict.fromkeys(
                    ["industry", "employee_range", "revenue_range", "geography", "tech", "persona"], 0.0
                )
            },
            "sum to 0",
        ),
    ],
)
def test_invalid_icp_is_rejected_with_a_clear_message(raw, message):
    with pytest.raises(ValidationError) as caught:
        ICPConfig.model_validate(raw)
    assert message in str(caught.value)


def test_partial_criterion_weights_keep_the_other_defaults_and_names_are_normalised():
    icp = ICPConfig.model_validate(
        {
            "criterion_weights": {"tech": 3.0},
            "competitor_domains": [" RivalScore.IO "],
            "served_countries": ["au"],
        }
    )
    assert icp.criterion_weights["tech"] == 3.0
    assert icp.criterion_weights["industry"] == 1.0
    assert icp.competitor_domains == ("rivalscore.io",)
    assert icp.served_countries == ("AU",)


# ---- tiers


def test_perfect_fit_account_is_tier_a_and_qualified():
    out = icp_row({})
    assert out["fit_tier"] == "A"
    assert out["icp_fit_share"] == pytest.approx(1.0)
    assert not out["disqualified"]
    assert out["disqualify_reasons"] == ""
    assert out["disqualify_detail"] == ""


def test_tiers_follow_the_share_of_criteria_met_and_missing_values_do_not_count():
    features = frame(
        {},  # 6 of 6
        {"tech_overlap_count": 0},  # 5 of 6 = 0.83 -> A
        {"tech_overlap_count": 0, "industry": None},  # 4 of 6 = 0.67 -> B
        {"tech_overlap_count": 0, "industry": "mining", "employee_count": np.nan},  # 3 of 6 = 0.5 -> B
        {
            "tech_overlap_count": 0,
            "industry": "mining",
            "employee_count": 5.0,
            "annual_revenue": np.nan,
        },  # 2/6
    )
    out = guardrail(features, ICPConfig())
    assert out["fit_tier"].tolist() == ["A", "A", "B", "B", "C"]
    assert out["icp_fit_share"].tolist() == pytest.approx([1, 5 / 6, 4 / 6, 3 / 6, 2 / 6])
    assert out.index.equals(features.index)


def test_criterion_weights_change_the_tier():
    heavy_tech = ICPConfig(criterion_weights={"tech": 5.0})
    out = icp_row({"tech_overlap_count": 0}, heavy_tech)
    assert out["icp_fit_share"] == pytest.approx(5 / 10)
    assert out["fit_tier"] == "B"


def test_output_columns_and_dtypes():
    out = guardrail(frame({}, {"seniority": "student"}), ICPConfig())
    assert list(out.columns) == [
        "fit_tier",
        "icp_fit_share",
        "disqualified",
        "disqualify_reasons",
        "disqualify_detail",
    ]
    assert out["fit_tier"].dtype == "str"
    assert out["disqualified"].dtype == bool
    assert out["icp_fit_share"].dtype == float
    assert out["disqualify_reasons"].dtype == "str"


def test_missing_feature_column_is_a_clear_error():
    with pytest.raises(ValueError, match=r"needs columns \['seniority'\]"):
        guardrail(frame({}).drop(columns="seniority"), ICPConfig())


# ---- hard rules


def test_competitor_with_the_most_intent_is_disqualified_graded_d_and_ranked_last():
    features = frame(
        {"email_domain_type": "competitor", "email_domain": "rivalscore.io", "engagement_score": 99.0},
        {"engagement_score": 3.0, "email_domain": "acme.com"},
        {"engagement_score": 1.0, "industry": "mining", "email_domain": "mine.com"},
    )
    out = guardrail(features, ICPConfig())
    assert out["disqualified"].tolist() == [True, False, False]
    assert out.loc[0, "disqualify_reasons"] == "competitor"
    assert out.loc[0, "disqualify_detail"] == "email domain rivalscore.io is a competitor"

    score = np.array([0.97, 0.40, 0.05])  # the model loves the competitor
    grade = np.array(["A", "B", "D"], dtype=object)
    disqualified = out["disqualified"].to_numpy()
    assert guarded_grades(grade, disqualified).tolist() == ["D", "B", "D"]
    rank = guarded_ranks(score, disqualified)
    assert rank[0] < rank[[1, 2]].min()
    assert np.argsort(-rank).tolist() == [1, 2, 0]


def test_competitor_words_without_an_email_domain_column():
    out = icp_row({"email_domain_type": "competitor"})
    assert out["disqualify_detail"] == "email or company domain is a competitor's"


@pytest.mark.parametrize("persona", ["student", "intern", "job_seeker"])
def test_excluded_personas_are_wrong_persona(persona):
    out = icp_row({"seniority": persona})
    assert out["disqualified"]
    assert out["disqualify_reasons"] == "wrong_persona"
    assert out["disqualify_detail"] == f"job title reads as {persona.replace('_', ' ')}, an excluded persona"


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (
            {"email_domain_type": "free", "email_domain": "gmail.com"},
            "free_email",
            "gmail.com is a free email",
        ),
        ({"email_domain_type": "free"}, "free_email", "free email address"),
        (
            {"country": "BR", "region": "latin_america"},
            "outside_geography",
            "country BR (latin america) is outside",
        ),
        ({"country": "ZZ", "region": "other"}, "outside_geography", "country ZZ (other) is outside"),
        ({"is_duplicate": True}, "duplicate", "duplicate of an earlier lead"),
        ({"unsubscribed": True}, "unsubscribed", "unsubscribed from email"),
    ],
)
def test_each_hard_rule_gives_its_code(change, code, words):
    out = icp_row(change)
    assert out["disqualified"]
    assert out["disqualify_reasons"] == code
    assert words in out["disqualify_detail"]


def test_missing_country_is_not_outside_geography_but_misses_the_criterion():
    out = icp_row({"country": None, "region": "other"})
    assert not out["disqualified"]
    assert out["icp_fit_share"] == pytest.approx(5 / 6)


def test_served_countries_extend_the_served_regions():
    icp = ICPConfig(served_countries=("AU",))
    out = guardrail(
        frame({"country": "AU", "region": "asia_pacific"}, {"country": "JP", "region": "asia_pacific"}), icp
    )
    assert out["disqualified"].tolist() == [False, True]
    assert out["icp_fit_share"].tolist() == pytest.approx([1.0, 5 / 6])


def test_free_email_and_geography_rules_can_be_switched_off():
    icp = ICPConfig(disqualify_free_email=False, disqualify_outside_geography=False)
    out = guardrail(frame({"email_domain_type": "free"}, {"country": "BR", "region": "latin_america"}), icp)
    assert not out["disqualified"].any()
    assert out.loc[1, "fit_tier"] == "A"  # 5 of 6: the geography criterion still counts


def test_several_reasons_are_joined_in_code_order_with_all_the_words():
    out = icp_row(
        {
            "unsubscribed": True,
            "seniority": "student",
            "email_domain_type": "competitor",
            "is_duplicate": np.nan,
        }
    )
    assert out["disqualify_reasons"] == "competitor;wrong_persona;unsubscribed"
    assert out["disqualify_detail"].split("; ") == [
        "email or company domain is a competitor's",
        "job title reads as student, an excluded persona",
        "unsubscribed from email",
    ]


def test_disqualified_lead_still_gets_its_fit_tier():
    out = icp_row({"is_duplicate": True})
    assert out["disqualified"]
    assert out["fit_tier"] == "A"


# ---- extra rules


def test_extra_disqualify_rule_gives_its_reason_and_words():
    icp = ICPConfig(
        extra_rules=(
            ExtraRule(
                name="micro",
                feature="employee_count",
                op="<",
                value=10,
                action="disqualify",
                description="fewer than 10 employees",
            ),
            ExtraRule(
                name="no_ads", feature="lead_source", op="in", value=["paid_search"], action="disqualify"
            ),
        )
    )
    out = guardrail(
        frame({"employee_count": 4.0}, {"lead_source": "paid_search"}, {"employee_count": np.nan}, {}), icp
    )
    assert out["disqualify_reasons"].tolist() == ["bad_fit", "bad_fit", "", ""]
    assert out.loc[0, "disqualify_detail"] == "fewer than 10 employees (employee_count is 4.0)"
    assert (
        out.loc[1, "disqualify_detail"]
        == "rule no_ads: lead_source in [paid_search] (lead_source is paid_search)"
    )


def test_extra_disqualify_rule_with_another_code_merges_with_the_builtin_rule():
    icp = ICPConfig(
        extra_rules=(
            ExtraRule(
                name="old_lead",
                feature="lead_age_days",
                op=">",
                value=365,
                action="disqualify",
                reason="unsubscribed",
                description="silent for over a year",
            ),
        )
    )
    out = icp_row({"lead_age_days": 400.0, "unsubscribed": True}, icp)
    assert out["disqualify_reasons"] == "unsubscribed"
    assert (
        out["disqualify_detail"] == "unsubscribed from email; silent for over a year (lead_age_days is 400.0)"
    )


def test_extra_criterion_rule_adds_to_the_fit_share():
    icp = ICPConfig(
        extra_rules=(
            ExtraRule(
                name="referral", feature="lead_source", op="in", value=["referral", "partner"], weight=2.0
            ),
            ExtraRule(name="not_hr", feature="department", op="!=", value="hr"),
        )
    )
    out = guardrail(frame({}, {"lead_source": "event"}, {"lead_source": None, "department": None}), icp)
    assert out["icp_fit_share"].tolist() == pytest.approx([9 / 9, 7 / 9, 6 / 9])
    assert out["fit_tier"].tolist() == ["A", "B", "B"]
    assert not out["disqualified"].any()


def test_extra_rule_on_a_boolean_and_on_a_missing_column():
    inactive = ExtraRule(name="inactive", feature="inactive_60d", op="==", value=True, action="disqualify")
    icp = ICPConfig(extra_rules=(inactive,))
    out = guardrail(frame({"inactive_60d": True}, {"inactive_60d": False}), icp)
    assert out["disqualified"].tolist() == [True, False]
    with pytest.raises(ValueError, match=r"needs columns \['inactive_60d'\]"):
        guardrail(frame({}), icp)


def test_extra_rule_comparing_text_with_a_number_is_a_clear_error():
    icp = ICPConfig(extra_rules=(ExtraRule(name="bad", feature="industry", op=">", value=3),))
    with pytest.raises(ValueError, match="extra rule 'bad': cannot compare column 'industry'"):
        guardrail(frame({}), icp)


# ---- training exclusion


def icp_frame() -> pd.DataFrame:
    features = frame(
        {},
        {"seniority": "student"},
        {"seniority": "intern", "email_domain_type": "free"},
        {"is_duplicate": True},
        {"country": "BR", "region": "latin_america", "unsubscribed": True},
    )
    return with_guardrail(features, ICPConfig())


def test_exclude_disqualified_counts_per_reason_and_total():
    kept, counts = exclude_disqualified(icp_frame(), ICPConfig())
    assert kept["lead_id"].tolist() == ["L0"]
    assert counts == {
        "competitor": 0,
        "wrong_persona": 2,
        "free_email": 1,
        "outside_geography": 1,
        "bad_fit": 0,
        "duplicate": 1,
        "unsubscribed": 1,
        "total": 4,
    }


def test_exclusion_can_be_switched_off_but_is_still_counted():
    frame_ = icp_frame()
    kept, counts = exclude_disqualified(frame_, ICPConfig(exclude_disqualified_in_training=False))
    assert len(kept) == len(frame_)
    assert counts["total"] == 4


def test_excluded_counts_frame_lists_every_reason_then_the_total():
    _, counts = exclude_disqualified(icp_frame(), ICPConfig())
    table = excluded_counts_frame(counts)
    assert table["reason"].tolist() == [*DISQUALIFY_REASONS, "total"]
    assert table.set_index("reason")["excluded"].to_dict() == counts
    assert table["label"].notna().all()
    with pytest.raises(ValueError, match="unknown disqualify reason codes"):
        excluded_counts_frame({"spam": 1})


# ---- scoring guard


def test_guarded_ranks_keep_order_within_groups_and_put_disqualified_last():
    score = np.array([0.9, 0.0, 1.0, 0.3, 0.5, np.nan])
    dq = np.array([True, False, True, False, False, True])
    rank = guarded_ranks(score, dq)
    assert np.nanmin(rank[~dq]) > np.nanmax(rank[dq])
    assert rank[~dq].tolist() == score[~dq].tolist()
    assert np.argsort(rank[dq][:2]).tolist() == np.argsort(score[dq][:2]).tolist()
    assert np.isnan(rank[5])
    with pytest.raises(ValueError, match=r"scores in \[0, 1\]"):
        guarded_ranks(np.array([3.0]), np.array([False]))


def test_guarded_grades_only_touch_disqualified_leads():
    grade = np.array(["A", "A", "B", "C", "D"], dtype=object)
    dq = np.array([True, False, True, False, True])
    assert guarded_grades(grade, dq).tolist() == ["D", "A", "D", "C", "D"]


# ---- win rate by tier


def test_win_rate_by_tier_ignores_open_deals_and_lists_every_tier():
    deals = pd.DataFrame(
        {
            "fit_tier": ["A", "A", "A", "A", "B", "B", "A"],
            "outcome": ["won", "won", "lost", "open", "lost", "lost", "won"],
        }
    )
    table = win_rate_by_tier(deals)
    assert table["fit_tier"].tolist() == ["A", "B", "C"]
    assert table["closed_deals"].tolist() == [4, 2, 0]
    assert table["won"].tolist() == [3, 0, 0]
    assert table["win_rate"].iloc[:2].tolist() == pytest.approx([0.75, 0.0])
    assert np.isnan(table["win_rate"].iloc[2])


def test_seniority_vocabulary_matches_the_title_normaliser():
    titles = pytest.importorskip("features.titles")
    from features.config import SENIORITY_LEVELS

    produced = {level for level, _ in titles.SENIORITY_RULES} | {titles.SENIORITY_UNKNOWN}
    assert produced == set(SENIORITY_LEVELS)


def test_empty_frame_gives_empty_outputs_and_zero_counts():
    out = with_guardrail(frame({}).iloc[:0], ICPConfig())
    assert len(out) == 0
    assert out["disqualify_reasons"].dtype == "str"
    kept, counts = exclude_disqualified(out, ICPConfig())
    assert len(kept) == 0
    assert set(counts.values()) == {0}
