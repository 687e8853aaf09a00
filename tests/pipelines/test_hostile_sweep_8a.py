"""Eighth hostile sweep, part a: defects left in the sales outputs (scores files, call lists, reasons, the card,
the database tables and the trend). Each test is one class of output that showed data text other than as written
or left out what a reader needs, with exit 0."""

from __future__ import annotations

import pandas as pd

from models.queue import Capacity, QueueConfig
from pipelines.io import FORMULA_START, unquoted, write_tables
from pipelines.queue import run_queue
from pipelines.score import write_scores_file
from pipelines.score_job import write_crm_file
from pipelines.settings import load_config
from pipelines.sources import CrmSource
from pipelines.stream import run_score_streaming
from tests.models.test_queue import score_table

AS_OF = pd.Timestamp("2026-10-01")


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
        lead_id=["L1", "-5", "007", "L4", "L5"],
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
    assert back["lead_id"].tolist() == ["L1", "-5", "007", "L4", "L5"]
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
