"""A leads report's codes written as whole numbers (zip codes, account numbers) are drafted as categories."""

import numpy as np
import pandas as pd
import yaml

from pipelines.spec import run_spec_draft


def report_with_codes(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "Lead ID": [f"00Q{i:015d}" for i in range(rows)],
            "Lead Status": rng.choice(
                ["Closed - Converted", "Closed - Not Converted", "Working - Contacted"], rows
            ),
            "Cost Center": rng.choice(["0417", "0981", "1204"], rows),
            "Billing Zip": rng.choice(["94105", "60601", "73301"], rows),
            "Account Number": rng.choice(["5001", "5002", "5003", "5004"], rows),
            "No. of Employees": rng.integers(1, 5000, rows),
        }
    )


def test_whole_number_codes_are_categories_not_quantities(tmp_path):
    report_with_codes().to_csv(tmp_path / "report.csv", index=False)
    run_spec_draft(tmp_path / "report.csv", tmp_path / "spec.yaml")
    fit = yaml.safe_load((tmp_path / "spec.yaml").read_text())["fit_columns"]
    assert fit["Cost Center"] == "categorical"  # written with leading zeros: "0417"
    assert fit["Billing Zip"] == "categorical"  # a zip, by its name
    assert fit["Account Number"] == "categorical"  # an id-like name
    assert fit["No. of Employees"] == "numeric"
