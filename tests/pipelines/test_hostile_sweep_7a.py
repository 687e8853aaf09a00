"""Seventh hostile sweep, part a: metamorphic invariance. The same data presented differently (rows in another
order, another file format, ids or times written another way) must give the same answer.

Each test is one class that once gave another answer with exit 0: training rows taken in table order (another
model for a shuffled history), a whole number stored as a float read as another level (an export's categorical
column, a CRM industry code), and spec draft's id chosen by column order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contracts import validate_table
from features.flat import ExportSpec, build_flat_features
from models.lead_input import check_lead_rows
from pipelines.io import read_frame
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import CrmSource, ExportSource
from pipelines.spec import read_spec_export, run_spec_draft
from tests.features.crm_exports import hubspot_contacts_export
from tests.features.test_flat import x_education_fixture


def test_training_rows_do_not_depend_on_the_order_the_input_lists_them(small_history):
    """A deals table read without ORDER BY, a shuffled export: the same labelled rows, in the same order."""
    cfg = load_config()
    tables = small_history.tables()
    shuffled = {**tables, "deals": tables["deals"].sample(frac=1, random_state=3).reset_index(drop=True)}
    export = x_education_fixture(60)
    spec = load_source_spec("x_education")
    for given, other in [
        (CrmSource(tables), CrmSource(shuffled)),
        (ExportSource(export, spec), ExportSource(export.sample(frac=1, random_state=3), spec)),
    ]:
        first, second = given.training_data(cfg, None), other.training_data(cfg, None)
        assert first.frame["lead_id"].tolist() == second.frame["lead_id"].tolist()
        np.testing.assert_array_equal(first.y, second.y)
        pd.testing.assert_frame_equal(first.frame.reset_index(drop=True), second.frame.reset_index(drop=True))


def test_a_whole_number_in_a_categorical_column_is_one_level_however_the_file_stores_it(tmp_path):
    """A categorical 'Rating' read from a CSV with a gap elsewhere in the column is floats (5.0), from one
    without a gap whole numbers (5): two levels, so the same leads scored up to 0.85 apart, exit 0."""
    d = load_source_spec("x_education").model_dump()
    spec = ExportSpec.model_validate({**d, "fit_columns": {**d["fit_columns"], "Rating": "categorical"}})
    export = x_education_fixture(10).assign(Rating=[5, 3, 1, 2, 4, 5, 3, 1, 2, 4])
    export.to_csv(tmp_path / "whole.csv", index=False)
    gap = export.assign(Rating=[5, 3, 1, None, 4, 5, 3, 1, 2, 4])  # pandas writes 5.0, 3.0, ...
    gap.to_csv(tmp_path / "gap.csv", index=False)
    export.astype({"Rating": "float64"}).to_parquet(tmp_path / "floats.parquet")
    for name in ("whole.csv", "gap.csv", "floats.parquet"):
        features, _ = build_flat_features(read_spec_export(tmp_path / name, spec), spec)
        assert features["Rating"].tolist()[:3] == ["5", "3", "1"], name


def test_spec_draft_proposes_the_same_id_whatever_the_column_order(tmp_path):
    """Columns reversed (a CRM view ordered otherwise), the first id-like name won: 'Phone Number' before
    'Record ID' (a contact detail as every lead's id), 'Lead Number' before 'Prospect ID'."""
    for export, expected in [
        (hubspot_contacts_export(60), "Record ID"),
        (x_education_fixture(60), "Prospect ID"),
    ]:
        for order in (export.columns, export.columns[::-1]):
            export[order].to_csv(tmp_path / "export.csv", index=False)
            draft = run_spec_draft(tmp_path / "export.csv", tmp_path / "spec.yaml", overwrite=True)
            assert draft.draft.spec["id_column"] == expected


def test_industry_codes_in_a_float_column_read_as_in_a_csv_in_batch_and_online(tmp_path, small_history):
    """Industry codes (an INTEGER column with NULLs, hence floats) from Parquet read "1001.0", from CSV "1001":
    an industry the model never saw, scores 0.2 apart with exit 0 and a warning to check the spelling."""
    codes = pd.array([1001, 1002, None, 1001], dtype="Int64")
    accounts = small_history.tables()["accounts"].head(4).assign(industry=codes)
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    accounts.astype({"industry": "float64"}).to_parquet(tmp_path / "accounts.parquet")
    for name in ("accounts.csv", "accounts.parquet"):
        valid = validate_table("accounts", read_frame(tmp_path / name, "accounts")).valid["accounts"]
        assert valid["industry"].tolist()[:2] == ["1001", "1002"], name
    online = check_lead_rows([{"lead_id": "L1", "email": "ana@acme.com", "industry": 1001.0}])
    assert online["industry"].tolist() == ["1001"]
