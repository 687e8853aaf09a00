"""What `leadscore train`'s test window reads with and without model.split.known_at_test_start.

Run: .venv/bin/python -m benchmarks.bench_known_at_test_start [--seeds 7,8] [--accounts 1500]
     [--scenarios stable,base_rate_shift,...] [--set KEY=VALUE]

For each drift scenario of `leadscore generate --scenario` and generator seed, a 24-month history is trained
on twice as `leadscore train --truth` trains it (pipelines.train.run_train, not registered): with the rule off
(the default: the tested model learns every deal created before its test window, outcomes that came later
included) and on (only the deals closed before the test window and created model.maturity_days before it, as
`leadscore evaluate --out-of-time` trains). Prints Markdown: the test window's ROC AUC and ECE of the model
and of logistic regression each way, and the oracle's (the generator's true probabilities).
"""

from __future__ import annotations

import argparse

from features.synthetic import GeneratorConfig, SyntheticHistory, generate_history, scenario_config
from pipelines.settings import load_config
from pipelines.train import run_train

SCENARIOS = ("stable", "base_rate_shift", "concept_shift", "numeric_trend", "new_levels", "seasonality")


def drift_history(name: str, seed: int, accounts: int) -> SyntheticHistory:
    """The 24-month history of scenario `name` ("stable": the default mechanism) at generator seed `seed`."""
    base = GeneratorConfig(accounts=accounts, seed=seed)
    return generate_history(base if name == "stable" else scenario_config(name, base))


def histories_args(
    doc: str | None, seeds: str, accounts: int
) -> tuple[argparse.Namespace, list[str], list[int]]:
    """The command line of a benchmark over drift histories: --seeds, --accounts, --scenarios (checked), --set."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default=seeds, help="generator seeds, comma-separated")
    parser.add_argument("--accounts", type=int, default=accounts)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--set", action="append", default=[], help="a config override, e.g. model.seed=3")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {', '.join(SCENARIOS)}")
    return args, scenarios, [int(s) for s in args.seeds.split(",")]


def test_window(name: str, seed: int, accounts: int, rule: bool, overrides: list[str]) -> dict[str, float]:
    """The test window's numbers of one training of the history with the rule `rule`."""
    history = drift_history(name, seed, accounts)
    cfg = load_config(overrides=[*overrides, f"model.split.known_at_test_start={str(rule).lower()}"])
    result = run_train(history.tables(), cfg, truth=history.truth, register=False)
    table = result.evaluation.comparison.set_index("model")
    return {
        "auc": float(table.loc["model", "roc_auc"]),
        "ece": float(table.loc["model", "ece"]),
        "lr_auc": float(table.loc["logistic_regression", "roc_auc"]),
        "oracle_auc": float(table.loc["oracle", "roc_auc"]),
        "oracle_ece": float(table.loc["oracle", "ece"]),
    }


def main() -> None:
    args, scenarios, seeds = histories_args(__doc__, "7,8", 1500)
    print(
        f"| history ({args.accounts:,} accounts) | seed | leadscore AUC, off / on | ECE, off / on | "
        "logistic reg. AUC, off / on | oracle AUC / ECE |"
    )
    print("| --- | ---: | --- | --- | --- | --- |")
    for name in scenarios:
        for seed in seeds:
            off, on = (test_window(name, seed, args.accounts, rule, args.set) for rule in (False, True))
            print(
                f"| {name} | {seed} | {off['auc']:.3f} / {on['auc']:.3f} | {off['ece']:.3f} / {on['ece']:.3f} | "
                f"{off['lr_auc']:.3f} / {on['lr_auc']:.3f} | {on['oracle_auc']:.3f} / {on['oracle_ece']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
