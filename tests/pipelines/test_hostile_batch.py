"""Hostile batch input, end to end through `validate` and `score`: every case ends in a clear exit code and
sentence, every lead read is scored, quarantined or counted as not scored, and no closed lead is ever scored.

The corpus is built here from a small synthetic history (no data files); the session's model, trained once in
process on another history of the same generator, is handed to `score` in place of the registry.
"""

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.dates import TIMESTAMP_COLUMNS
from features.synthetic import GeneratorConfig, generate_history
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.score import quarantine_path_for

runner = CliRunner()
AS_OF = pd.Timestamp("2026-10-01")  # the history's end
DAY_FIRST = "%d/%m/%Y %H:%M:%S"


@pytest.fixture(scope="module")
def history():
    return generate_history(GeneratorConfig(accounts=700, months=12, seed=3))


@pytest.fixture(scope="module")
def trained(small_scorer):
    """The session's scorer (trained once on small_history, same generator as `history`); read-only."""
    return small_scorer


@pytest.fixture()
def scorer(trained, monkeypatch, mlflow_store):
    """`score` gets the model trained above whatever --model says."""
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: trained)
    return trained


def _tables(history) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in history.tables().items()}


def _write(tables, folder, date_format=None):
    """The tables as CSV files; timestamps as ISO 8601 or in `date_format`."""
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        frame = frame.copy()
        if date_format:
            for column in TIMESTAMP_COLUMNS[name]:
                frame[column] = frame[column].dt.strftime(date_format)
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, " ".join(result.output.split())


def _score(folder, out, *extra, as_of=AS_OF):
    return _run("score", "--input", folder, "--as-of", as_of.date(), "--output", out, "--no-reasons", *extra)


def _validate(folder, quarantine, *extra, as_of=AS_OF):
    return _run("validate", "--input", folder, "--as-of", as_of.date(), "--quarantine", quarantine, *extra)


def _closed_lead_ids(tables, as_of=AS_OF) -> set:
    """Leads with a deal that was not cleanly open as of `as_of`, whatever else is wrong with the deal."""
    deals = tables["deals"]
    created = pd.to_datetime(deals["created_at"])
    closed_at = pd.to_datetime(deals["closed_at"])
    not_open = deals["outcome"].astype(str).ne("open") & ~(closed_at > as_of)
    return set(deals.loc[not_open & (created <= as_of), "lead_id"])


def _assert_accounted(tables, out, as_of=AS_OF):
    """read = scored + quarantined + not scored (closed or created later); no closed lead scored."""
    leads = tables["leads"].reset_index(drop=True)
    scores = pd.read_csv(out)
    quarantine = pd.read_csv(quarantine_path_for(out))
    scored = set(scores["lead_id"])
    assert not scores["lead_id"].duplicated().any()
    quarantined = set(quarantine.loc[quarantine["table"] == "leads", "row"].astype(int))
    closed = _closed_lead_ids(tables, as_of)
    assert not scored & closed, "a lead with a closed deal was scored"
    later = set(leads.index[pd.to_datetime(leads["created_at"]) > as_of])
    assert not quarantined & later, "a lead created after as_of counted as bad data"
    for row, lead in leads["lead_id"].items():
        states = [lead in scored, row in quarantined, lead in closed and row not in quarantined, row in later]
        assert sum(states) == 1, (row, lead, states)
    return scores, quarantine


# --- dates ------------------------------------------------------------------------------------------------


def _early_days_first(tables):
    """Rows whose day of the month is at most 12 first in every table, as in the file that fooled the reader."""
    out = {}
    for name, frame in tables.items():
        day = frame[TIMESTAMP_COLUMNS[name][0]].dt.day
        out[name] = frame.iloc[(day > 12).argsort(kind="stable")].reset_index(drop=True)
    return out


def test_a_day_first_file_is_refused_by_validate_and_score_alike(tmp_path, history, scorer):
    folder = _write(_early_days_first(_tables(history)), tmp_path / "crm", DAY_FIRST)
    validated, said = _validate(folder, tmp_path / "q.csv")
    assert validated.exit_code == exit_codes.BAD_INPUT, said
    for part in ("table 'accounts', column 'created_at'", "not ISO 8601", "input.date_format"):
        assert part in said, said
    examples = pd.read_csv(folder / "accounts.csv")["created_at"].head(40).tolist()
    assert sum(f"'{v}'" in said for v in examples) == 2, said  # two values of the file, as written there
    scored, score_said = _score(folder, tmp_path / "scores.csv")
    assert scored.exit_code == exit_codes.BAD_INPUT, score_said
    sentence = said[said.index("error:") :].split(" rows read")[0]
    assert sentence in score_said  # the same sentence from both commands
    assert not (tmp_path / "scores.csv").exists()


def test_a_day_first_file_with_its_format_named_reads_like_the_iso_file(tmp_path, history, scorer):
    tables = _early_days_first(_tables(history))
    iso = _write(tables, tmp_path / "iso")
    day_first = _write(tables, tmp_path / "day-first", DAY_FIRST)
    named = ("--set", f"input.date_format={DAY_FIRST}")
    validated, said = _validate(day_first, tmp_path / "q.csv", *named)
    assert validated.exit_code == 0, said
    result, said = _score(day_first, tmp_path / "day-first.csv", *named)
    assert result.exit_code == 0, said
    assert _score(iso, tmp_path / "iso.csv")[0].exit_code == 0
    scores, quarantine = _assert_accounted(tables, tmp_path / "day-first.csv")
    pd.testing.assert_frame_equal(scores, pd.read_csv(tmp_path / "iso.csv"))
    # validate and score quarantine the same rows for the same reasons
    by_validate = pd.read_csv(tmp_path / "q.csv")[["table", "row", "check"]]
    assert set(map(tuple, by_validate.to_numpy())) == set(
        map(tuple, quarantine[["table", "row", "check"]].to_numpy())
    )


def test_mixed_timezone_offsets_are_converted_to_utc(tmp_path, history, scorer):
    tables = _tables(history)
    leads = tables["leads"]
    offsets = ["+02:00", "-05:00", "+00:00"]
    shifted = [
        (t + pd.Timedelta(offsets[i % 3].replace(":", "h") + "m")).strftime("%Y-%m-%dT%H:%M:%S")
        + offsets[i % 3]
        for i, t in enumerate(leads["created_at"])
    ]
    folder = _write(tables, tmp_path / "crm")
    pd.read_csv(folder / "leads.csv").assign(created_at=shifted).to_csv(folder / "leads.csv", index=False)
    validated, said = _validate(folder, tmp_path / "q.csv")
    assert validated.exit_code == 0, said
    result, said = _score(folder, tmp_path / "scores.csv")
    assert result.exit_code == 0, said
    _assert_accounted(tables, tmp_path / "scores.csv")


# --- a lead's status from all of its deals ----------------------------------------------------------------


def test_a_closed_deal_quarantined_for_another_field_never_scores_its_lead(tmp_path, history, scorer):
    tables = _tables(history)
    deals = tables["deals"]
    deals[["amount", "outcome"]] = deals[["amount", "outcome"]].astype(object)
    closed = deals.index[deals["outcome"].isin(["won", "lost"])][:3]
    deals.loc[closed[0], "amount"] = "yes"
    deals.loc[closed[1], "amount"] = -100
    deals.loc[closed[2], "outcome"] = "pending"
    leads = set(deals.loc[closed, "lead_id"])
    folder = _write(tables, tmp_path / "crm")
    validated, said = _validate(folder, tmp_path / "q.csv")
    assert validated.exit_code == 0, said
    result, said = _score(folder, tmp_path / "scores.csv")
    assert result.exit_code == 0, said
    scores, quarantine = _assert_accounted(tables, tmp_path / "scores.csv")
    assert not leads & set(scores["lead_id"])
    hit = quarantine[(quarantine["table"] == "leads") & (quarantine["check"] == "deal quarantined")]
    assert set(hit["key"]) == leads
    assert hit["reason"].str.contains("may have closed").all()


# --- countries --------------------------------------------------------------------------------------------


def _accounts_with_open_leads(tables, n):
    closed = _closed_lead_ids(tables)
    open_leads = tables["leads"][~tables["leads"]["lead_id"].isin(closed)]
    return open_leads["account_id"].drop_duplicates().head(n).tolist()


def test_country_names_and_alpha3_codes_score_like_alpha2_and_atlantis_is_quarantined(
    tmp_path, history, scorer
):
    tables = _tables(history)
    accounts = tables["accounts"]
    chosen = _accounts_with_open_leads(tables, 5)
    names = ["USA", "United States", "Deutschland", "DEU", "Atlantis"]
    codes = ["US", "US", "DE", "DE"]
    at = accounts["account_id"].isin(chosen[:4])
    coded = {**tables, "accounts": accounts.assign(country=accounts["country"].astype(object))}
    coded["accounts"].loc[at, "country"] = [
        dict(zip(chosen[:4], codes, strict=True))[a] for a in accounts.loc[at, "account_id"]
    ]
    named = {**coded, "accounts": coded["accounts"].copy()}
    named["accounts"].loc[accounts["account_id"].isin(chosen), "country"] = [
        dict(zip(chosen, names, strict=True))[a]
        for a in accounts.loc[accounts["account_id"].isin(chosen), "account_id"]
    ]
    coded["accounts"] = coded["accounts"][coded["accounts"]["account_id"] != chosen[4]]  # no Atlantis here
    coded["leads"] = coded["leads"][coded["leads"]["account_id"] != chosen[4]]
    for name, frame in (("coded", coded), ("named", named)):
        result, said = _score(_write(frame, tmp_path / name), tmp_path / f"{name}.csv")
        assert result.exit_code == 0, said
    scores, quarantine = _assert_accounted(named, tmp_path / "named.csv")
    by_code = pd.read_csv(tmp_path / "coded.csv").set_index("lead_id")
    by_name = scores.set_index("lead_id").loc[by_code.index]
    pd.testing.assert_series_equal(by_name["score"], by_code["score"])  # the same leads, the same scores
    pd.testing.assert_series_equal(by_name["disqualify_reasons"], by_code["disqualify_reasons"])
    atlantis = quarantine[quarantine["check"] == "iso country"]
    assert atlantis["value"].tolist() == ["Atlantis"]
    assert "not a country name or ISO 3166 code" in atlantis["reason"].iloc[0]
    its_leads = set(named["leads"].loc[named["leads"]["account_id"] == chosen[4], "lead_id"])
    assert its_leads and not its_leads & set(scores["lead_id"])


# --- the quarantine limit and a backfill ------------------------------------------------------------------


def test_validate_exits_5_over_the_quarantine_limit_as_score_does(tmp_path, history, scorer):
    tables = _tables(history)
    leads = tables["leads"]
    leads.loc[leads.index[::10], "email"] = "no-email-given"  # 10 % of leads, above the 5 % allowed
    folder = _write(tables, tmp_path / "crm")
    validated, said = _validate(folder, tmp_path / "q.csv")
    assert validated.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, said
    assert "of leads quarantined, above the allowed 5.0%" in said and "scoring.max_quarantine_share" in said
    assert (tmp_path / "q.csv").exists()
    result, said = _score(folder, tmp_path / "scores.csv")
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, said
    _assert_accounted(tables, tmp_path / "scores.csv")
    relaxed = ("--set", "scoring.max_quarantine_share=0.2")
    assert _validate(folder, tmp_path / "q.csv", *relaxed)[0].exit_code == 0


def test_unusable_activities_exit_5_even_when_every_lead_is_fine(tmp_path, history, scorer):
    tables = _tables(history)
    tables["activities"]["activity_type"] = "page_view"  # a feed whose types the contract does not know
    folder = _write(tables, tmp_path / "crm")
    validated, said = _validate(folder, tmp_path / "q.csv")
    assert validated.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, said
    assert "of the activities rows broke a rule of the contract" in said
    result, said = _score(folder, tmp_path / "scores.csv")
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, said
    assert "of the activities rows broke a rule" in said
    _assert_accounted(tables, tmp_path / "scores.csv")


def test_a_backfill_counts_leads_created_later_as_not_created_yet(tmp_path, history, scorer):
    tables = _tables(history)
    as_of = pd.Timestamp("2026-04-01")
    later = int((tables["leads"]["created_at"] > as_of).sum())
    assert later > 100  # the case is real: a third or more of the leads came after the backfill date
    folder = _write(tables, tmp_path / "crm")
    validated, said = _validate(folder, tmp_path / "q.csv", as_of=as_of)
    assert validated.exit_code == 0, said
    assert "not created yet" in said
    result, said = _score(folder, tmp_path / "scores.csv", as_of=as_of)
    assert result.exit_code == 0, said
    assert re.search(rf"not scored: created after as_of\W+{later:,}\b", said), said
    _, quarantine = _assert_accounted(tables, tmp_path / "scores.csv", as_of)
    assert not (quarantine["table"] == "leads").any()
