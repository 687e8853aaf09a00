"""Hostile sweep 8c: real-world CRM and marketing exports through spec draft, evaluate, train and score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.spec_draft import draft_spec
from pipelines.spec import load_draft_rules


def opportunities(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A Salesforce-like opportunity report: a Stage with won, lost and open stages, and Is Won beside it."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(["Closed Won", "Closed Lost", "Scoping", "Pricing Sent"], n)
    return pd.DataFrame(
        {
            "Opportunity ID": [f"006{i:09d}" for i in range(n)],
            "Is Won": np.where(stage == "Closed Won", "TRUE", "FALSE"),
            "Stage": stage,
            "Industry": rng.choice(["Tech", "Retail", "Finance"], n),
            "Employees": rng.integers(5, 900, n),
        }
    )


def test_a_won_flag_beside_the_stage_it_comes_from_is_not_drafted_as_the_label():
    """Salesforce's Is Won (TRUE/FALSE) beside Stage: the draft took Is Won, whose FALSE holds the open deals,
    so every open deal was trained on as lost (exit 0). The stage, which tells them apart, is the label; the
    stages it cannot sort are left as questions, never read as lost."""
    export = opportunities()
    draft = draft_spec(export, load_draft_rules(), "opportunities")
    assert draft.spec["label_column"] == "Stage"
    assert draft.spec["negative_labels"] == ["Closed Lost"]
    assert any("'Scoping'" in q for q in draft.questions)
    assert "Is Won" in draft.spec["leaky_columns"]
    # The CRMs' own open stages are known open stages.
    export["Stage"] = export["Stage"].replace(
        {"Scoping": "Negotiation/Review", "Pricing Sent": "qualifiedtobuy"}
    )
    draft = draft_spec(export, load_draft_rules(), "opportunities")
    assert draft.spec["label_column"] == "Stage"
    assert set(draft.spec["open_labels"]) == {"Negotiation/Review", "qualifiedtobuy"}
    assert not draft.questions
