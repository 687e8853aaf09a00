"""Hostile data at the contract: dates never guessed, countries mapped or quarantined, a lead's status from all of
its deals, and rows from after as_of counted as not created yet. Small frames built here (no data files)."""

import pandas as pd
import pytest

from features.contracts import ContractError, validate_tables, with_timestamps
from features.countries import alpha2_countries
from features.dates import DateFormatError, DateFormats, parse_timestamps
from features.flat import SourceSpec, build_flat_features

AS_OF = pd.Timestamp("2024-06-01")


def _set(tables, table, row, column, value):
    frame = tables[table]
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return tables


def _lead_rows(result, check=None):
    q = result.quarantine[result.quarantine["table"] == "leads"]
    return q if check is None else q[q["check"] == check]


def _assert_accounted(result):
    counts = result.counts()
    assert counts["accounted"].all(), counts
    assert (counts["read"] == counts["valid"] + counts["quarantined"] + counts["not created yet"]).all()


# --- dates ------------------------------------------------------------------------------------------------


def test_iso_dates_with_mixed_offsets_become_naive_utc():
    values = pd.Series(
        ["2026-03-04T10:00:00+02:00", "2026-03-04 10:00:00-05:00", "2026-03-04", ""], dtype="str"
    )
    parsed, unparsed = parse_timestamps(values)
    assert parsed.tolist()[:3] == [
        pd.Timestamp("2026-03-04 08:00"),
        pd.Timestamp("2026-03-04 15:00"),
        pd.Timestamp("2026-03-04"),
    ]
    assert pd.isna(parsed.iloc[3]) and not unparsed.any()


def test_day_first_dates_are_refused_not_guessed():
    # Every day <= 12: 04/03/2026 is 4 March or 3 April, and nothing in the column says which.
    values = pd.Series(["04/03/2026", "05/03/2026", "11/12/2025"], dtype="str")
    with pytest.raises(DateFormatError) as caught:
        parse_timestamps(values)
    assert caught.value.ambiguous
    assert set(caught.value.formats) == {"%d/%m/%Y", "%m/%d/%Y"}
    assert caught.value.examples == ["04/03/2026", "05/03/2026"]


def test_a_non_iso_format_that_is_not_ambiguous_is_still_refused_until_named():
    values = pd.Series(["25/03/2026", "04/03/2026"], dtype="str")
    with pytest.raises(DateFormatError) as caught:
        parse_timestamps(values)
    assert caught.value.formats == ["%d/%m/%Y"] and not caught.value.ambiguous


def test_a_named_format_reads_the_column_and_iso_still_reads():
    values = pd.Series(["04/03/2026", "2026-03-05T00:00:00Z", "31/02/2026", "banana"], dtype="str")
    parsed, unparsed = parse_timestamps(values, "%d/%m/%Y")
    assert parsed.iloc[0] == pd.Timestamp("2026-03-04") and parsed.iloc[1] == pd.Timestamp("2026-03-05")
    assert unparsed.tolist() == [False, False, True, True]  # no 31 February, no banana: quarantined


def test_values_that_are_no_date_at_all_are_left_for_the_quarantine():
    values = pd.Series(["2026-13-45", "yesterday", "2026-01-02"], dtype="str")
    parsed, unparsed = parse_timestamps(values)
    assert unparsed.tolist() == [True, True, False] and parsed.iloc[2] == pd.Timestamp("2026-01-02")


def test_contract_refuses_an_ambiguous_column_naming_table_column_values_and_the_fix(contract_good_tables):
    tables = contract_good_tables
    tables["deals"]["created_at"] = ["02/01/2024", "03/01/2024", "01/03/2024"]
    with pytest.raises(ContractError) as caught:
        validate_tables(tables, as_of=AS_OF)
    message = str(caught.value)
    for part in (
        "'deals'",
        "'created_at'",
        "'02/01/2024'",
        "'03/01/2024'",
        "input.date_formats.deals.created_at",
    ):
        assert part in message, message


def test_contract_reads_a_named_format(contract_good_tables):
    tables = contract_good_tables
    tables["deals"]["created_at"] = ["15/01/2024", "20/01/2024", "01/03/2024"]
    formats = DateFormats(date_formats={"deals": {"created_at": "%d/%m/%Y"}})
    result = validate_tables(tables, as_of=AS_OF, date_formats=formats)
    assert result.quarantine.empty
    assert result.valid["deals"]["created_at"].tolist() == list(
        pd.to_datetime(["2024-01-15", "2024-01-20", "2024-03-01"])
    )


def test_date_formats_config_refuses_unknown_columns_and_non_dates():
    with pytest.raises(ValueError, match="not a timestamp column"):
        DateFormats(date_formats={"deals": {"amount": "%d/%m/%Y"}})
    with pytest.raises(ValueError, match="day, a month and a year"):
        DateFormats(date_format="%H:%M")


# --- countries --------------------------------------------------------------------------------------------


def test_country_names_and_codes_map_to_alpha2():
    values = pd.Series(["US", "usa", "United States", "Deutschland", "DEU", " de ", "U.K.", None, ""])
    codes, unmapped = alpha2_countries(values)
    assert codes.tolist()[:7] == ["US", "US", "US", "DE", "DE", "DE", "GB"]
    assert codes.iloc[7:].isna().all() and not unmapped.any()


def test_a_country_that_cannot_be_mapped_is_quarantined_with_a_sentence(contract_good_tables):
    tables = _set(contract_good_tables, "accounts", 1, "country", "Atlantis")  # A2 -> lead L3
    _set(tables, "accounts", 0, "country", "United States")
    result = validate_tables(tables, as_of=AS_OF)
    q = result.quarantine
    hit = q[(q["table"] == "accounts") & (q["check"] == "iso country")]
    assert hit["value"].tolist() == ["Atlantis"]
    assert "not a country name or ISO 3166 code" in hit["reason"].iloc[0]
    assert result.valid["accounts"]["country"].tolist() == ["US"]
    assert "L3" not in set(result.valid["leads"]["lead_id"])  # its leads follow it to the quarantine
    _assert_accounted(result)


# --- a lead's status from all of its deals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [(0, "amount", "yes"), (0, "amount", -5), (1, "outcome", "pending"), (1, "lost_reason", "too_expensive")],
)
def test_a_lead_whose_closed_deal_is_quarantined_is_quarantined_too(contract_good_tables, row, column, value):
    tables = _set(contract_good_tables, "deals", row, column, value)  # D1 won (L1), D2 lost (L2)
    lead = ["L1", "L2"][row]
    result = validate_tables(tables, as_of=AS_OF)
    hit = _lead_rows(result, "deal quarantined")
    assert hit["key"].tolist() == [lead]
    assert "may have closed" in hit["reason"].iloc[0]
    assert lead not in set(result.valid["leads"]["lead_id"])
    assert lead not in set(result.valid["activities"]["lead_id"])  # its rows follow it
    deal_checks = set(result.quarantine.loc[result.quarantine["table"] == "deals", "check"])
    assert "parent lead quarantined" not in deal_checks  # the deal is quarantined for its own fault only
    _assert_accounted(result)


def test_an_open_deal_quarantined_for_its_amount_leaves_its_lead_open(contract_good_tables):
    tables = _set(contract_good_tables, "deals", 2, "amount", -1)  # D3 open (L3)
    result = validate_tables(tables, as_of=AS_OF)
    assert _lead_rows(result).empty
    assert "L3" in set(result.valid["leads"]["lead_id"])


def test_a_deal_closed_after_as_of_was_open_then(contract_good_tables):
    tables = _set(contract_good_tables, "deals", 0, "closed_at", pd.Timestamp("2024-07-01"))  # after AS_OF
    result = validate_tables(tables, as_of=AS_OF)
    assert _lead_rows(result).empty
    assert "L1" in set(result.valid["leads"]["lead_id"])


# --- a backfill: rows created after as_of -----------------------------------------------------------------


def test_a_backfill_counts_later_leads_and_their_rows_as_not_created_yet(contract_good_tables):
    # L3 (created 2024-02-01), its 2 activities and its deal D3 did not exist yet. D1 and D2 existed but
    # closed later: quarantined as closed in the future, and their leads were open then.
    as_of = pd.Timestamp("2024-01-31")
    result = validate_tables(contract_good_tables, as_of=as_of)
    counts = result.counts().set_index("table")
    assert counts.loc["leads", ["valid", "quarantined", "not created yet"]].tolist() == [2, 0, 1]
    assert counts.loc["activities", ["valid", "quarantined", "not created yet"]].tolist() == [3, 0, 2]
    assert counts.loc["deals", ["valid", "quarantined", "not created yet"]].tolist() == [0, 2, 1]
    assert set(result.valid["leads"]["lead_id"]) == {"L1", "L2"}
    assert not (result.quarantine["table"] == "leads").any()
    _assert_accounted(result)


# --- a flat export's timestamp column ---------------------------------------------------------------------


def test_a_flat_export_reads_its_timestamps_with_the_one_parser():
    spec = SourceSpec(
        name="crm-x",
        id_column="id",
        label_column="converted",
        positive_labels=(1,),
        timestamp_column="created",
        fit_columns={"size": "numeric"},
    )
    export = pd.DataFrame(
        {"id": [1, 2], "converted": [1, 0], "size": [10, 20], "created": ["04/03/2026", "05/03/2026"]}
    )
    with pytest.raises(ContractError, match=r"'crm-x', column 'created'.*'04/03/2026'.*date_format"):
        build_flat_features(export, spec)
    named = SourceSpec.model_validate({**spec.model_dump(), "date_format": "%d/%m/%Y"})
    features, _ = build_flat_features(export, named)
    assert features["created"].tolist() == [pd.Timestamp("2026-03-04"), pd.Timestamp("2026-03-05")]


def test_with_timestamps_reads_dates_as_the_contract_does_for_jobs_that_filter_first(contract_good_tables):
    tables = contract_good_tables
    tables["deals"]["created_at"] = ["15/01/2024", "20/01/2024", "01/03/2024"]
    tables["leads"]["created_at"] = ["2024-01-02", "soon", "2024-02-01T00:00:00+01:00"]
    with pytest.raises(ContractError, match="'deals', column 'created_at'"):
        with_timestamps(tables)
    out = with_timestamps(tables, DateFormats(date_format="%d/%m/%Y"))
    assert out["deals"]["created_at"].tolist() == list(
        pd.to_datetime(["2024-01-15", "2024-01-20", "2024-03-01"])
    )
    assert out["leads"]["created_at"].tolist() == ["2024-01-02", "soon", "2024-02-01T00:00:00+01:00"]  # left


@pytest.mark.parametrize(
    ("values", "fmt", "first"),
    [
        (["04/03/26", "05/03/26"], "%d/%m/%y", "2026-03-04"),  # two-digit years: pandas does not guess them
        (["2026-03-04 10:00:00 UTC", "2026-03-05 11:00:00 UTC"], "%Y-%m-%d %H:%M:%S %Z", "2026-03-04 10:00"),
        (["Mar 4 2026", "Mar 5 2026"], "%b %d %Y", "2026-03-04"),
    ],
)
def test_other_layouts_are_refused_until_named_then_read(values, fmt, first):
    series = pd.Series(values, dtype="str")
    with pytest.raises(DateFormatError) as caught:
        parse_timestamps(series)
    assert fmt in caught.value.formats
    parsed, unparsed = parse_timestamps(series, fmt)
    assert parsed.iloc[0] == pd.Timestamp(first) and parsed.iloc[1].day == 5 and not unparsed.any()


def test_country_placeholders_are_missing_not_quarantined():
    codes, unmapped = alpha2_countries(pd.Series(["n/a", "Unknown", "-", "Atlantis"]))
    assert codes.iloc[:3].isna().all() and unmapped.tolist() == [False, False, False, True]


def test_the_words_pandas_reads_as_the_clock_time_are_no_dates():
    # pd.to_datetime reads "today" and "now" as the clock time in any format: a lead "created today" moved with
    # the day it was read, and one such cell made every format look fitting in the refusal's sentence.
    values = pd.Series(["2026-01-05", "today", "NOW", " now ", "Today"], dtype=object)
    parsed, not_dates = parse_timestamps(values)
    assert parsed.iloc[0] == pd.Timestamp("2026-01-05") and parsed.iloc[1:].isna().all()
    assert not_dates.tolist() == [False, True, True, True, True]
    with pytest.raises(DateFormatError, match="'05/01/2026'") as refused:
        parse_timestamps(pd.Series(["05/01/2026", "today"], dtype=object))
    assert "%d/%m/%y" not in str(refused.value)  # only the formats that read the real date
