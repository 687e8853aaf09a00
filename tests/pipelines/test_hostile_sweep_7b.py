"""Hostile sweep 7b: the sales outputs (the model card in Markdown and HTML, the call list, the scores'
reasons) under hostile text from the data and degenerate evidence."""

from __future__ import annotations

import copy
import dataclasses
import io
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt
from rich.console import Console

from features.export_contract import EXPORT_TABLE
from features.flat import ExportSpec
from features.frames import Table
from features.spec_draft import feature_names
from models.card import body_text, render_card
from models.card.data import change_log, importance_by_concept
from models.card.sections import drift_says
from models.explain import reason_texts
from models.flat_scorer import FlatScorer, flat_reasons
from models.monitoring import DriftReport
from pipelines.card import MARKDOWN_NAME
from pipelines.card_rebuild import card_from_registry
from pipelines.console import frame_table
from pipelines.retrain_report import COMPARISON_COLUMNS, RetrainResult, retrain_report_markdown
from pipelines.settings import load_config
from pipelines.tracking import log_training_run
from tests.conftest import FAST_OVERRIDES, point_mlflow_at
from tests.pipelines.test_card import TRAINED_AT, plain, shared_card
from tests.pipelines.test_hostile_sweep_5b import copied_store


@pytest.fixture()
def card_data(small_history, fast_config, trained_small, run_folder):
    """A private copy of the session's card data (tests/pipelines/test_card.py), to change freely."""
    return copy.deepcopy(shared_card(small_history, fast_config, trained_small, run_folder)["data"])


HOSTILE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) `code` a*b &amp;"


def test_text_from_the_data_shows_as_written_in_the_markdown_card_and_never_runs(card_data):
    lead = card_data.examples[0]
    lead.reasons_positive = [f"industry: {HOSTILE}", *lead.reasons_positive[1:]]
    lead.facts = f"{HOSTILE}\nsecond line"
    segments = card_data.segments
    segments.loc[segments.index[0], "value"] = f"soft|ware {HOSTILE}"
    _, markdown = render_card(card_data)
    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    assert "<img" not in page and "<a href" not in page and "<code>" not in page
    shown = re.sub(r"<[^>]+>", "", page).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert f"industry: {HOSTILE}" in shown and f"soft|ware {HOSTILE}" in shown
    assert f"{HOSTILE} second line" in shown  # one line: a newline would end the example's sentence


def test_a_test_window_without_a_won_deal_still_gets_its_card_saying_wins_cannot_be_measured(card_data):
    rows = card_data.comparison
    rows[["n_won", "base_rate"]] = 0
    measured = [c for c in rows.columns if c.startswith(("capture_", "lift_", "roc_auc", "pr_auc"))]
    rows[measured] = np.nan
    card_data.by_grade[["won", "win_rate"]] = 0
    body = plain(body_text(card_data))
    n = int(rows.loc[rows["model"] == "model", "n"].iloc[0])
    assert (  # the session's model was trained again with its test window (model.refit_on_test_window)
        f"None of the {n:,} most recent closed deals, kept from the model until it had been tested on them, "
        "was won" in body
    )
    assert "nan" not in body.lower().split()


class _Model:
    """A stand-in for a trained model: fixed contributions per feature, the sum as the score's log-odds."""

    feature_names = ["visits_count", "month_of_year"]
    grade_thresholds = {"A": 0.8, "B": 0.5, "C": 0.2}

    class calibrator:  # the attribute a TrainedModel has
        @staticmethod
        def predict(log_odds):
            return 1 / (1 + np.exp(-log_odds))

    def contributions(self, frame):
        return pd.DataFrame({"visits_count": 0.4, "month_of_year": -0.3}, index=frame.index)

    def feature_importance(self):
        return pd.DataFrame({"feature": self.feature_names, "gain": [3.0, 1.0]})


EXPORT_SPEC = ExportSpec(
    name="t",
    id_column="Id",
    label_column="Stage",
    positive_labels=["won"],
    open_labels=["open"],
    timestamp_column="Created",
    intent_columns=["Visits"],
    renames={"Visits": "visits_count"},
)


def test_an_exports_reasons_say_the_time_of_year_in_words_not_the_feature_name():
    rows = pd.DataFrame({"Id": ["a"], "Stage": ["open"], "Created": ["2026-07-01"], "Visits": [4]})
    scorer = FlatScorer(EXPORT_SPEC, _Model())
    scores = scorer.score_tables({EXPORT_TABLE: rows}, pd.Timestamp("2026-08-14"))
    assert scores.loc[0, "reasons"] == "+ visits: 4; - time of year: August"


def test_an_exports_columns_are_named_in_words_among_what_moves_a_score():
    sample = pd.DataFrame({"visits_count": [1.0, 5.0], "month_of_year": [8.0, 8.0]})
    importance, _ = importance_by_concept(FlatScorer(EXPORT_SPEC, _Model()), sample)
    assert importance["concept"].tolist() == [
        "visits count",
        "time of year",
    ]  # the body: "What moves a score"


def test_the_card_names_only_what_the_model_reads_when_it_says_what_a_score_weighs(card_data):
    left_out = {"industry", "seniority", "department"}  # features.exclude_features=[industry, seniority, ...]
    card_data.importance = card_data.importance.loc[~card_data.importance["concept"].isin(left_out)]
    body = plain(body_text(card_data))
    assert "It weighs who the lead is (size, region, source) and what it did (site visits, demo" in body
    assert "from who the lead is (size, region, source)." in body


def test_a_card_against_another_previous_version_never_shows_the_training_champions_rows_as_its(
    shared_champion_store, small_history, trained_small, tmp_path, monkeypatch
):
    point_mlflow_at(copied_store(shared_champion_store.uri, tmp_path / "store"), monkeypatch)
    # Version 2, trained against version 1 (the champion then), which ranked its test leads backwards.
    evaluation = copy.deepcopy(trained_small.evaluation)
    rows = evaluation.comparison
    backwards = rows[rows["model"] == "model"].assign(model="champion", roc_auc=0.25, roc_auc_low=0.2)
    evaluation.comparison = pd.concat([rows, backwards.assign(roc_auc_high=0.3)], ignore_index=True)
    evaluation.test_scores = evaluation.test_scores.assign(champion=1 - evaluation.test_scores["model"])
    second = dataclasses.replace(
        trained_small, evaluation=evaluation, scorer=copy.copy(trained_small.scorer), warnings=[]
    )
    cfg = load_config(overrides=FAST_OVERRIDES)
    tables = small_history.tables()
    log_training_run(second, cfg, tables, location="", config_path=None, force_reason="test", trigger="test")
    card_from_registry(
        "models:/leadscore/2", tables, tmp_path / "card", previous_uri="models:/leadscore/2", log=False
    )
    lines = (tmp_path / "card" / MARKDOWN_NAME).read_text(encoding="utf-8").splitlines()
    model = next(line for line in lines if line.startswith("| This model (v2) |")).split(" | ")[1]
    previous = next(line for line in lines if line.startswith("| Previous champion (v2) |")).split(" | ")[1]
    assert previous == model  # version 2 against itself ranks alike: never version 1's 0.250 under its name


def test_a_level_holding_the_reasons_separator_never_reads_as_a_reason_of_its_own():
    frame = Table(
        {"industry": np.array(["health; - no budget"], dtype=object), "department": np.array(["sales"])}
    )
    words = reason_texts(frame, np.array([[0.6, 0.3]]), ["industry", "department"])
    assert words[0, 2] == "+ industry: health, - no budget; + department: sales"
    rows = pd.DataFrame({"source": ["a; b"], "visits": [3.0]})
    flat = flat_reasons(rows, pd.DataFrame({"source": [0.6], "visits": [0.3]}), 3, 2, {"source": "source"})
    assert flat.loc[0, "reasons_positive"].split("; ") == ["source: a, b", "visits: 3"]


def test_a_count_of_one_reads_in_the_singular_on_the_card(card_data):
    drift = card_data.window_drift
    card_data.window_drift = drift.assign(psi=np.where(np.arange(len(drift)) == 0, 0.3, 0.01))
    rows = card_data.comparison.set_index("model")
    wins = rows["base_rate"] * rows["n"]
    rows.loc["points_model", "capture_top20"] = (
        rows.loc["model", "capture_top20"] * wins["model"] - 1
    ) / wins["points_model"]  # the points model's best fifth holds one win fewer
    card_data.comparison = rows.reset_index()
    assert drift_says(card_data).startswith("1 input moved noticeably")
    assert "1 more won deal for the same number of calls" in plain(body_text(card_data))


def test_an_export_column_named_with_dollar_signs_is_drawn_as_text_not_read_as_a_formula(card_data):
    importance = card_data.importance
    card_data.importance = importance.assign(concept=["Visits $$ count", *importance["concept"].iloc[1:]])
    page, _ = render_card(
        card_data
    )  # a TeX formula "$$" stopped the card ("the model card could not be written")
    assert "Visits $$ count moves scores most" in plain(page)


def test_values_from_the_data_reach_the_console_without_their_control_characters():
    table = frame_table(pd.DataFrame({"reasons": ["+ source: \x1b[2J\x1b[31mRED\x1b[0m \u202eevil"]}))
    printed = io.StringIO()
    Console(file=printed, width=100, color_system=None).print(table)  # as a scheduled run's log gets it
    assert "\x1b" not in printed.getvalue() and "\u202e" not in printed.getvalue()
    assert "+ source:  [2J [31mRED [0m evil" in printed.getvalue()


def test_the_retrain_report_shows_a_segment_from_the_data_as_written_never_as_markup():
    value = "<img src=x onerror=alert(1)> [x](javascript:alert(1))"
    segments = pd.DataFrame(
        {"feature": ["industry"], "value": [value], "n": [300], "won": [90], "win_rate": [0.3]}
    ).assign(predicted=0.1, gap=0.2, z=4.0, status="shifted")
    drift = DriftReport(
        pd.DataFrame({"feature": ["score"], "psi": [0.01]}), 0.01, [], [], segments, ["industry"], "a", "b"
    )
    comparison = pd.DataFrame([dict.fromkeys(COMPARISON_COLUMNS, 0.5) | {"model": "model"}])
    train = SimpleNamespace(decision=None, version="2", evaluation=SimpleNamespace(comparison=comparison))
    windows = SimpleNamespace(as_of=pd.Timestamp("2026-10-01"), evaluation_quarter="2026Q2", as_dict=dict)
    result = RetrainResult(windows, train, None, drift)
    page = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render(retrain_report_markdown(result, load_config().retrain))
    )
    assert "<img" not in page and "<a href" not in page
    assert (
        page.count("&lt;img src=x onerror=alert(1)&gt; [x](javascript:alert(1))") == 2
    )  # the sentence, the table


def test_an_export_column_named_as_a_column_leadscore_adds_is_refused_and_drafted_under_another_name():
    # The guardrail's "disqualified" replaced the export's own column; "account_id" took the lead's id in training.
    with pytest.raises(ValueError, match=r"'Disqualified' would be the feature 'disqualified'.*renames"):
        EXPORT_SPEC.model_validate(
            EXPORT_SPEC.model_dump()
            | {"fit_columns": {"Disqualified": "categorical"}, "renames": {"Disqualified": "disqualified"}}
        )
    drafted = feature_names(["Lead ID", "Disqualified", "Account ID", "Fit tier"], keys=1)
    assert drafted == {
        "Lead ID": "lead_id",
        "Disqualified": "disqualified_2",
        "Account ID": "account_id_2",
        "Fit tier": "fit_tier_2",
    }


def test_a_change_log_says_how_many_more_features_changed_than_it_names(card_data, trained_small):
    scorer = trained_small.scorer
    previous = copy.deepcopy(scorer)
    previous.model.encoder.feature_names = [*scorer.model.feature_names, *(f"old_{i}" for i in range(8))]
    lines = change_log(
        scorer, previous, card_data.windows, card_data.comparison, "2", TRAINED_AT, "", [], "closed deals"
    )
    assert "8 features removed (old 0, old 1, old 2, old 3, old 4, old 5 and 2 more)" in " ".join(lines)


def test_a_grade_without_test_leads_is_not_given_a_win_rate_on_the_card(card_data):
    """An empty grade A read "Grade A leads (0 % of leads) won — of the time"; now the sentence is left out."""
    grades = card_data.by_grade
    empty = grades["group"] == "A"
    grades.loc[empty, grades.select_dtypes("number").columns] = 0
    grades.loc[empty, "win_rate"] = np.nan
    body = plain(body_text(card_data))
    assert "Grade A leads" not in body and "of the time, grade D" not in body
