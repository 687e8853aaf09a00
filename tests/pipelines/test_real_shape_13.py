"""Real shape 13: iFood marketing campaign, digital-marketing conversion, propensity to purchase and the Olist
funnel (MQLs left-joined with closed deals), through spec draft, evaluate, train, score and the card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contracts import ContractError
from features.flat import ExportSpec
from pipelines.settings import load_config
from pipelines.sources import ExportSource


def olist_joined(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """MQLs left-joined with their closed deals: every deal column is blank for the leads never won, and
    some are mostly blank for the won ones too (lead_behaviour_profile 80 %, has_company 10 %)."""
    rng = np.random.default_rng(seed)
    won = rng.random(n) < 0.25
    profile = np.where(won & (rng.random(n) < 0.8), rng.choice(["cat", "eagle", "wolf"], n), None)
    company = np.where(won & (rng.random(n) < 0.15), "True", None)
    return pd.DataFrame(
        {
            "mql_id": [f"{i:032x}" for i in range(n)],
            "origin": rng.choice(["organic_search", "paid_search", "social"], n),
            "lead_behaviour_profile": profile,
            "has_company": company,
            "won": won.astype(int),
        }
    )


def olist_spec(fit: dict[str, str]) -> ExportSpec:
    return ExportSpec(
        name="olist",
        id_column="mql_id",
        label_column="won",
        positive_labels=(1,),
        negative_labels=(0,),
        fit_columns=fit,
    )


def test_a_closed_deal_column_filled_for_won_leads_only_stops_training_naming_it():
    """Olist's closed-deal columns, joined onto the MQLs and put in fit_columns: each filled for some won
    leads and no lost one, under the AUC threshold alone (0.90, 0.57), so evaluate scored AUC 0.94 and train
    promoted with exit 0 a model that reads 'has a closed deal'."""
    frame = olist_joined()
    leaky = olist_spec(
        {"origin": "categorical", "lead_behaviour_profile": "categorical", "has_company": "categorical"}
    )
    with pytest.raises(ContractError) as error:
        ExportSource(frame, leaky).training_data(load_config(), None)
    said = str(error.value)
    assert "'lead_behaviour_profile' (filled in for" in said and "of won rows and no lost row)" in said
    assert "'has_company'" in said and "'origin'" not in said and "leaky_columns" in said
    honest = olist_spec({"origin": "categorical"})
    assert len(ExportSource(frame, honest).training_data(load_config(), None).y) == len(frame)


def test_a_rare_field_filled_on_a_few_won_rows_is_no_leak():
    """Three won rows filled and no lost one is what chance gives a rare field: training goes on."""
    frame = olist_joined().assign(has_company=None)
    frame.loc[frame.index[frame["won"] == 1][:3], "has_company"] = "True"
    spec = olist_spec({"origin": "categorical", "has_company": "categorical"})
    assert len(ExportSource(frame, spec).training_data(load_config(), None).y) == len(frame)
