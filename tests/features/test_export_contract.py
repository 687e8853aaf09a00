"""The flat export's row contract: bad rows quarantined with table, row, column, rule and reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.export_contract import check_export
from features.flat import SourceSpec
from tests.features.test_flat import _shipped_spec, _small_spec, x_education_fixture


def tiny_export() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "b", None, " "],
            "won": ["yes", "no", "no", "yes", "no", "no"],
            "Plan": ["pro", "Select", "free", "pro", "pro", "pro"],
            "Seats": ["10", "1,234", "n/a", "3", "4", "5"],
            "Visits": [1, 2, np.inf, 4, 5, 6],
            "Stage": "x",
        }
    )


def test_bad_rows_are_quarantined_with_the_rule_and_the_rest_kept():
    spec = SourceSpec.model_validate(_small_spec())
    valid, quarantine = check_export(tiny_export(), spec)
    assert valid["id"].tolist() == ["a"]
    by_rule = quarantine.groupby("check")["row"].apply(list).to_dict()
    assert by_rule == {"is_number": [1, 2, 2], "not_null": [4, 5], "unique": [3]}
    assert set(quarantine["table"]) == {"export"}
    separators = quarantine.loc[quarantine["value"] == "1,234", "reason"].item()
    assert "thousands separators" in separators and separators.startswith("Seats")
    assert "not a number ('n/a')" in quarantine.loc[quarantine["value"] == "n/a", "reason"].item()


def test_every_row_is_kept_or_quarantined():
    spec = SourceSpec.model_validate(_small_spec())
    frame = tiny_export()
    valid, quarantine = check_export(frame, spec)
    assert len(valid) + quarantine["row"].nunique() == len(frame)


def test_placeholders_are_not_bad_numbers():
    spec = SourceSpec.model_validate(_small_spec(missing_values=["Select", "n/a"]))
    _, quarantine = check_export(tiny_export(), spec)
    assert "n/a" not in set(quarantine["value"])


def test_dates_that_are_no_dates_are_quarantined():
    spec = SourceSpec.model_validate(_small_spec(timestamp_column="created"))
    frame = tiny_export().head(3).assign(created=["2025-01-02", "yesterday", None])
    _, quarantine = check_export(frame, spec)
    assert quarantine.loc[quarantine["check"] == "is_date", "row"].tolist() == [1]


def test_a_clean_export_in_x_educations_shape_loses_nothing():
    frame = x_education_fixture()
    valid, quarantine = check_export(frame, _shipped_spec())
    assert quarantine.empty and len(valid) == len(frame)
