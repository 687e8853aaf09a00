"""Does the month-of-year feature generalise? Test-window metrics of `leadscore train` with and without it.

Run: .venv/bin/python -m benchmarks.bench_season [--runs seasonality:7,base_rate_shift:7,demo:7] [--accounts 1500]

Each run generates a history (a drift scenario of features.synthetic.SCENARIOS, "stable" for the default
mechanism, "demo" for `leadscore demo`'s 8,000 accounts with planted defects) and trains twice on it with
the shipped configuration, without MLflow: once as shipped, once with `features.exclude_features:
[month_of_year]`. The split is training's own (out of time: the latest 20 % of deals tested), the same rows
`leadscore evaluate --out-of-time` tests, so leadscore's numbers match that command's. Prints ROC AUC, log
loss and ECE of leadscore (and logistic regression, the oracle) per run and variant, and the differences.
"""

from __future__ import annotations

import argparse
import sys

from features.synthetic import GeneratorConfig, generate_history, scenario_config
from pipelines.settings import PipelineConfig, load_config
from pipelines.train import run_train

METRICS = ("roc_auc", "log_loss", "ece")


def without_month(cfg: PipelineConfig) -> PipelineConfig:
    excluded = (*cfg.features.exclude_features, "month_of_year")
    return cfg.model_copy(update={"features": cfg.features.model_copy(update={"exclude_features": excluded})})


def test_window(name: str, seed: int, accounts: int, cfg: PipelineConfig) -> dict[str, dict[str, float]]:
    """Test-window metrics of leadscore, logistic regression and the oracle on one generated history."""
    if name == "demo":
        history = generate_history(GeneratorConfig(seed=seed, dirty_rows=5))
    else:
        base = GeneratorConfig(accounts=accounts, months=24, seed=seed)
        history = generate_history(base if name == "stable" else scenario_config(name, base))
    result = run_train(history.tables(), cfg, truth=history.truth, register=False)
    table = result.evaluation.comparison.set_index("model")
    return {
        m: {k: float(table.loc[m, k]) for k in METRICS} for m in ("model", "logistic_regression", "oracle")
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", default="seasonality:7,base_rate_shift:7,concept_shift:7,demo:7")
    parser.add_argument("--accounts", type=int, default=1500, help="accounts per scenario history")
    args = parser.parse_args()
    cfg = load_config()
    print("| data | seed | variant | AUC | log loss | ECE | logistic reg. AUC | oracle AUC |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for run in args.runs.split(","):
        name, seed = run.split(":")
        rows = {}
        for variant, config in (("without month", without_month(cfg)), ("with month", cfg)):
            print(f"bench_season: {name} seed {seed}, {variant}", file=sys.stderr, flush=True)
            rows[variant] = got = test_window(name, int(seed), args.accounts, config)
            m = got["model"]
            print(
                f"| {name} | {seed} | {variant} | {m['roc_auc']:.4f} | {m['log_loss']:.4f} | {m['ece']:.4f} | "
                f"{got['logistic_regression']['roc_auc']:.4f} | {got['oracle']['roc_auc']:.4f} |",
                flush=True,
            )
        d = {k: rows["with month"]["model"][k] - rows["without month"]["model"][k] for k in METRICS}
        print(
            f"| {name} | {seed} | difference | {d['roc_auc']:+.4f} | {d['log_loss']:+.4f} | {d['ece']:+.4f} | | |"
        )


if __name__ == "__main__":
    main()
