"""The company's founding year vs the CRM record's creation (issue 20), and the month at the snapshot (issue 17)."""

import math

import numpy as np
import pandas as pd
import pytest

from features.build import build_features, feature_groups, scoring_snapshots, training_snapshots
from features.config import FeatureConfig, ICPConfig
from features.contracts import validate_table, validate_tables
from features.flat import ExportSpec, build_flat_features, flat_feature_groups, season_at
from features.season import month_of_year, year_covered
from features.synthetic import GeneratorConfig, generate_history
from models.lead_input import LeadInputError, check_lead_rows, lead_rows_to_tables

CONFIG, ICP = FeatureConfig(), ICPConfig()
AS_OF = pd.Timestamp("2024-06-01")


def _tables(founded_year: list[object] | None = None) -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "name": ["Acme", "Beta"],
            "domain": ["acme.com", "beta.io"],
            "industry": ["software", "retail"],
            "employee_count": [120, 40],
            "annual_revenue": [2.5e7, 4e6],
            "country": ["US", "DE"],
            "tech_stack": ["salesforce", ""],
            # when the CRM records were created: recent, whatever the companies' age
            "created_at": pd.to_datetime(["2023-11-02", "2024-02-10"]),
        }
    )
    if founded_year is not None:
        accounts["founded_year"] = founded_year
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "account_id": ["A1", "A2"],
            "email": ["ann@acme.com", "bo@beta.io"],
            "job_title": ["VP Sales", "Head of Growth"],
            "lead_source": ["event", "referral"],
            "created_at": pd.to_datetime(["2023-11-05", "2024-02-12"]),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2"],
            "lead_id": ["L1", "L2"],
            "account_id": ["A1", "A2"],
            "created_at": pd.to_datetime(["2023-12-20", "2024-03-05"]),
            "closed_at": pd.to_datetime(["2024-02-01", "2024-04-01"]),
            "outcome": ["won", "lost"],
            "amount": [1000.0, 500.0],
            "lost_reason": [None, "timing"],
        }
    )
    activities = pd.DataFrame(
        {
            "lead_id": ["L1"],
            "occurred_at": pd.to_datetime(["2023-12-01"]),
            "activity_type": ["pricing_page"],
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities, "deals": deals}


def _frame(tables, snapshots) -> pd.DataFrame:
    return build_features(tables, snapshots, CONFIG, ICP).to_frame().set_index("lead_id")


# --- founded_year, not created_at, gives the company's age ------------------------------------------------


def test_company_age_is_whole_years_from_the_founding_year_to_the_snapshot():
    tables = _tables(founded_year=[2010, 1998])
    training = _frame(tables, training_snapshots(tables["deals"]))  # deals created Dec 2023 and Mar 2024
    assert training["company_age_years"].tolist() == [13.0, 26.0]
    scoring = _frame(tables, scoring_snapshots(tables["leads"], pd.Timestamp("2026-10-01")))
    assert scoring["company_age_years"].tolist() == [16.0, 28.0]


def test_the_crm_record_date_never_gives_a_company_age():
    tables = _tables()  # no founded_year: record dates only
    frame = _frame(tables, scoring_snapshots(tables["leads"], AS_OF))
    assert frame["company_age_years"].isna().all()
    moved = _tables()
    moved["accounts"]["created_at"] = pd.to_datetime(["1950-01-01", "1990-01-01"])
    assert _frame(moved, scoring_snapshots(moved["leads"], AS_OF))["company_age_years"].isna().all()


def test_a_missing_or_later_founding_year_leaves_the_age_unknown():
    tables = _tables(founded_year=[None, 2025])
    frame = _frame(tables, scoring_snapshots(tables["leads"], AS_OF))
    assert frame["company_age_years"].isna().all()  # 2025 is after the snapshot's year: not a negative age


def test_the_synthetic_history_writes_founding_years_and_record_dates():
    history = generate_history(GeneratorConfig(accounts=60, months=6, seed=3))
    accounts = history.accounts.set_index("account_id")
    assert accounts["founded_year"].between(1960, 2024).all()
    first_lead = history.leads.groupby("account_id")["created_at"].min()
    assert (accounts["created_at"] <= first_lead.reindex(accounts.index)).all()  # a record, not a founding
    assert accounts["created_at"].min() > pd.Timestamp(GeneratorConfig().end) - pd.DateOffset(years=2)


# --- the contract of founded_year ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "check"),
    [
        (1750, "ge(1800)"),
        (2025, "year not after as_of"),
        (1999.5, "whole year"),
        ("nineties", "parse(number)"),
    ],
)
def test_a_bad_founding_year_is_quarantined_with_its_check(bad, check):
    tables = _tables(founded_year=[2010, 2001])
    tables["accounts"]["founded_year"] = tables["accounts"]["founded_year"].astype(object)
    tables["accounts"].loc[1, "founded_year"] = bad
    result = validate_tables(tables, as_of=AS_OF)
    q = result.quarantine
    own = q[(q["table"] == "accounts") & (q["column"] == "founded_year")]
    assert own["check"].tolist() == [check] and own["key"].tolist() == ["A2"]
    assert result.valid["accounts"]["account_id"].tolist() == ["A1"]
    result.assert_accounted()


def test_founded_year_is_optional_and_a_gap_is_no_defect():
    assert validate_tables(_tables(), as_of=AS_OF).quarantine.empty
    result = validate_tables(_tables(founded_year=["2010", ""]), as_of=AS_OF)
    assert result.quarantine.empty
    assert result.valid["accounts"]["founded_year"].tolist()[0] == 2010.0
    assert math.isnan(result.valid["accounts"]["founded_year"].tolist()[1])


def test_an_account_record_created_after_as_of_is_not_a_defect():
    tables = _tables(founded_year=[2010, 2001])
    tables["accounts"].loc[1, "created_at"] = pd.Timestamp("2024-09-01")  # a backfill's as_of is earlier
    result = validate_table("accounts", tables["accounts"], as_of=AS_OF)
    assert result.quarantine.empty and len(result.valid["accounts"]) == 2


def test_online_lead_with_a_founding_year_after_its_snapshot_is_refused():
    row = {"lead_id": "L1", "email": "a@b.com", "account_founded_year": 2027, "as_of": "2026-10-01"}
    with pytest.raises(LeadInputError, match="account_founded_year.*year not after as_of"):
        lead_rows_to_tables(check_lead_rows([row]), pd.Timestamp("2026-10-01"))
    with pytest.raises(LeadInputError, match="ge\\(1800\\)"):
        check_lead_rows([{**row, "account_founded_year": 1066}])


def test_online_and_batch_give_the_same_company_age():
    row = {"lead_id": "L1", "email": "a@b.com", "account_id": "A1", "account_founded_year": 2012}
    tables, snapshots = lead_rows_to_tables(check_lead_rows([row]), pd.Timestamp("2026-10-01"))
    online = build_features(tables, snapshots, CONFIG, ICP).to_frame()
    assert online["company_age_years"].tolist() == [14.0]


# --- month of the year at the snapshot ----------------------------------------------------------------------


def test_training_rows_get_the_month_their_deal_was_created():
    tables = _tables(founded_year=[2010, 1998])
    frame = _frame(tables, training_snapshots(tables["deals"]))
    assert frame["month_of_year"].tolist() == [12.0, 3.0]
    assert "month_of_year" in feature_groups(CONFIG)["fit"]
    assert "month_of_year" not in feature_groups(FeatureConfig(exclude_features=("month_of_year",)))["fit"]


def test_scoring_rows_get_the_month_of_as_of_not_of_their_creation():
    tables = _tables(founded_year=[2010, 1998])  # leads created in November and February
    frame = _frame(tables, scoring_snapshots(tables["leads"], pd.Timestamp("2024-06-01")))
    assert frame["month_of_year"].tolist() == [6.0, 6.0]


def test_month_of_year_reads_times_as_the_features_do():
    times = pd.Series(["2024-01-31T23:30:00-02:00", None, "2024-12-01T10:00:00-02:00"])  # 1 Feb UTC first
    assert month_of_year(times).tolist()[::2] == [2.0, 12.0]
    assert np.isnan(month_of_year(times)[1])


def _spec(timestamp: str | None) -> ExportSpec:
    return ExportSpec(
        name="t",
        id_column="Id",
        label_column="Status",
        positive_labels=("Won",),
        negative_labels=("Lost",),
        open_labels=("Open",),
        timestamp_column=timestamp,
        fit_columns={"Industry": "categorical"},
        intent_columns=("Visits",),
        drop_columns={} if timestamp else {"Created": "no time column in this test"},
    )


def test_flat_export_month_is_the_rows_time_in_training_and_as_of_in_scoring():
    export = pd.DataFrame(
        {
            "Id": ["1", "2"],
            "Status": ["Won", "Open"],
            "Created": ["2024-03-10", "2024-11-02"],
            "Industry": ["software", "retail"],
            "Visits": [3, 0],
        }
    )
    spec = _spec("Created")
    features, _ = build_flat_features(export, spec)
    assert features["month_of_year"].tolist() == [3.0, 11.0]
    assert "month_of_year" in flat_feature_groups(spec)["fit"]
    scored = season_at(features, spec, pd.Timestamp("2025-01-15"))
    assert scored["month_of_year"].tolist() == [1.0, 1.0]
    no_time, _ = build_flat_features(export, _spec(None))
    assert "month_of_year" not in no_time.columns
    assert "month_of_year" not in flat_feature_groups(_spec(None))["fit"]


def test_the_shipped_drift_check_keeps_the_month_even_when_a_recent_block_looks_new():
    from models.train import drift_check
    from pipelines.settings import load_config

    older = np.tile(np.arange(1.0, 13.0), 40)  # every month, for years
    recent = np.tile([1.0, 2.0, 3.0], 40)  # the newest block: January to March only
    noise = np.random.default_rng(0).normal(size=len(older) + len(recent))
    rows = pd.DataFrame({"month_of_year": np.r_[older, recent], "noise": noise})
    held_out = np.arange(len(older), len(rows))
    folds = [(np.arange(len(older)), held_out)]
    model = load_config().model
    names = ["month_of_year", "noise"]
    record = drift_check(rows, folds, "time_ordered", names, [], model)
    assert record["flagged"] == ["month_of_year"] and record["kept"] == ["month_of_year"]
    assert record["dropped"] == []
    unkept = model.model_copy(update={"drift": model.drift.model_copy(update={"keep": []})})
    record = drift_check(rows, folds, "time_ordered", names, [], unkept)
    assert record["linear_only"] == ["month_of_year"] and record["dropped"] == []  # a number
    dropping = model.model_copy(
        update={"drift": model.drift.model_copy(update={"keep": [], "numbers": "drop"})}
    )
    assert drift_check(rows, folds, "time_ordered", names, [], dropping)["dropped"] == ["month_of_year"]


def test_reasons_name_the_founding_year_and_the_time_of_year_in_words():
    from features.frames import Table
    from models.explain import reason_texts

    frame = Table({"company_age_years": np.array([14.0, np.nan]), "month_of_year": np.array([12.0, 1.0])})
    values = np.array([[0.5, 0.3], [0.5, 0.3]])
    positive = reason_texts(frame, values, ["company age", "time of year"])[:, 0].tolist()
    assert positive == [
        "company founded 14 years ago; time of year: December",
        "time of year: January",  # an unknown founding year never reads as good news
    ]
    negative = reason_texts(frame, -values, ["company age", "time of year"])[:, 1].tolist()
    assert negative == [
        "company founded 14 years ago; time of year: December",
        "founding year unknown; time of year: January",
    ]


def test_year_covered_asks_every_month_to_hold_enough_rows():
    two_years = np.tile(np.repeat(np.arange(1, 13), 40), 2).astype(float)
    assert year_covered(two_years, 30)
    ten_months = np.repeat(np.arange(1, 11), 80).astype(float)  # June to March: April and May never seen
    assert not year_covered(ten_months, 30)
    thin_may = np.concatenate([two_years, [np.nan] * 50])
    thin_may = thin_may[(thin_may != 5) | (np.arange(len(thin_may)) % 4 == 0)]  # 20 rows of May left
    assert not year_covered(thin_may, 30) and year_covered(thin_may, 20)
