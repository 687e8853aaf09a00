"""spec draft: a number the CRM computed on the export day from the creation date ("Days Since Created",
"Lead Age") names when the lead came in; it is dropped with that reason, not asked to be exported as dates."""

import numpy as np
import pandas as pd
import yaml

from features.spec_draft import draft_spec, render_spec
from tests.features.test_spec_draft import RULES


def _export(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 365, rows)), unit="D")
    age = (pd.Timestamp("2025-01-15") - created).days
    return pd.DataFrame(
        {
            "Lead ID": [f"L{i:05d}" for i in range(rows)],
            "Create Date": created.strftime("%Y-%m-%d"),
            "Industry": rng.choice(["Software", "Retail", "Education"], rows),
            "Age": rng.integers(20, 70, rows),
            "Days Since Created": age,
            "Lead Age (days)": age,
            "DaysSinceFirstContact": age - 1,
            "Days Since Previous Campaign": rng.integers(0, 400, rows),
            "Lead Status": rng.choice(["Won", "Lost"], rows, p=[0.2, 0.8]),
        }
    )


def test_export_day_ages_are_dropped_naming_why_and_a_persons_age_is_kept():
    draft = draft_spec(_export(), RULES, "drafted")
    spec = yaml.safe_load(render_spec(draft))
    drops = spec["drop_columns"]
    for column in ["Days Since Created", "Lead Age (days)", "DaysSinceFirstContact"]:
        assert drops[column].startswith("Measured on the export day"), column
    assert "days since created" in drops["Days Since Created"] and "lead age" in drops["Lead Age (days)"]
    assert "days since first contact" in drops["DaysSinceFirstContact"]
    assert spec["timestamp_column"] == "Create Date"
    assert spec["fit_columns"]["Age"] == "numeric"  # a person's age, known when the lead arrives
    assert spec["fit_columns"]["Days Since Previous Campaign"] == "numeric"  # counts from another event
    assert not any("export it as dates" in question for question in draft.questions)


def _lifetime_export(rows: int = 3000) -> pd.DataFrame:
    """Two years of leads exported on one day: `Total Page Views` counts visits before the outcome and a
    customer's visits since (a slow trickle), `Demo Requests` is a real signal as strong in every period."""
    rng = np.random.default_rng(1)
    days = np.sort(rng.uniform(0, 730, rows))
    interest = rng.normal(0, 1, rows)
    won = rng.random(rows) < 1 / (1 + np.exp(-(-2.2 + 1.2 * interest)))
    age = 750 - days
    return pd.DataFrame(
        {
            "Lead ID": [f"L{i:05d}" for i in range(rows)],
            "Create Date": (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "Industry": rng.choice(["Software", "Retail", "Education"], rows),
            "Demo Requests": rng.poisson(np.exp(0.3 + 0.8 * interest)),
            "Total Page Views": rng.poisson(3.0, rows) + np.where(won, rng.poisson(0.01 * age), 0),
            "Lead Status": np.where(won, "Won", "Lost"),
        }
    )


def test_a_count_still_growing_after_the_outcome_is_leaky_and_a_steady_signal_is_not():
    frame = _lifetime_export()
    spec = yaml.safe_load(render_spec(draft_spec(frame, RULES, "drafted")))
    reason = spec["leaky_columns"]["Total Page Views"]
    assert "among the oldest third of the leads" in reason and "after the outcome" in reason
    assert "Demo Requests" in spec["intent_columns"] or "Demo Requests" in spec["fit_columns"]
    # undated, the same columns cannot be read by age: the count is left to the ordinary audit
    undated = yaml.safe_load(render_spec(draft_spec(frame.drop(columns=["Create Date"]), RULES, "drafted")))
    assert "Total Page Views" not in undated["leaky_columns"]
