"""How often the promotion gate promotes what it should and refuses what it should, over many seeds.

Run: .venv/bin/python -m benchmarks.bench_gate [--seeds 20] [--accounts 2500] [--months 18] [--gate-only]

For each seed a synthetic CRM history is generated and four decisions are taken with the same code the
registry runs (pipelines.train for training and evaluation, models.promotion.decide_on_test_scores for the
verdict), without an MLflow store:

- shuffled challenger: a champion trained on the real outcomes, then a challenger trained on the same history
  with the closed deals' outcomes shuffled (the champion is re-scored on the shuffled test window);
- no-signal first model: a first model trained on shuffled outcomes (no champion);
- same-quality challenger: a champion, then a challenger trained on the same history with another model seed;
- better challenger: a champion trained without the intent features, then a challenger with every feature.

A training run refused for lack of signal (NoSignalError, exit 4) counts as not promoted. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from features.build import feature_groups
from features.synthetic import GeneratorConfig, generate_history, with_shuffled_outcomes
from models.minimum_data import InsufficientDataError
from models.promotion import ChampionRecord, decide_on_test_scores, learned_window
from pipelines.registry import gate_rules
from pipelines.settings import PipelineConfig, load_config
from pipelines.train import evaluate_scorer, train_scorer, training_data

SCENARIOS = {
    "shuffled challenger": "promoted 0 times",
    "no-signal first model": "promoted 0 times",
    "same-quality challenger": "promoted at least 18 of 20",
    "better challenger": "promoted 20 of 20",
}


def _train(data, tables: dict, cfg: PipelineConfig, champion=None):
    """(scorer, evaluation) of a model on training `data` built from `tables`, the champion scored on the same
    test rows; None when training refuses (no signal or too little data)."""
    try:
        scorer, split = train_scorer(data, cfg, cfg.registry.model_name)
    except InsufficientDataError:
        return None
    return scorer, evaluate_scorer(data, scorer, split, cfg, champion)


def _record(evaluation, split_summary: dict, version: str = "1") -> ChampionRecord:
    m = evaluation.metrics("model")
    start, end = learned_window(split_summary)
    return ChampionRecord(version, m["roc_auc"], m["roc_auc_low"], m["roc_auc_high"], start, end)


def _verdict(cfg: PipelineConfig, evaluation, champion=None) -> str:
    """The gate's status for `evaluation` against `champion` (its scorer and evaluation), or as a first model."""
    if evaluation is None:
        return "refused at training"
    record = None if champion is None else _record(champion[1], champion[0].model.split_summary)
    decision = decide_on_test_scores(
        evaluation.test_scores,
        gate_rules(cfg),
        champion_version=None if champion is None else "1",
        champion=record,
    )
    return decision.status


def run_seed(seed: int, accounts: int, months: int, cfg: PipelineConfig) -> dict[str, str]:
    tables = generate_history(GeneratorConfig(accounts=accounts, months=months, seed=seed)).tables()
    shuffled = with_shuffled_outcomes(tables, seed)
    real, noise = training_data(tables, cfg, truth=None), training_data(shuffled, cfg, truth=None)
    verdicts: dict[str, str] = {}
    trained = _train(real, tables, cfg)
    if trained is None:
        raise RuntimeError(f"seed {seed}: the champion itself could not be trained")
    champion = trained[0]
    challenger = _train(noise, shuffled, cfg, champion)
    verdicts["shuffled challenger"] = _verdict(cfg, challenger and challenger[1], trained)
    first = _train(noise, shuffled, cfg)
    verdicts["no-signal first model"] = _verdict(cfg, first and first[1])
    reseeded = cfg.model_copy(update={"model": cfg.model.model_copy(update={"seed": cfg.model.seed + 1000})})
    same = _train(real, tables, reseeded, champion)
    verdicts["same-quality challenger"] = _verdict(cfg, same and same[1], trained)
    fit_only = cfg.model_copy(
        update={
            "features": cfg.features.model_copy(
                update={"exclude_features": tuple(feature_groups(cfg.features)["intent"])}
            )
        }
    )
    weak = _train(real, tables, fit_only)
    if weak is None:
        raise RuntimeError(f"seed {seed}: the fit-only champion could not be trained")
    better = _train(real, tables, cfg, weak[0])
    verdicts["better challenger"] = _verdict(cfg, better and better[1], weak)
    return verdicts


def run(seeds: int, accounts: int, months: int, gate_only: bool = False) -> str:
    overrides = ["model.bootstrap_rounds=50", "registry.model_card=false"]
    if gate_only:  # training's own no-signal refusal off: every model reaches the gate
        overrides.append("model.selection.check_signal=false")
    cfg = load_config(overrides=overrides)
    counts: dict[str, Counter] = {name: Counter() for name in SCENARIOS}
    began = time.perf_counter()
    for seed in range(seeds):  # one synthetic history per seed
        for name, verdict in run_seed(seed, accounts, months, cfg).items():
            counts[name][verdict] += 1
        print(f"bench_gate: seed {seed + 1}/{seeds} ({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    lines = [
        f"{seeds} seeds, each a synthetic history of {accounts:,} accounts over {months} months; the gate's "
        "default settings (paired bootstrap, 95 %)"
        + (
            "; training's no-signal check switched off, so every model reaches the gate."
            if gate_only
            else "."
        ),
        "",
        "| scenario | target | promoted | refused | evidence broken | refused at training |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, target in SCENARIOS.items():
        c = counts[name]
        lines.append(
            f"| {name} | {target} | {c['promoted']} | {c['refused']} | {c['evidence_broken']} | "
            f"{c['refused at training']} |"
        )
    lines += ["", f"Run time: {time.perf_counter() - began:.0f} s."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=2500)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument(
        "--gate-only", action="store_true", help="switch training's no-signal refusal off (the gate alone)"
    )
    args = parser.parse_args()
    print(run(args.seeds, args.accounts, args.months, args.gate_only))


if __name__ == "__main__":
    main()
