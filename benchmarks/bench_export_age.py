"""How much an export's newest labelled rows bias the test window and the scores, and what leaving them out
(model.export_maturity_days) does.

Run: .venv/bin/python -m benchmarks.bench_export_age [--seeds 1,2,3,4,5] [--settings 0,auto,120]
     [--slow-factor 2] [--closed]

Each seed draws a flat export with a known truth: 12,000 leads created over 24 months, each converting with a
true probability from its industry, source, size and visits; a lost lead's outcome comes after Gamma(2) days of
mean 30, a won lead's after mean 60, an event lead's `--slow-factor` times later. The export is taken on the
newest lead's day: a lead whose outcome has not come yet is Open (`--closed`: every lead has its outcome, a
historical snapshot). Per setting of model.export_maturity_days, through leadscore's own path (ExportSource,
`backtest_data`, `make_folds`: `leadscore evaluate --out-of-time`, latest 20 % of labelled rows tested):

- the test window: its label rate against the truth's mean probability on the same rows; leadscore's and the
  oracle's AUC and ECE against those labels;
- the newest leads (created in the last 90 days, open or not), scored by a model trained on every usable
  labelled row as the shipped model is: their mean score against their mean true probability, ECE and AUC
  against their eventual outcomes.
Prints Markdown: means over the seeds per setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings

import numpy as np
import pandas as pd

from features.flat import ExportSpec
from models.backtest import Fold, Prediction, metrics_of, predict_contender
from models.evaluate import expected_calibration_error, roc_auc
from pipelines.evaluate import FoldPlan, backtest_data, make_folds
from pipelines.settings import PipelineConfig, load_config
from pipelines.sources import ExportSource

SPEC = ExportSpec(
    name="synthetic_age",
    id_column="Lead ID",
    label_column="Status",
    positive_labels=("Won",),
    negative_labels=("Lost",),
    open_labels=("Open",),
    timestamp_column="Create Date",
    fit_columns={"Industry": "categorical", "Lead Source": "categorical", "Employees": "numeric"},
    intent_columns=("Visits",),
)
FRESH_DAYS = 90


def synthetic_export(
    seed: int, n: int = 12000, months: int = 24, slow_factor: float = 2.0, with_open: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export as taken on its newest lead's day, and the truth (true probability, eventual outcome)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    export_day = start + pd.Timedelta(days=30.4 * months)
    created = start + pd.to_timedelta(rng.uniform(0, (export_day - start).days, n), unit="D")
    industry = rng.choice(["software", "retail", "finance", "health"], n, p=[0.3, 0.3, 0.2, 0.2])
    source = rng.choice(["web", "referral", "event"], n, p=[0.5, 0.25, 0.25])
    size = np.maximum(np.exp(rng.normal(4, 1.2, n)).round(), 1)
    visits = rng.poisson(3, n)
    logit = (
        -1.4
        + 0.5 * (industry == "software")
        - 0.4 * (industry == "retail")
        + 0.8 * (source == "referral")
        + 0.3 * (source == "event")
        + 0.25 * (np.log(size) - 4)
        + 0.18 * (visits - 3)
    )
    p = 1 / (1 + np.exp(-logit))
    won = rng.random(n) < p
    mean_days = np.where(won, 60.0, 30.0) * np.where(source == "event", slow_factor, 1.0)
    delay = rng.gamma(2.0, mean_days / 2.0)
    decided = (created + pd.to_timedelta(delay, unit="D") <= export_day) | (not with_open)
    rows = pd.DataFrame(
        {
            "Lead ID": [f"L{i:06d}" for i in range(n)],
            "Create Date": created.strftime("%Y-%m-%d %H:%M"),
            "Industry": industry,
            "Lead Source": source,
            "Employees": size.astype(int),
            "Visits": visits,
            "Status": np.where(~decided, "Open", np.where(won, "Won", "Lost")),
        }
    )
    truth = pd.DataFrame({"true_probability": p, "eventual": won.astype(int), "created": created})
    return rows, truth.set_index(rows["Lead ID"])


def with_setting(base: PipelineConfig, value: int | str) -> PipelineConfig:
    model = base.model.model_copy(update={"export_maturity_days": value})
    return base.model_copy(update={"model": model})


def measure(seed: int, setting: int | str, base: PipelineConfig, **export: object) -> dict[str, object]:
    rows, truth = synthetic_export(seed, **export)  # type: ignore[arg-type]
    cfg = with_setting(base, setting)
    data = backtest_data(ExportSource(rows, SPEC), cfg)
    (fold,) = make_folds(data, FoldPlan(windows=1, test_fraction=cfg.evaluate.test_fraction), cfg)
    predicted = predict_contender("leadscore", data, fold, cfg.model, cfg.evaluate).p
    tested = truth.loc[data.frame["lead_id"].to_numpy()[fold.test]]
    y = data.y[fold.test]
    ours, oracle = (
        metrics_of(y, Prediction(predicted), 10),
        metrics_of(y, Prediction(tested["true_probability"]), 10),
    )
    # The newest leads, scored by a model of every usable labelled row: features of every row (eventual labels).
    eventual = rows.assign(Status=np.where(truth["eventual"].to_numpy() == 1, "Won", "Lost"))
    every = backtest_data(ExportSource(eventual, SPEC), with_setting(base, 0))
    ids = every.frame["lead_id"].to_numpy()
    age = (truth["created"].max() - truth.loc[ids, "created"]).dt.days.to_numpy()
    fresh = np.flatnonzero(age < FRESH_DAYS)
    usable = np.flatnonzero(np.isin(ids, data.frame["lead_id"].to_numpy()))
    shipped = dataclasses.replace(every, maturity_days=data.maturity_days)
    scores = predict_contender("leadscore", shipped, Fold("newest", usable, fresh), cfg.model, cfg.evaluate).p
    return {
        "setting": str(setting),
        "maturity days": data.maturity_days,
        "left out": len(rows) - int(rows["Status"].eq("Open").sum()) - len(data.y),
        "test label rate": y.mean(),
        "test true p": tested["true_probability"].mean(),
        "AUC": ours["roc_auc"],
        "ECE": ours["ece"],
        "oracle AUC": oracle["roc_auc"],
        "oracle ECE": oracle["ece"],
        "newest true p": truth.loc[ids[fresh], "true_probability"].mean(),
        "newest mean score": scores.mean(),
        "newest ECE": expected_calibration_error(every.y[fresh], scores, 10),
        "newest AUC": roc_auc(every.y[fresh], scores),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--settings", default="0,auto,120")
    parser.add_argument("--slow-factor", type=float, default=2.0)
    parser.add_argument("--closed", action="store_true", help="every lead has its outcome (no open row)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    base = load_config(None)
    settings = [s if s == "auto" else int(s) for s in args.settings.split(",")]
    rows = [
        {
            "seed": seed,
            **measure(seed, setting, base, slow_factor=args.slow_factor, with_open=not args.closed),
        }
        for seed in (int(s) for s in args.seeds.split(","))
        for setting in settings
    ]
    table = pd.DataFrame(rows).drop(columns="seed").groupby("setting", sort=False).mean()
    print(markdown(table.reset_index()))


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table, numbers to 3 decimals (counts as whole numbers)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if value.is_integer() or abs(value) >= 10 else f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
