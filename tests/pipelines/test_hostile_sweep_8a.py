"""Eighth hostile sweep, part a: defects left in the sales outputs (scores files, call lists, reasons, the card,
the database tables and the trend). Each test is one class of output that showed data text other than as written
or left out what a reader needs, with exit 0."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt

from features.export_contract import EXPORT_TABLE
from features.flat import ExportSpec
from models.card import render_card
from models.flat_scorer import FlatScorer
from models.queue import Capacity, QueueConfig
from pipelines.io import FORMULA_START, unquoted, write_tables
from pipelines.queue import run_queue
from pipelines.score import write_scores_file
from pipelines.score_job import write_crm_file
from pipelines.settings import load_config
from pipelines.sources import CrmSource
from pipelines.stream import run_score_streaming
from tests.models.test_queue import score_table
from tests.pipelines.test_card import shared_card

AS_OF = pd.Timestamp("2026-10-01")


@pytest.fixture()
def card_data(small_history, fast_config, trained_small, run_folder):
    """A private copy of the session's card data (tests/pipelines/test_card.py), to change freely."""
    return copy.deepcopy(shared_card(small_history, fast_config, trained_small, run_folder)["data"])


def _runs_as_formula(frame: pd.DataFrame, column: str) -> list[str]:
    """The cells of a CSV's text column a spreadsheet would run as a formula (numbers are numbers)."""
    text = frame[column].astype("str")
    risky = text.str.match(FORMULA_START) & pd.to_numeric(frame[column], errors="coerce").isna()
    return text[risky].tolist()


def test_a_scores_csv_shows_data_text_as_written_in_a_spreadsheet_and_round_trips_ids_and_scores(tmp_path):
    """Every reason starts with + or -, and a level from the data ("=HYPERLINK(...)") reaches a text column:
    the scores CSV, opened by people in a spreadsheet, ran them as formulas. Numbers stay numbers, the lead
    ids stay as written (schedulers join on them), and leadscore's own readers get the text back."""
    reasons = ["+ requested a demo", "- no activity for 200 days", "", "+ industry: =HYPERLINK(1)", "\tx"]
    scores = score_table(n=len(reasons)).assign(
        lead_id=["L1", "-5", "007", "'@L4", "L5"],
        reasons=reasons,
        fit_tier=["@SUM(A1)", "good", "good", "=1+1", "\tgood"],
        disqualified=False,
        score=[0.9, 0.7, 0.5, 0.3, 0.1],
    )
    scores = scores.assign(rank_score=scores["score"] - 1.0)  # negative numbers: never quoted
    published = tmp_path / "scores.csv"
    write_scores_file(scores, pd.DataFrame({"lead_id": []}), published, {"as_of": "2026-10-01"})

    text = pd.read_csv(published, dtype=str, keep_default_na=False)
    for column in text.columns.drop("lead_id"):
        assert _runs_as_formula(text, column) == [], column
    back = pd.read_csv(published, dtype={"lead_id": str})
    assert back["lead_id"].tolist() == ["L1", "-5", "007", "'@L4", "L5"]
    assert back["score"].tolist() == [0.9, 0.7, 0.5, 0.3, 0.1]
    assert back["rank_score"].tolist() == (scores["rank_score"]).tolist()
    assert unquoted(back)["reasons"].fillna("").tolist() == reasons
    # The queue reads the text back: a Parquet call list holds the reasons as written, no apostrophe.
    calls = tmp_path / "calls.parquet"
    run_queue(published, Capacity(reps=1, per_rep=5), QueueConfig(exploration_share=0), calls)
    by_id = pd.read_parquet(calls).set_index("lead_id")["reasons"].fillna("").to_dict()
    assert by_id == dict(zip(scores["lead_id"], reasons, strict=True))


def test_a_streamed_scores_csv_is_quoted_too_and_the_crm_import_file_holds_the_text_as_written(
    tmp_path, small_scorer
):
    """The streamed route writes its CSV itself. The CRM import file is read by the CRM's importer, which stores
    each cell as written: it gets the reasons without the scores CSV's apostrophe."""
    from features.synthetic import GeneratorConfig, generate_history

    history = generate_history(GeneratorConfig(accounts=40, months=6, seed=9))
    folder = tmp_path / "crm"
    write_tables(history.tables(), folder, "csv")
    output = tmp_path / "scores.csv"
    result = run_score_streaming(small_scorer, folder, AS_OF, output, chunk_size=100)
    text = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert text["reasons"].str.startswith(("'+", "'-")).any()
    assert _runs_as_formula(text, "reasons") == []
    assert not result.scores["reasons"].str.startswith("'").any()  # the console's top leads
    crm = write_crm_file(str(output), "hubspot", load_config(), CrmSource(history.tables()))
    written = pd.read_csv(crm, dtype=str, keep_default_na=False)["leadscore_reasons"]
    assert not written.str.startswith("'").any() and written.str.startswith(("+", "-")).any()


class _SourceModel:
    """A stand-in model: fixed contributions of an export's two columns (tests/pipelines/test_hostile_sweep_7b)."""

    feature_names = ["visits_count", "Source"]
    grade_thresholds = {"A": 0.8, "B": 0.5, "C": 0.2}

    class calibrator:
        @staticmethod
        def predict(log_odds):
            return 1 / (1 + np.exp(-log_odds))

    def contributions(self, frame):
        return pd.DataFrame({"visits_count": 0.4, "Source": 0.3}, index=frame.index)

    def feature_importance(self):
        return pd.DataFrame({"feature": self.feature_names, "gain": [3.0, 1.0]})


def test_an_exports_reasons_hold_printable_text_only_whatever_control_characters_the_data_has():
    """An export's level "\\x1b[31mweb" (an escape sequence), "ad\\rwords" or "x\\x00y" went into the reasons as
    written: the console cleaned them, but the scores file (a carriage return splits a CSV row), the CRM file
    and the online answer (the same scorer) did not."""
    spec = ExportSpec(
        name="t",
        id_column="Id",
        label_column="Stage",
        positive_labels=["won"],
        open_labels=["open"],
        fit_columns={"Source": "categorical"},
        intent_columns=["Visits"],
        renames={"Visits": "visits_count"},
    )
    hostile = ["\x1b[31mweb", "ad\rwords", "x\x00y\u202e", "plain"]
    rows = pd.DataFrame({"Id": list("abcd"), "Stage": "open", "Source": hostile, "Visits": [4, 5, 6, 7]})
    scores = FlatScorer(spec, _SourceModel()).score_tables({EXPORT_TABLE: rows}, AS_OF)
    for column in ("reasons", "reasons_positive"):
        assert all(text.isprintable() for text in scores[column]), scores[column].tolist()
    by_id = scores.set_index("lead_id")["reasons_positive"].to_dict()
    assert by_id["b"] == "visits: 5; source: ad words" and by_id["d"] == "visits: 7; source: plain"
    assert "[31mweb" in by_id["a"] and "x y" in by_id["c"]  # the text itself is kept, only the controls go


MARKUP = "**VIP** _beta_ `code` ~~gone~~"


def test_markup_in_data_text_shows_as_written_in_the_markdown_card_and_the_cards_own_bold_stays(card_data):
    """A level or column "**VIP**", "_beta_" or "~~gone~~" turned bold, italic or struck through in the Markdown
    card (and "**" bold in the HTML card's bullets): data text must show as written, the card's titles bold."""
    segments = card_data.segments
    segments.loc[segments.index[0], "value"] = "soft **VIP** ~~gone~~"  # a level's "_" shows as a space
    lead = card_data.examples[0]
    lead.reasons_positive = [f"industry: {MARKUP}", *lead.reasons_positive[1:]]
    card_data.change_log = [f"version 2: dropped the column {MARKUP}"]
    html_page, markdown = render_card(card_data)
    page = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)
    for shown in (page, html_page):
        assert "<strong>VIP" not in shown and "<em>beta" not in shown and "<s>" not in shown
        assert "<code>" not in shown
        assert "<strong>What the score is.</strong>" in shown  # the card's own bold title
        text = re.sub(r"<[^>]+>", "", shown)
        assert (
            "soft **VIP** ~~gone~~" in text and f"industry: {MARKUP}" in text and f"column {MARKUP}" in text
        )


def test_the_quarantine_table_records_the_model_that_scored_the_batch_as_the_scores_table_does(tmp_path):
    """The scores rows carried model_name and model_version, the quarantine rows only the version: two models
    scoring into one table (leadscore, leadscore_eu) left quarantined rows nobody could tell apart. A quarantine
    table written before the column existed gets it (empty in its earlier rows), as a scores table would."""
    import duckdb

    from pipelines import db
    from tests.db.frames import fake_quarantine, fake_scores

    url, table = f"duckdb:///{tmp_path / 'scores.duckdb'}", "lead_scores"
    day, later = pd.Timestamp("2026-10-05"), pd.Timestamp("2026-10-12")
    db.write_scores_to_db(url, table, fake_scores(5, "2026-10-05"), fake_quarantine(2), day, "3")
    eu = fake_scores(5, "2026-10-05", model_version="7").assign(model_name="leadscore_eu")
    db.write_scores_to_db(url, table, eu, fake_quarantine(1), day, "7", "leadscore_eu")
    quarantine = db.read_scores_from_db(url, f"{table}_quarantine", day)
    scores = db.read_scores_from_db(url, table, day)
    named = sorted(zip(quarantine["model_name"], quarantine["model_version"], strict=True))
    assert named == [("leadscore", "3"), ("leadscore", "3"), ("leadscore_eu", "7")]
    assert set(named) <= set(zip(scores["model_name"], scores["model_version"], strict=True))

    with duckdb.connect(str(tmp_path / "scores.duckdb")) as con:  # a table from before the column
        con.execute(f"ALTER TABLE {table}_quarantine DROP COLUMN model_name")
    db.write_scores_to_db(url, table, fake_scores(5, "2026-10-12"), fake_quarantine(2), later, "3")
    every = db.read_scores_from_db(url, f"{table}_quarantine")
    assert every.loc[every["as_of"] == later, "model_name"].tolist() == ["leadscore", "leadscore"]
    assert every.loc[every["as_of"] == day, "model_name"].isna().all() and len(every) == 5


def test_the_score_trend_says_when_the_model_version_changed_since_the_run_it_compares_with(
    tmp_path, small_scorer
):
    """Version 3 scored last month, version 4 (promoted since) this month: the trend said "trend against model
    leadscore's scores as of 2026-09-01" only, and every rise or fall read as the leads', exit 0. Files and
    database tables alike; the same version twice says nothing more."""
    import copy

    from features.synthetic import GeneratorConfig, generate_history
    from pipelines.score_job import run_score_job

    source = CrmSource(generate_history(GeneratorConfig(accounts=40, months=6, seed=9)).tables())
    cfg = load_config()
    for output, table in (
        (str(tmp_path / "scores.parquet"), None),
        (f"duckdb:///{tmp_path / 's.duckdb'}", "s"),
    ):
        sentences = []
        for version, day in (("3", "2026-08-01"), ("3", "2026-09-01"), ("4", "2026-10-01")):
            scorer = copy.copy(small_scorer)
            scorer.model_version = version
            result, _ = run_score_job(scorer, source, pd.Timestamp(day), output, cfg, table=table)
            sentences.append(result.trend.sentence)
        assert "model changed" not in sentences[1]  # version 3 both times
        assert sentences[2].count("\n") == 0 and sentences[2].endswith(
            "; the model changed from version 3 to version 4 since then: a score's change is partly the new "
            "model's, not the lead's"
        ), sentences[2]


def test_a_carriage_return_inside_a_cell_never_splits_a_row_of_a_csv_output(tmp_path):
    """Python's CSV writer quotes a newline but not a bare carriage return: a company "Acme\\rInc" passed
    through to the CRM file split each of its rows in two (4,322 rows read back for 2,161 leads), and a
    quarantined value "12\\r34" added a row to the quarantine CSV. Numbers still read back as numbers."""
    scores = score_table(n=4).assign(lead_id=["L1", "L2", "L3", "L4"], disqualified=False)
    quarantine = pd.DataFrame(
        {
            "table": ["accounts"],
            "row": [3],
            "key": ["A1"],
            "column": ["employee_count"],
            "check": ["number"],
            "value": ["12\r34"],
            "reason": ["not a number"],
        }
    )
    published = tmp_path / "scores.csv"
    write_scores_file(scores, quarantine, published, {"as_of": "2026-10-01"})
    stored = pd.read_csv(tmp_path / "scores.quarantine.csv", dtype={"value": str})
    assert stored["value"].tolist() == ["12\r34"] and stored["row"].tolist() == [3]
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "company": ["Acme\rInc", "B", "C\r", "D"]})
    cfg = load_config(overrides=["crm_export.pass_through=[company]"])
    crm = pd.read_csv(write_crm_file(str(published), "hubspot", cfg, CrmSource({"leads": leads}), scores))
    assert crm["company"].tolist() == ["Acme\rInc", "B", "C\r", "D"]
    assert crm["leadscore_score"].dtype.kind == "i" and len(crm) == 4
