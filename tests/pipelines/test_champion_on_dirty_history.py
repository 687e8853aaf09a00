"""The champion is compared on the rows the contract kept: a dirty history never reaches its features."""

import numpy as np

from features.synthetic import GeneratorConfig, generate_history
from pipelines.sources import training_data
from pipelines.train import evaluate_scorer, make_split


def test_a_champion_is_scored_on_the_validated_tables_not_the_raw_ones(small_scorer, fast_config):
    tables = generate_history(GeneratorConfig(accounts=400, months=18, seed=8)).tables()
    leads = tables["leads"].astype({"created_at": "object"})
    leads.loc[leads.index[::9], "created_at"] = "yesterday"  # quarantined by the contract
    tables["leads"] = leads
    data = training_data(tables, fast_config, None)
    assert (data.quarantine["table"] == "leads").any()  # the rows were dirty, and left out
    split = make_split(data.frame, fast_config)
    evaluation = evaluate_scorer(data, small_scorer, split, fast_config, champion=small_scorer)
    champion = evaluation.test_scores["champion"].to_numpy(dtype=float)
    assert len(champion) == len(split.test) and np.isfinite(champion).all()
    # the champion and the new model are the same scorer here: the same features give the same probabilities
    assert np.allclose(champion, evaluation.test_scores["model"].to_numpy(dtype=float))
