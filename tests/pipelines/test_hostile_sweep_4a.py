"""Hostile inputs, fourth sweep (time, history and labels): an --as-of with a time zone, dates after the run
in the history a model trains on, times that are no dates and missing columns in a retrain, rows that share
one creation date, a retrain as of the future, deals created before their lead, a broken outcome feed in a
retrain, and the fix an export's exit 5 names; each test holds one class of input that gave a traceback, a
misleading sentence or a wrong answer with exit 0."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer

from pipelines.cli import _as_of
from pipelines.score_job import latest_run_beside


def _probe_spec(**extra) -> dict:
    """A flat-export spec for the probes: Won / Lost in Stage, created at Created, one categorical fit column."""
    return {
        "name": "probe",
        "id_column": "Lead ID",
        "label_column": "Stage",
        "positive_labels": ["Won"],
        "negative_labels": ["Lost"],
        "timestamp_column": "Created",
        "fit_columns": {"Source": "categorical"},
        **extra,
    }


# --- an --as-of with a time zone: read as the same instant in UTC, as every time of the input ---------------


@pytest.mark.parametrize(
    "given",
    ["2026-10-01T00:00:00+02:00", "2026-09-30T22:00:00Z", "2026-09-30T22:00:00+00:00", "2026-09-30T22:00:00"],
)
def test_an_as_of_with_an_offset_is_the_same_instant_in_naive_utc(given):
    """`score --as-of 2026-10-01T00:00:00+02:00` ended in a traceback (tz-aware against the naive as-of of the
    previous run's manifest, or of a database's as_of column)."""
    when = _as_of(given)
    assert when.tzinfo is None
    assert when == pd.Timestamp("2026-09-30 22:00:00")


def test_an_as_of_in_the_future_is_still_refused_whatever_its_offset():
    later = (pd.Timestamp.now("UTC") + pd.Timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+05:00")
    with pytest.raises(typer.BadParameter, match="in the future"):
        _as_of(later)


def test_a_manifest_beside_the_output_with_an_offset_is_compared_as_utc(tmp_path):
    """A manifest whose as_of carries an offset (written by an older run) made the trend lookup raise."""

    def publish(name: str, as_of: str) -> None:
        (tmp_path / f"{name}.parquet").write_bytes(b"")
        manifest = {
            "as_of": as_of,
            "model_name": "leadscore",
            "files": {"scores": {"file": f"{name}.parquet"}},
        }
        (tmp_path / f"{name}.manifest.json").write_text(json.dumps(manifest))

    publish("a", "2026-09-01T00:00:00+02:00")  # 2026-08-31 22:00 UTC
    publish("b", "2026-08-31T23:00:00")
    found = latest_run_beside(tmp_path / "new.parquet", "leadscore", pd.Timestamp("2026-10-01"))
    assert found == tmp_path / "b.parquet"  # the later instant, whatever the offset
    assert latest_run_beside(tmp_path / "new.parquet", "leadscore", pd.Timestamp("2026-08-31 22:30")) == (
        tmp_path / "a.parquet"
    )


# --- dates after the run in the CRM history a model trains on ---------------------------------------------


@pytest.fixture(scope="module")
def history():
    from features.synthetic import GeneratorConfig, generate_history

    return generate_history(GeneratorConfig(accounts=120, months=12, seed=3)).tables()


def _training(tables):
    from pipelines.settings import load_config
    from pipelines.sources import training_data

    return training_data(tables, load_config(), None)


def _copy(history) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in history.items()}


def test_a_deal_dated_after_the_run_neither_trains_nor_moves_the_maturity_horizon(history):
    """One deal created (and closed) in 2099, a typo, trained with exit 0: it became the newest test deal and
    moved the maturity horizon past every young deal, so dozens of deals too recent to have closed honestly
    were trained on. It is quarantined (a date in 2099 or later is a placeholder or a typo, rule 'before 2099'),
    and the training rows are those without it."""
    base = _training(_copy(history))
    tables = _copy(history)
    deal = (
        tables["deals"]
        .iloc[[0]]
        .assign(
            deal_id="D-TYPO",
            created_at=pd.Timestamp("2099-01-01"),
            closed_at=pd.Timestamp("2099-02-01"),
            outcome="won",
            lost_reason=None,
        )
    )
    tables["deals"] = pd.concat([tables["deals"], deal], ignore_index=True)
    typo = _training(tables)
    assert typo.too_recent == base.too_recent and typo.too_recent > 0
    pd.testing.assert_frame_equal(typo.frame, base.frame)
    counts = typo.counts.set_index("table")
    assert counts.loc["deals", "not created yet"] == 0 and counts["accounted"].all()
    found = typo.quarantine[typo.quarantine["key"].eq("D-TYPO")]
    assert set(found.loc[found["column"].eq("created_at"), "check"]) == {"before 2099"}


def test_activities_and_closes_after_the_run_are_quarantined_not_trained_on(history):
    """An activity in 2300 and a won deal closed in 2099 (created in the history): named in the quarantine
    with their rule; the features of every other deal do not move."""
    base = _training(_copy(history))
    tables = _copy(history)
    lead = tables["deals"]["lead_id"].iloc[0]
    later = pd.DataFrame(
        {"lead_id": [lead], "occurred_at": [pd.Timestamp("2300-01-01")], "activity_type": ["demo_request"]}
    )
    tables["activities"] = pd.concat([tables["activities"], later], ignore_index=True)
    deals = tables["deals"]
    won = deals.index[deals["outcome"].eq("won") & deals["lead_id"].ne(lead)][0]
    deals.loc[won, "closed_at"] = pd.Timestamp("2099-01-01")
    data = _training(tables)
    hit = data.quarantine.groupby("table")
    # a date in 2099 or later is also a placeholder or a typo (rule 'before 2099'): one line per rule broken
    assert set(hit.get_group("activities")["check"]) == {"before 2099", "not after as_of"}
    assert set(hit.get_group("deals")["check"]) == {"before 2099", "not after as_of"}
    assert set(hit.get_group("deals")["key"]) == {deals.loc[won, "deal_id"]}
    kept = base.frame[base.frame["deal_id"].ne(deals.loc[won, "deal_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(data.frame, kept)


# --- retrain on a history with a time that is no date: quarantined as `train` does, never a traceback -------


def _with_untimed_rows(history) -> dict[str, pd.DataFrame]:
    """The history as a CSV reader gives it (times as text), a value that is no date in three time columns."""
    tables = {
        name: frame.astype({c: "str" for c in frame.columns if c.endswith("_at")})
        for name, frame in history.items()
    }
    tables["leads"].loc[3, "created_at"] = "yesterday"
    tables["activities"].loc[5, "occurred_at"] = "soon"
    closed = tables["deals"].index[tables["deals"]["outcome"].eq("won")][0]
    tables["deals"].loc[closed, "closed_at"] = "tbd"
    return tables


def test_rows_whose_time_is_no_date_are_set_apart_for_the_contract_not_placed_in_time(history):
    """`retrain` filters by time before validating: a value such as 'yesterday' in leads.created_at or
    deals.closed_at ended in a pandas traceback. Such rows are set apart, and the contract quarantines them
    (with their value) when they join the training input."""
    from features.as_of import tables_as_of
    from features.contracts import split_untimed, validate_tables

    tables = _with_untimed_rows(history)
    timed, untimed = split_untimed(tables)
    assert {name: len(frame) for name, frame in untimed.items()} == {
        "accounts": 0,
        "leads": 1,
        "activities": 1,
        "deals": 1,
    }
    assert all(len(timed[n]) + len(untimed[n]) == len(tables[n]) for n in tables)
    known = tables_as_of(timed, pd.Timestamp("2026-07-01"))  # raised before
    assert pd.api.types.is_datetime64_dtype(known["leads"]["created_at"])
    joined = {n: pd.concat([timed[n], untimed[n]], ignore_index=True) for n in tables}
    quarantine = validate_tables(joined).quarantine
    parsed = quarantine[quarantine["check"].eq("parse(datetime)")].set_index("table")["value"].to_dict()
    assert parsed == {"leads": "yesterday", "activities": "soon", "deals": "tbd"}


def test_retrain_on_a_history_with_times_that_are_no_dates_exits_with_a_code_not_a_traceback(
    tmp_path, history, mlflow_store
):
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    folder = tmp_path / "crm"
    folder.mkdir()
    for name, frame in _with_untimed_rows(history).items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    result = CliRunner().invoke(app, ["retrain", "--input", str(folder), "--as-of", "2026-07-01"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output  # a year of 120 accounts: too little
    assert "not enough data to retrain" in " ".join(result.output.split())


# --- labelled rows that share one or two creation times: not enough to split out of time (exit 4) ---------


@pytest.mark.parametrize("days", [1, 2])
def test_rows_with_too_few_distinct_times_to_split_out_of_time_are_not_enough_data(days):
    from models.minimum_data import InsufficientDataError
    from models.splits import out_of_time_split

    times = pd.Series(pd.Timestamp("2025-06-01") + pd.to_timedelta([i % days for i in range(300)], unit="D"))
    with pytest.raises(InsufficientDataError, match=f"300 rows were created at {days} distinct times"):
        out_of_time_split(times, 0.15, 0.15)


def test_training_an_export_whose_rows_share_one_creation_date_exits_4_naming_the_fix(tmp_path, mlflow_store):
    """An export written with a date only, every row on the day it was pulled, ended in a ValueError
    traceback from the out-of-time split."""
    import numpy as np
    import yaml
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    rng = np.random.default_rng(0)
    n = 400
    pd.DataFrame(
        {
            "Lead ID": [f"{i:05d}" for i in range(n)],
            "Stage": rng.choice(["Won", "Lost"], n),
            "Created": "2025-06-01",
            "Source": rng.choice(["web", "ads"], n),
            "Visits": rng.integers(0, 9, n),
        }
    ).to_csv(tmp_path / "x.csv", index=False)
    spec = _probe_spec(intent_columns=["Visits"])
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    args = ["train", "--input", str(tmp_path / "x.csv"), "--source-spec", str(tmp_path / "spec.yaml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    said = " ".join(result.output.split())
    assert "rows were created at 1 distinct times" in said and "model.split.method=grouped_random" in said


# --- an export whose times are no dates: exit 5 names the command that reads an export ---------------------


def test_too_many_broken_export_rows_name_spec_check_not_validate_which_reads_crm_tables():
    """Exit 5 on an export told the user to run `leadscore validate`, which reads CRM tables only."""
    import numpy as np

    from features.flat import ExportSpec
    from pipelines.settings import load_config
    from pipelines.sources import ExportSource
    from pipelines.train import TrainingQuarantineError, check_training_quarantine

    rng = np.random.default_rng(0)
    n = 200
    rows = pd.DataFrame(
        {
            "Lead ID": [f"{i:05d}" for i in range(n)],
            "Stage": rng.choice(["Won", "Lost"], n),
            "Created": 2025,  # a year, read from a CSV as a number: no date
            "Source": rng.choice(["web", "ads"], n),
        }
    )
    spec = ExportSpec.model_validate(_probe_spec())
    cfg = load_config()
    data = ExportSource.read(rows, spec).training_data(cfg, None)
    with pytest.raises(TrainingQuarantineError) as caught:
        check_training_quarantine(data, cfg.model.max_quarantine_share)
    said = str(caught.value)
    assert "leadscore spec check" in said and "leadscore validate" not in said


# --- retrain --as-of in the future: refused, as score refuses it ------------------------------------------


def test_retrain_as_of_in_the_future_is_refused_before_anything_is_trained_or_gated(
    tmp_path, history, mlflow_store
):
    """`retrain --as-of` three months ahead ran with exit 0 and promoted a champion evaluated on a quarter whose
    deals were too young to have closed honestly (only quick deals, mostly losses, had closed)."""
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    folder = tmp_path / "crm"
    folder.mkdir()
    for name, frame in history.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    later = (pd.Timestamp.now("UTC") + pd.Timedelta(days=90)).strftime("%Y-%m-%d")
    result = CliRunner().invoke(app, ["retrain", "--input", str(folder), "--as-of", later])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "is in the future" in " ".join(result.output.split())
    today = pd.Timestamp.now("UTC").strftime("%Y-%m-%d")  # today is fine: it gets as far as the data
    result = CliRunner().invoke(app, ["retrain", "--input", str(folder), "--as-of", today])
    assert "is in the future" not in " ".join(result.output.split())


# --- deals created before their lead (a migrated lead record): never trained on with hidden history -------


def test_a_deal_created_before_its_lead_is_quarantined_in_training_not_trained_blind(history):
    """A CRM whose lead records were migrated (created_at the migration day, after their deals) trained with
    exit 0: at each deal's creation the lead 'did not exist yet', so every activity was hidden, the model
    learnt from fit alone and was promoted (AUC 0.80 -> 0.64 in the probe). Such deals are quarantined with
    their rule; the other deals' training rows do not move."""
    base = _training(_copy(history))
    tables = _copy(history)
    deal = tables["deals"].loc[tables["deals"]["outcome"].isin(["won", "lost"])].iloc[0]
    lead_rows = tables["leads"]["lead_id"].eq(deal["lead_id"])
    tables["leads"].loc[lead_rows, "created_at"] = deal["created_at"] + pd.Timedelta(days=1)
    data = _training(tables)
    hit = data.quarantine[data.quarantine["check"].eq("not before its lead")]
    assert hit["key"].tolist() == [deal["deal_id"]] and hit["table"].tolist() == ["deals"]
    assert "created before its lead" in hit["reason"].iloc[0]
    assert deal["deal_id"] not in set(data.frame["deal_id"])
    others = set(data.frame["deal_id"])
    pd.testing.assert_frame_equal(
        data.frame.reset_index(drop=True),
        base.frame[base.frame["deal_id"].isin(others)].reset_index(drop=True),
    )


def test_a_deal_dated_by_day_alone_on_its_leads_day_is_trained_on_from_the_leads_creation(history):
    """Deals written with a date and no time (midnight) while leads carry their time: a deal opened the day
    its lead came in read as created before it, so the fastest deals were quarantined (80 of 1,823 in a
    probe, exit 0 under the 5 % limit). It is kept, its features built when the lead was created; a deal
    dated a day before its lead is still quarantined."""
    tables = _copy(history)
    deals, leads = tables["deals"], tables["leads"]
    closed = deals.index[deals["outcome"].isin(["won", "lost"])]
    same_day, day_before = deals.loc[closed[0]], deals.loc[closed[1]]
    for deal, shift in ((same_day, pd.Timedelta(0)), (day_before, pd.Timedelta(days=1))):
        lead_time = deal["created_at"].normalize() + shift + pd.Timedelta(hours=14, minutes=23)
        leads.loc[leads["lead_id"].eq(deal["lead_id"]), "created_at"] = lead_time
        deals.loc[deals["deal_id"].eq(deal["deal_id"]), "created_at"] = deal["created_at"].normalize()
    data = _training(tables)
    quarantined = set(data.quarantine.loc[data.quarantine["check"].eq("not before its lead"), "key"])
    assert quarantined == {day_before["deal_id"]}
    row = data.frame.loc[data.frame["deal_id"].eq(same_day["deal_id"])]
    lead_time = same_day["created_at"].normalize() + pd.Timedelta(hours=14, minutes=23)
    assert len(row) == 1 and row["snapshot_at"].iloc[0] == lead_time


def test_a_history_of_migrated_leads_stops_training_naming_the_rule(history):
    from pipelines.settings import load_config
    from pipelines.train import TrainingQuarantineError, check_training_quarantine

    tables = _copy(history)
    tables["leads"]["created_at"] = pd.Timestamp("2026-09-30")  # every lead record created on migration day
    data = _training(tables)
    with pytest.raises(TrainingQuarantineError, match="not before its lead"):
        check_training_quarantine(data, load_config().model.max_quarantine_share)


def test_scoring_does_not_check_deals_against_their_lead(history):
    """Features at as_of do not depend on it: scoring (validate with --as-of) leaves such deals alone."""
    from features.contracts import validate_tables

    tables = _copy(history)
    tables["leads"]["created_at"] = pd.Timestamp("2026-09-30")
    result = validate_tables(tables, as_of=pd.Timestamp("2026-10-01"))
    assert not result.quarantine["check"].eq("not before its lead").any()


# --- retrain on tables that lack a column: train's refusal, not a KeyError or "0 won and 0 lost" ------------


@pytest.mark.parametrize(
    ("table", "column"), [("deals", "closed_at"), ("leads", "created_at"), ("deals", "outcome")]
)
def test_retrain_on_a_table_without_a_required_column_exits_3_naming_it(
    tmp_path, history, mlflow_store, table, column
):
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    folder = tmp_path / "crm"
    folder.mkdir()
    for name, frame in history.items():
        (frame.drop(columns=[column]) if name == table else frame).to_csv(folder / f"{name}.csv", index=False)
    result = CliRunner().invoke(app, ["retrain", "--input", str(folder), "--as-of", "2026-07-01"])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert f"table '{table}' is missing required column(s) ['{column}']" in " ".join(result.output.split())


def test_retrain_on_outcomes_written_in_other_words_names_the_rule_not_missing_deals(
    tmp_path, history, mlflow_store
):
    """Outcomes written "Closed Won" and "Closed Lost": retrain said 'the validation quarter has 0 won and 0
    lost deals ... check that the deal history reaches that far' (exit 4); train names the rule they broke
    (exit 5), and so does retrain now. Written WON and LOST, they are the words won and lost: the same answer
    as the feed written in lower case."""
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    def retrain(spelling) -> tuple[int, str]:
        folder = tmp_path / spelling.__name__
        folder.mkdir()
        for name, frame in history.items():
            if name == "deals":
                frame = frame.assign(outcome=spelling(frame["outcome"]))
            frame.to_csv(folder / f"{name}.csv", index=False)
        result = CliRunner().invoke(app, ["retrain", "--input", str(folder), "--as-of", "2026-07-01"])
        return result.exit_code, " ".join(result.output.split())

    def closed_words(outcome):
        return outcome.map({"won": "Closed Won", "lost": "Closed Lost", "open": "open"})

    def capitals(outcome):
        return outcome.str.upper()

    def as_written(outcome):
        return outcome

    code, said = retrain(closed_words)
    assert code == exit_codes.QUARANTINE_OVER_LIMIT, said
    assert "isin(OUTCOMES) on column 'outcome'" in said and "0 won and 0 lost" not in said
    (code, said), (code_as_written, said_as_written) = retrain(capitals), retrain(as_written)
    assert code == code_as_written and "isin(OUTCOMES)" not in said
    assert said.replace("capitals", "as_written") == said_as_written
