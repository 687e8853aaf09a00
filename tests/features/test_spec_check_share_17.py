"""spec check says training would stop when the contract would quarantine too many won and lost rows."""

import numpy as np
import pandas as pd
import pytest

from features.flat import ExportSpec
from features.spec_check import check_spec


def contacts(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """An API export whose createdate is milliseconds since 1970."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D")
    return pd.DataFrame(
        {
            "hs_object_id": [str(i) for i in range(rows)],
            "createdate": (created - pd.Timestamp("1970-01-01")) // pd.Timedelta(milliseconds=1),
            "lifecyclestage": rng.choice(["customer", "other", "lead"], rows),
            "Job Title": rng.choice(["VP", "Analyst"], rows),
        }
    )


def spec(date_format: str | None) -> ExportSpec:
    return ExportSpec(
        name="contacts",
        id_column="hs_object_id",
        label_column="lifecyclestage",
        positive_labels=("customer",),
        negative_labels=("other",),
        open_labels=("lead",),
        timestamp_column="createdate",
        date_format=date_format,
        fit_columns={"Job Title": "categorical"},
    )


def test_times_in_a_format_the_spec_does_not_name_stop_the_check():
    report = check_spec(contacts(), spec(None), max_quarantine_share=0.05)
    assert not report.ok
    assert any("training would stop with exit code 5" in p and "is_date" in p for p in report.problems)


@pytest.mark.parametrize(("date_format", "limit"), [("epoch_ms", 0.05), (None, None)])
def test_a_named_format_or_no_limit_is_no_problem(date_format, limit):
    report = check_spec(contacts(), spec(date_format), max_quarantine_share=limit)
    assert report.ok, report.problems
