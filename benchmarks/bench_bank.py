"""A bank's telemarketing funnel, out of time, the way a user runs it: `leadscore spec draft` on the export,
then `leadscore evaluate --out-of-time` with the drafted spec.

Run: .venv/bin/python -m benchmarks.bench_bank [--seeds 0,1,2] [--rows 20000] [--set model.KEY=VALUE]

The export is shaped like the public bank-marketing data (one row per call; the outcome a term deposit, "y"):
most calls in the first seven months, then sparse; five macro columns that a bank publishes once a month (an
interest rate, employment, an employment variation rate in half-point steps, a confidence index, and a
consumer price index that carries nothing), so each holds a few dozen distinct values and names its month;
a "pdays" column that is 999 for never contacted before. The win rate follows the interest rate,
employment and confidence, which leave their training range in the latest 20 %: it rises from about 11 % in
training to about 49 % in the test window. The oracle is the generator's true probability.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_macro import backtest, contact_logit
from pipelines.evaluate import backtest_data
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import training_source

JOBS = ["admin.", "blue-collar", "technician", "services", "management", "retired", "student", "entrepreneur"]
EDUCATION = ["university.degree", "high.school", "basic.9y", "professional.course", "basic.4y", "unknown"]


def bank_export(seed: int, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The export (as written to CSV) and each row's true win probability."""
    rng = np.random.default_rng(seed)
    early = int(rows * 0.65)
    days = np.sort(np.concatenate([rng.uniform(0, 210, early), rng.uniform(210, 900, rows - early)]))
    created = pd.Timestamp("2008-05-05") + pd.to_timedelta(days, unit="D")
    month = np.asarray((created.year - 2008) * 12 + created.month - 5)
    t = np.arange(month.max() + 1) / month.max()  # per month, 0 to 1
    rate = np.round(4.9 - 4.2 * np.clip((t - 0.25) / 0.3, 0, 1) + rng.normal(0, 0.1, len(t)), 3)[month]
    variation = (np.round(np.clip(1.4 - 4.8 * np.clip((t - 0.2) / 0.3, 0, 1), -3.4, 1.4) * 2) / 2)[month]
    employed = np.round(5228.1 - 250 * np.clip((t - 0.2) / 0.35, 0, 1), 1)[month]
    prices = np.round(93.9 + rng.normal(0, 0.5, len(t)), 3)[month]
    confidence = np.round(-40 + 8 * np.sin(t * 9) + rng.normal(0, 1, len(t)), 1)[month]
    job = rng.choice([*JOBS, "unknown"], rows, p=[0.25, 0.22, 0.16, 0.1, 0.11, 0.06, 0.04, 0.05, 0.01])
    contact = np.where(rng.random(rows) < np.where(days < 210, 0.5, 0.8), "cellular", "telephone")
    age = rng.integers(18, 90, rows)
    campaign = rng.geometric(0.4, rows)
    previous = np.where(days < 210, rng.poisson(0.05, rows), rng.poisson(0.5, rows))
    outcome = np.where(previous > 0, rng.choice(["failure", "success"], rows, p=[0.7, 0.3]), "nonexistent")
    macro = -0.33 * (rate - 4.9) + 0.004 * (5228 - employed) + 0.03 * (confidence + 40)
    logit = -3.2 + macro + contact_logit(job, contact, campaign, outcome, age)
    p = 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i:06d}" for i in range(rows)],
            "created_at": created.strftime("%Y-%m-%d"),
            "age": age,
            "job": job,
            "marital": rng.choice(
                ["married", "single", "divorced", "unknown"], rows, p=[0.6, 0.28, 0.11, 0.01]
            ),
            "education": rng.choice(EDUCATION, rows, p=[0.3, 0.23, 0.15, 0.13, 0.1, 0.09]),
            "contact": contact,
            "month": created.strftime("%b").str.lower(),
            "day_of_week": created.strftime("%a").str.lower(),
            "campaign": campaign,
            "pdays": np.where(outcome == "success", rng.integers(1, 20, rows), 999),
            "previous": previous,
            "poutcome": outcome,
            "emp.var.rate": variation,
            "cons.price.idx": prices,
            "cons.conf.idx": confidence,
            "euribor3m": rate,
            "nr.employed": employed,
            "y": np.where(rng.random(rows) < p, "yes", "no"),
        }
    )
    return frame, p


def _auc(mean: dict[str, dict[str, float]], name: str) -> str:
    value = mean.get(name, {}).get("roc_auc", math.nan)
    return "-" if math.isnan(value) else f"{value:.4f}"


def drafted_spec(csv: Path) -> Path:
    """`leadscore spec draft` on the export, as a user would run it (it finds the outcome column `y`)."""
    spec = csv.with_suffix(".yaml")
    command = [sys.executable, "-m", "pipelines.cli", "spec", "draft", "--input", str(csv)]
    subprocess.run([*command, "--out", str(spec)], check=True, capture_output=True)
    return spec


Export = Callable[[int, int], tuple[pd.DataFrame, np.ndarray]]


def drafted_backtests(
    name: str, export: Export, won: Callable[[pd.DataFrame], np.ndarray], rows: int, doc: str
):
    """The command line of a drafted-export benchmark: per seed, `export(seed, rows)` written to CSV, its
    drafted spec, the out-of-time backtest, and a table row (`won`: the export's 0/1 outcome per row)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", type=int, default=rows)
    parser.add_argument("--set", action="append", default=[], help="a config override, e.g. model.seed=3")
    args = parser.parse_args()
    cfg = load_config(overrides=["model.lightgbm.num_threads=1", *args.set])
    contenders = ["leadscore", "logistic_regression", "hist_gradient_boosting", "lightgbm_default"]
    print(
        "| seed | train / test win rate | leadscore | logistic reg. | HistGB | LightGBM default | oracle "
        "| leadscore ECE | logistic reg. ECE |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for seed in (int(s) for s in args.seeds.split(",")):
            print(f"bench_{name}: seed {seed}", file=sys.stderr, flush=True)
            frame, truth = export(seed, args.rows)
            csv = Path(folder) / f"{name}_{seed}.csv"
            frame.to_csv(csv, index=False)
            source, _ = training_source(str(csv), load_source_spec(str(drafted_spec(csv))))
            data = backtest_data(source, cfg)
            data.true_probability = truth[data.frame.index.to_numpy()]  # the frame keeps export positions
            mean = backtest(data, cfg, contenders)
            outcome, cut = won(frame), int(0.8 * len(frame))
            aucs = " | ".join(_auc(mean, contender) for contender in [*contenders, "oracle"])
            eces = " | ".join(f"{mean[contender]['ece']:.3f}" for contender in contenders[:2])
            rates = f"{outcome[:cut].mean():.3f} / {outcome[cut:].mean():.3f}"
            print(f"| {seed} | {rates} | {aucs} | {eces} |", flush=True)


def main() -> None:
    drafted_backtests(
        "bank", bank_export, lambda frame: frame["y"].eq("yes").to_numpy(), 20000, __doc__ or ""
    )


if __name__ == "__main__":
    main()
