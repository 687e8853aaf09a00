"""The model card's numbers against the same numbers recomputed with plain pandas (h-card10g)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from models.card.data import CardSettings, largest_segments, limitations, pooled_rows, segment_comparison
from models.card.first_page import call_first_sentences, cannot_do_sentences
from models.card.sections import _segment_table, _tier_table, curves_drawn, window_holds_words
from models.compare import scoring_grades
from models.evaluate import conversion_by
from models.formatting import DASH, NBSP, pct_text


def _pooled_segments(min_rows: int = 100) -> tuple[pd.DataFrame, int]:
    """A lead source with one large value and 1,000 of one lead each: 981 of them pooled in "other"."""
    n = 3000
    source = np.where(np.arange(n) < 2000, "web", np.array([f"utm_{i}" for i in range(n)], dtype=object))
    scores = pd.DataFrame({"won": np.arange(n) % 2, "model": np.linspace(0, 1, n)})
    table = segment_comparison(scores, pd.DataFrame({"lead_source": source}), min_rows)
    small = int(pd.Series(source).value_counts().lt(min_rows).sum())  # recomputed from the leads
    return largest_segments(table, 20), small


def test_segments_with_little_data_count_every_value_and_never_name_the_pooled_row() -> None:
    segments, small = _pooled_segments()
    reliability = pd.DataFrame(
        {
            "p_low": [0.0],
            "p_high": [1.0],
            "n": [3000],
            "mean_predicted": [0.5],
            "observed_rate": [0.5],
            "gap": [0.0],
        }
    )
    items = dict(
        limitations(
            segments, 100, pd.DataFrame({"feature": [], "psi": []}), reliability, 3000, pd.Timestamp("2027-01-01"),
            synthetic=False, notes=(),
        )
    )  # fmt: skip
    text = items["Segments with little data"]
    assert small == 1000
    assert text.startswith("1,000 segments have fewer than 100 leads")  # was "20 segments"
    assert "other" not in text  # the pooled row holds 981 leads: not fewer than 100
    assert "and 988 more" in text


def test_first_page_counts_the_pooled_small_values_too() -> None:
    segments, small = _pooled_segments()
    data = SimpleNamespace(
        flat_export=False, n_deals=3000, unit="closed deals", open_grades=None, guardrail=False,
        segments=segments, segment_min_rows=100,
    )  # fmt: skip
    sentence = next(s for s in cannot_do_sentences(data) if s.startswith("It could not be checked"))
    assert sentence.startswith(
        f"It could not be checked in {small:,} segments with fewer than 100 recent leads"
    )
    assert "other" not in sentence


def test_segments_without_pooling_read_as_before() -> None:
    scores = pd.DataFrame({"won": [0, 1] * 60, "model": np.linspace(0, 1, 120)})
    source = pd.DataFrame({"lead_source": ["web"] * 100 + ["event"] * 20})
    segments = largest_segments(segment_comparison(scores, source, 100), 20)
    data = SimpleNamespace(
        flat_export=False, n_deals=120, unit="closed deals", open_grades=None, guardrail=False,
        segments=segments, segment_min_rows=100,
    )  # fmt: skip
    sentence = next(s for s in cannot_do_sentences(data) if s.startswith("It could not be checked"))
    assert sentence == (
        "It could not be checked in 1 segment with fewer than 100 recent leads (event): treat scores there "
        "with more caution."
    )
    logged_before = segments.drop(columns=["small_values"])  # a card recorded before the column
    data.segments = logged_before
    assert sentence in cannot_do_sentences(data)


def test_roc_pr_caption_names_only_the_curves_drawn() -> None:
    def data(models: list[str], champion: bool) -> SimpleNamespace:
        gains = pd.DataFrame({"decile": [1]}) if champion else None
        return SimpleNamespace(comparison=pd.DataFrame({"model": models}), champion_gains=gains)

    # a flat export: no points model, so the chart draws this model alone (it said "and the points model")
    assert curves_drawn(data(["model", "logistic_regression"], False)) == "this model"
    assert curves_drawn(data(["model", "points_model", "logistic_regression"], False)) == (
        "this model and the points model"
    )
    assert curves_drawn(data(["model", "points_model", "champion"], True)) == (
        "this model, the points model and the previous champion"
    )


def test_a_share_that_is_neither_none_nor_all_never_reads_as_0_or_100_percent() -> None:
    won = np.r_[np.ones(199), 0]  # grade A: 199 of 200 won
    assert pct_text(won.mean()) == f">99{NBSP}%"  # was "100 %": "won 100 % of the time"
    assert pct_text(3 / 1819) == f"<1{NBSP}%"  # was "0 % of the leads would get a different grade"
    assert pct_text(0.0004, 1) == f"<0.1{NBSP}%"  # a tree-gain share the trees do use (was "0.0 %")
    assert pct_text(0.0) == f"0{NBSP}%" and pct_text(1.0) == f"100{NBSP}%"
    assert pct_text(729 / 729 * (1 - 1e-15)) == f"100{NBSP}%"  # a sum of shares off by float noise is all
    assert pct_text(0.446) == f"45{NBSP}%" and pct_text(0.994) == f"99{NBSP}%"


def test_segment_table_note_says_the_pooled_row_is_not_one_small_segment() -> None:
    segments, _ = _pooled_segments()
    table = _segment_table(SimpleNamespace(segments=segments, segment_min_rows=100))
    pooled = next(row for row in table.rows if row[1].startswith("other ("))
    assert pooled[2] == "981" and pooled[-1] == DASH  # 981 leads and no ROC AUC ...
    assert (
        "an 'other' row pools a column's smaller values and is not one segment" in table.note
    )  # ... said why
    plain, _ = _pooled_segments()
    few = plain[~pooled_rows(plain)]
    assert "other" not in _segment_table(SimpleNamespace(segments=few, segment_min_rows=100)).note


def test_a_fit_tier_without_test_leads_counts_0_test_leads() -> None:
    all_rows = pd.DataFrame(
        {"fit_tier": ["A", "B", "C"], "closed_deals": [981, 0, 2019], "win_rate": [0.47, np.nan, 0.48]}
    )
    by_tier = pd.DataFrame({"group": ["A", "C"], "leads": [186, 216], "win_rate": [89 / 186, 101 / 216]})
    data = SimpleNamespace(win_rate_by_tier_all=all_rows, by_tier=by_tier, unit="leads", kept_disqualified=0)
    rows = {row[0]: row for row in _tier_table(data).rows}
    assert rows["B"][1] == "0" and rows["B"][2] == DASH  # was a dash for the count: 0 leads is a count
    assert rows["A"][1:3] == ["186", f"48{NBSP}%"]


def test_test_window_grades_a_kept_disqualified_lead_d_as_scoring_does() -> None:
    # icp.exclude_disqualified_in_training off: disqualified rows stay in the test window, and scoring
    # grades them D whatever their score, so the card's win rate per grade must too
    p = np.array([0.95, 0.9, 0.6, 0.2])
    test = pd.DataFrame({"disqualified": [False, True, False, True]})
    grades = scoring_grades(p, {"A": 0.8, "B": 0.5, "C": 0.3}, test)
    assert grades.tolist() == ["A", "D", "B", "D"]  # was A, A, B, D: a disqualified lead counted as grade A
    table = conversion_by(np.array([1, 0, 1, 0]), grades).set_index("group")
    assert table.loc["A", "leads"] == 1 and table.loc["A", "win_rate"] == 1.0
    assert scoring_grades(p, {"A": 0.8}, pd.DataFrame(index=range(4))).tolist() == ["A", "A", "D", "D"]


def test_kept_disqualified_leads_are_not_said_to_be_left_out() -> None:
    by_grade = pd.DataFrame({"group": list("ABCD"), "win_rate": [0.96, 0.84, 0.61, 0.35]})
    data = SimpleNamespace(
        by_grade=by_grade, open_grades=None, settings=CardSettings(), demo_signal=True,
        comparison=pd.DataFrame({"model": ["model"], "base_rate": [0.56]}),
        importance=pd.DataFrame({"concept": ["industry"]}), kept_disqualified=262,
    )  # fmt: skip
    grade_d = next(s for s in call_first_sentences(data) if s.startswith("**Grade D**"))
    assert grade_d.startswith(f"**Grade D** (35{NBSP}% of the D leads won")  # was "of the qualified D leads"
    assert window_holds_words(data).startswith("the test window holds disqualified leads too")
    data.kept_disqualified = 0
    assert "of the qualified D leads won" in " ".join(call_first_sentences(data))
    assert window_holds_words(data) == "the test window holds qualified leads only"


def test_leads_without_a_segment_value_are_named_not_given_on_both_pages() -> None:
    """The card listed '((missing), Facebook, ...)' and 'lead source (missing) (6)'."""
    n = 400
    source = np.where(np.arange(n) < 390, "web", np.where(np.arange(n) < 396, None, "Facebook"))
    scores = pd.DataFrame({"won": np.arange(n) % 2, "model": np.linspace(0, 1, n)})
    segments = largest_segments(segment_comparison(scores, pd.DataFrame({"lead_source": source}), 100), 20)
    reliability = pd.DataFrame(
        {
            "p_low": [0.0],
            "p_high": [1.0],
            "n": [n],
            "mean_predicted": [0.5],
            "observed_rate": [0.5],
            "gap": [0.0],
        }
    )
    items = dict(
        limitations(
            segments, 100, pd.DataFrame({"feature": [], "psi": []}), reliability, n, pd.Timestamp("2027-01-01"),
            synthetic=False, notes=(),
        )
    )  # fmt: skip
    text = items["Segments with little data"]
    assert "lead source not given (6)" in text and "(missing)" not in text
    data = SimpleNamespace(
        flat_export=True, n_deals=n, unit="leads", open_grades=None, guardrail=False, segments=segments,
        segment_min_rows=100,
    )  # fmt: skip
    sentence = next(s for s in cannot_do_sentences(data) if s.startswith("It could not be checked"))
    assert "lead source not given" in sentence and "(missing)" not in sentence
