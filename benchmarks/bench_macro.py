"""Macro drift out of time: a time-ordered flat export whose win rate follows macro series (an interest rate,
employment, confidence) that leave their training range in the latest window, as in a bank's marketing funnel.

Run: .venv/bin/python -m benchmarks.bench_macro [--seeds 0,1] [--rows 20000]

Each export is generated here (seeded, with the true probability of every row), read with its spec like any
export, and backtested out of time with `leadscore evaluate`'s function (pipelines.evaluate.run_evaluate):
train on the earliest 80 % by creation time, test on the latest 20 %. leadscore runs twice: with the shipped
`model.drift.numbers: linear` (a time-identifying number is read by the linear part only) and with `drop`
(left out, as before). Variants: "macro" (the win rate rises as the rate falls), "reverse" (it falls),
"null" (the series trend but do not move the win rate: what the linear part costs when they carry nothing),
"calendar" (the issue's funnel B: the series carry nothing, an absolute calendar month "2023-07" is a
category whose newest levels training never saw, and the win rate rises by 1 log-odds over the history,
unseen by any column), and "monthly" ("macro" as a bank publishes it: each series one value per calendar
month, a few dozen distinct values in all, plus a price index that is one random value per month and
carries nothing: a number that names the month without trending).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from features.flat import ExportSpec
from models.backtest import BacktestData
from pipelines.evaluate import FoldPlan, flat_data, run_evaluate
from pipelines.settings import PipelineConfig, load_config

# variant -> (the macro series' effect on the log-odds, the hidden rise of the log-odds over the history,
# whether the series are monthly values)
VARIANTS = {
    "macro": (1.0, 0.0, False),
    "reverse": (-1.0, 0.0, False),
    "null": (0.0, 0.0, False),
    "calendar": (0.0, 1.0, False),
    "monthly": (1.0, 0.0, True),
}
JOBS = ["admin", "blue-collar", "technician", "services", "management", "retired", "student", "entrepreneur"]
SPEC: dict[str, Any] = {
    "name": "macro_funnel",
    "id_column": "lead_id",
    "label_column": "y",
    "positive_labels": ["yes"],
    "negative_labels": ["no"],
    "timestamp_column": "created_at",
    "fit_columns": {
        "age": "numeric",
        "job": "categorical",
        "contact": "categorical",
        "month": "categorical",
        "campaign": "numeric",
        "previous": "numeric",
        "poutcome": "categorical",
        "euribor3m": "numeric",
        "nr_employed": "numeric",
        "cons_conf_idx": "numeric",
    },
}


def contact_logit(
    job: np.ndarray, contact: np.ndarray, campaign: np.ndarray, outcome: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """What the person and the call add to the log-odds of a term deposit (the macro part aside)."""
    return (
        0.7 * (job == "student")
        + 0.6 * (job == "retired")
        - 0.3 * (job == "blue-collar")
        + 0.6 * (contact == "cellular")
        - 0.12 * (campaign - 1)
        + 1.6 * (outcome == "success")
        + 0.02 * np.abs(age - 45) * (age > 60)
    )


def macro_export(
    seed: int, rows: int, effect: float, rise: float = 0.0, monthly: bool = False
) -> tuple[pd.DataFrame, np.ndarray]:
    """The export and each row's true win probability; `effect` scales the macro series' part of the
    log-odds (0: they trend but carry nothing); `rise` > 0 adds that much log-odds from the first to the last
    day, seen by no column, and a "period" column (the calendar month, e.g. "2023-07"); `monthly` makes each
    series one value per 30-day period and adds "cons_price_idx", one random value per period."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.uniform(0, 900, rows))
    created = pd.Timestamp("2022-05-01") + pd.to_timedelta(days, unit="D")
    period = (days // 30).astype(int)  # "monthly": 30-day periods, each with one value of every series
    t = period * 30 / 900 if monthly else days / 900

    def noise(sd: float) -> np.ndarray:
        return rng.normal(0, sd, period.max() + 1)[period] if monthly else rng.normal(0, sd, rows)

    rate = 4.9 - 4.2 * np.clip((t - 0.55) / 0.4, 0, 1) ** 1.3 + noise(0.05)
    employed = 5220 - 250 * np.clip((t - 0.5) / 0.45, 0, 1) + noise(5)
    confidence = -40 + 10 * np.sin(t * 9) + noise(1)
    job = rng.choice(JOBS, rows, p=[0.25, 0.22, 0.16, 0.1, 0.12, 0.06, 0.04, 0.05])
    contact = rng.choice(["cellular", "telephone"], rows, p=[0.65, 0.35])
    age = rng.integers(18, 90, rows)
    campaign = rng.geometric(0.4, rows)
    previous = rng.poisson(0.2, rows)
    outcome = np.where(previous > 0, rng.choice(["failure", "success"], rows, p=[0.7, 0.3]), "nonexistent")
    macro = -0.33 * (rate - 4.9) + 0.004 * (5220 - employed) + 0.03 * (confidence + 40)
    logit = -3.2 + effect * macro + contact_logit(job, contact, campaign, outcome, age) + rise * t
    p = 1 / (1 + np.exp(-logit))
    won = rng.random(rows) < p
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i:06d}" for i in range(rows)],
            "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
            "age": age,
            "job": job,
            "contact": contact,
            "month": created.strftime("%b").str.lower(),
            "campaign": campaign,
            "previous": previous,
            "poutcome": outcome,
            "euribor3m": rate.round(3),
            "nr_employed": employed.round(1),
            "cons_conf_idx": confidence.round(1),
            "y": np.where(won, "yes", "no"),
        }
    )
    if rise:
        frame.insert(frame.columns.get_loc("month") + 1, "period", created.strftime("%Y-%m"))
    if monthly:
        frame["cons_price_idx"] = np.round(93.9 + noise(0.5), 3)
    return frame, p


def spec_for(variant: str) -> ExportSpec:
    """SPEC, with the calendar month as a category for the "calendar" variant."""
    _, rise, monthly = VARIANTS[variant]
    fit = (
        dict(SPEC["fit_columns"])
        | ({"period": "categorical"} if rise else {})
        | ({"cons_price_idx": "numeric"} if monthly else {})
    )
    return ExportSpec.model_validate(SPEC | {"fit_columns": fit})


def with_drift_numbers(cfg: PipelineConfig, numbers: str) -> PipelineConfig:
    drift = cfg.model.drift.model_copy(update={"numbers": numbers})
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"drift": drift})})


def backtest(data: BacktestData, cfg: PipelineConfig, contenders: list[str]) -> dict[str, dict[str, float]]:
    evaluate = cfg.evaluate.model_copy(update={"contenders": contenders})
    report = run_evaluate(
        data, FoldPlan(windows=1, test_fraction=0.2), cfg.model_copy(update={"evaluate": evaluate})
    )
    return report.mean


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--set", action="append", default=[], help="a config override, e.g. model.seed=3")
    args = parser.parse_args()
    cfg = load_config(overrides=["model.lightgbm.num_threads=1", *args.set])
    header = (
        "| export | seed | test win rate | leadscore (linear) | leadscore (drop) | logistic reg. "
        "| LightGBM default | oracle | leadscore ECE (linear / drop) |"
    )
    print(header)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for variant in args.variants.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            print(f"bench_macro: {variant} seed {seed}", file=sys.stderr, flush=True)
            rows, truth = macro_export(seed, args.rows, *VARIANTS[variant])
            data = flat_data(rows, spec_for(variant), cfg)
            data.true_probability = truth[data.frame.index.to_numpy()]  # the frame keeps export positions
            shipped = backtest(data, cfg, ["leadscore", "logistic_regression", "lightgbm_default"])
            dropped = backtest(data, with_drift_numbers(cfg, "drop"), ["leadscore"])
            test = rows["y"].iloc[int(0.8 * len(rows)) :].eq("yes").mean()

            def auc(mean: dict, name: str) -> str:
                value = mean.get(name, {}).get("roc_auc", math.nan)
                return "-" if math.isnan(value) else f"{value:.4f}"

            ece = f"{shipped['leadscore']['ece']:.3f} / {dropped['leadscore']['ece']:.3f}"
            print(
                f"| {variant} | {seed} | {test:.3f} | {auc(shipped, 'leadscore')} | {auc(dropped, 'leadscore')} "
                f"| {auc(shipped, 'logistic_regression')} | {auc(shipped, 'lightgbm_default')} "
                f"| {auc(shipped, 'oracle')} | {ece} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
