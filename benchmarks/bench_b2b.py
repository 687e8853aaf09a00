"""B2B lead exports in shapes no other benchmark covers, out of time and rolling, the way a user runs them:
`leadscore spec draft` on the export, then `leadscore evaluate --out-of-time` and `--rolling 3` with the
drafted spec (through `pipelines.evaluate.run_evaluate`, the function the command calls).

Run: .venv/bin/python -m benchmarks.bench_b2b [--shapes rare,rare_null,export_time,lifetime,turnover] [--seeds 0,1,2]
     [--rows N] [--rolling N] [--set KEY=VALUE]

Every export is one row per lead of a B2B funnel over two years: an id, the creation date, industry,
employees, country, lead source, the contact's seniority, website visits and email opens before the outcome,
and the outcome `Lead Status` (Won or Lost). The oracle is the generator's true probability. Shapes:
- `rare`: a 2 % win rate and a small history (4,000 leads by default: about 65 wins to learn from out of
  time). `rare_null`: the same export with the outcome drawn independently of every column (the no-signal
  check must refuse it: exit 4, "no learnable signal").
- `export_time`: the `rare` columns at a 10 % win rate (6,000 leads), plus columns a CRM computes on the
  day of the export: `Days Since Created` and `Lead Age (days)` (the export date minus the creation date:
  they name the creation date exactly), `Days Since Last Activity` (a customer keeps being active after
  the win, a lost lead went quiet when it was lost) and `Total Page Views` (lifetime, still counting after
  the outcome: customers keep visiting). The two last carry the outcome; at scoring time an open lead has
  none of it. The win rate rises from about 8 % to 12 % over the two years (nothing but time shows it).
  `lifetime`: the same with a slow lifetime count (a customer's page view every 100 days after the win: its
  AUC alone about 0.73, under the audit's 0.9) and no days since the last activity.
- `turnover`: the `rare` columns at a 10 % win rate (8,000 leads), plus `Sales Rep` (reps of different
  skill join and leave: about a third of the test window's leads belong to reps hired after the training
  window) and `Campaign`, named by quarter and kind ("2024-Q3 Webinar"): each quarter runs new campaigns of
  a few kinds whose effect is the kind's, so every campaign of the test window is a name training never saw.

The table gives, per shape and seed, each contender's AUC and ECE out of time (and rolling, the mean of its
windows), the drafted roles of the shape's own columns, what leadscore's drift check did with them in the
out-of-time fold, and every refusal ("no learnable signal", too few deals).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import models.backtest as backtest_module
from benchmarks.bench_bank import drafted_spec
from models.minimum_data import InsufficientDataError
from pipelines.evaluate import FoldPlan, backtest_data, run_evaluate
from pipelines.settings import PipelineConfig, load_config, load_source_spec
from pipelines.sources import training_source

START, EXPORTED = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-01-15")
DAYS = 730
RARE_RATE = 0.025
INDUSTRIES = {  # industry: (share, effect on the log-odds)
    "Software": (0.25, 0.5), "Financial Services": (0.15, 0.3), "Manufacturing": (0.15, -0.1),
    "Healthcare": (0.1, 0.2), "Retail": (0.1, -0.4), "Education": (0.08, -0.6),
    "Government": (0.05, -0.3), "Other": (0.12, -0.2),
}  # fmt: skip
COUNTRIES = {"United States": 0.45, "United Kingdom": 0.15, "Germany": 0.12, "France": 0.08, "India": 0.1,
             "Brazil": 0.1}  # fmt: skip
SOURCES = {"Website": (0.35, 0.0), "Referral": (0.1, 0.9), "Event": (0.12, 0.4), "Paid Search": (0.2, -0.2),
           "Outbound": (0.15, -0.5), "Partner": (0.08, 0.6)}  # fmt: skip
SENIORITY = {"C-Level": (0.08, 0.7), "VP": (0.12, 0.5), "Director": (0.2, 0.3), "Manager": (0.3, 0.0),
             "Individual Contributor": (0.3, -0.4)}  # fmt: skip
CAMPAIGN_KINDS = {"Webinar": 0.6, "Trade Show": 0.3, "Ebook": -0.5, "Paid Social": -0.6, "Newsletter": -0.2}


def _pick(rng: np.random.Generator, table: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Levels drawn by share and each row's effect (a table of share or (share, effect))."""
    names = list(table)
    shares = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], dtype=float)
    effects = np.array([v[1] if isinstance(v, tuple) else 0.0 for v in table.values()], dtype=float)
    index = rng.choice(len(names), n, p=shares / shares.sum())
    return np.array(names)[index], effects[index]


def base_export(rng: np.random.Generator, rows: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The columns every shape has (no outcome yet), each row's log-odds without an intercept, and its day."""
    days = np.sort(rng.uniform(0, DAYS, rows) ** 0.9 * DAYS**0.1)  # a little growth: more leads lately
    industry, industry_effect = _pick(rng, INDUSTRIES, rows)
    source, source_effect = _pick(rng, SOURCES, rows)
    seniority, seniority_effect = _pick(rng, SENIORITY, rows)
    country, _ = _pick(rng, COUNTRIES, rows)
    employees = np.round(np.exp(rng.normal(5.0, 1.6, rows))).astype(int) + 1
    interest = rng.normal(0, 1, rows)  # unseen: drives visits, opens and the outcome
    visits = rng.poisson(np.exp(0.8 + 0.5 * interest))
    opens = rng.poisson(np.exp(0.5 + 0.3 * interest))
    logit = (
        industry_effect
        + source_effect
        + seniority_effect
        + 0.25 * np.clip(np.log(employees) - 5.0, -3, 3)
        + 0.6 * interest
    )
    frame = pd.DataFrame(
        {
            "Lead ID": [f"00Q{value:012X}" for value in rng.integers(0, 2**46, rows)],
            "Create Date": (START + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
            "Industry": industry,
            "Number of Employees": employees,
            "Country": country,
            "Lead Source": source,
            "Seniority": seniority,
            "Website Visits": visits,
            "Email Opens": opens,
        }
    )
    return frame, logit, days


def _with_outcome(
    rng: np.random.Generator, frame: pd.DataFrame, logit: np.ndarray, rate: float
) -> tuple[pd.DataFrame, np.ndarray]:
    """The outcome `Lead Status` at about `rate` won (the intercept found by bisection), and the truth."""
    low, high = -15.0, 5.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if (1 / (1 + np.exp(-(middle + logit)))).mean() < rate else (low, middle)
    p = 1 / (1 + np.exp(-(low + logit)))
    won = rng.random(len(p)) < p
    return frame.assign(**{"Lead Status": np.where(won, "Won", "Lost")}), p


def rare_export(seed: int, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame, logit, _ = base_export(rng, rows)
    return _with_outcome(rng, frame, logit, RARE_RATE)


def rare_null_export(seed: int, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame, logit, _ = base_export(rng, rows)
    return _with_outcome(rng, frame, np.zeros_like(logit), RARE_RATE)


def export_time_export(
    seed: int, rows: int, views_after_win: float = 0.15
) -> tuple[pd.DataFrame, np.ndarray]:
    """`views_after_win`: a customer's page views a day after the win."""
    rng = np.random.default_rng(seed)
    frame, logit, days = base_export(rng, rows)
    frame, p = _with_outcome(rng, frame, logit + 0.45 * (days / DAYS - 0.5), 0.10)
    won = frame["Lead Status"].eq("Won").to_numpy()
    age = (EXPORTED - (START + pd.to_timedelta(np.floor(days), unit="D"))).days.to_numpy()
    decided = np.minimum(rng.gamma(2.0, 20.0, rows), age)  # days from creation to the outcome
    # After the outcome: a customer keeps being active and visiting; a lost lead went quiet when it was lost.
    quiet = np.where(won, rng.exponential(12.0, rows), age - decided + rng.exponential(5.0, rows))
    after = np.where(won, rng.poisson(np.maximum(age - decided, 0) * views_after_win), 0)
    return (
        frame.assign(
            **{
                "Days Since Created": age,
                "Lead Age (days)": age,
                "Days Since Last Activity": np.round(np.clip(quiet, 0, age)).astype(int),
                "Total Page Views": frame["Website Visits"].to_numpy() * 3 + after,
            }
        ),
        p,
    )


def lifetime_export(seed: int, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """`export_time` with a slow lifetime count (a customer's page view every 100 days after the win), which the
    whole-column leak audit does not flag, and without the days since the last activity."""
    frame, p = export_time_export(seed, rows, views_after_win=0.01)
    return frame.drop(columns=["Days Since Last Activity"]), p


def _reps(rng: np.random.Generator, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's rep among those employed on its day (reps stay 6 to 18 months; about 8 at a time), and
    the rep's effect on the log-odds."""
    starts = np.concatenate([rng.uniform(-400, 0, 8), rng.uniform(0, DAYS, 14)])
    ends = starts + rng.uniform(180, 540, len(starts))
    ends[:8] = np.maximum(ends[:8], rng.uniform(60, 400, 8))
    skill = rng.normal(0, 0.5, len(starts))
    names = np.array([f"Rep {chr(65 + i % 26)}{i // 26 or ''} {name}" for i, name in enumerate(
        rng.choice(["Smith", "Garcia", "Chen", "Patel", "Muller", "Rossi", "Kim", "Silva"], len(starts))
    )])  # fmt: skip
    index = np.empty(len(days), dtype=int)
    for i, day in enumerate(days):
        active = np.flatnonzero((starts <= day) & (ends > day))
        if not len(active):
            active = np.array([int(np.argmin(np.abs(starts - day)))])
        index[i] = rng.choice(active)
    return names[index], skill[index]


def _campaigns(rng: np.random.Generator, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's campaign (half of them come through one): named by its quarter and kind."""
    created = START + pd.to_timedelta(days, unit="D")
    quarter = np.array([f"{d.year}-Q{d.quarter}" for d in created])
    kind, effect = _pick(rng, {name: (1.0, value) for name, value in CAMPAIGN_KINDS.items()}, len(days))
    through = rng.random(len(days)) < 0.5
    names = np.char.add(np.char.add(quarter.astype(str), " "), kind.astype(str))
    return np.where(through, names, ""), np.where(through, effect, 0.0)


def turnover_export(seed: int, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame, logit, days = base_export(rng, rows)
    rep, skill = _reps(rng, days)
    campaign, campaign_effect = _campaigns(rng, days)
    frame = frame.assign(**{"Sales Rep": rep, "Campaign": campaign})
    return _with_outcome(rng, frame, logit + skill + campaign_effect, 0.10)


Export = Callable[[int, int], tuple[pd.DataFrame, np.ndarray]]
# generator, default rows, rolling windows (a 2 % win rate leaves too few wins for 3), the shape's own columns
SHAPES: dict[str, tuple[Export, int, int, list[str]]] = {
    "rare": (rare_export, 5000, 2, []),
    "rare_null": (rare_null_export, 5000, 2, []),
    "export_time": (
        export_time_export,
        6000,
        3,
        ["Days Since Created", "Lead Age (days)", "Days Since Last Activity", "Total Page Views"],
    ),
    "lifetime": (lifetime_export, 6000, 3, ["Lead Age (days)", "Total Page Views"]),
    "turnover": (turnover_export, 8000, 3, ["Sales Rep", "Campaign"]),
}
CONTENDERS = ["leadscore", "logistic_regression", "hist_gradient_boosting", "lightgbm_default"]


class PredictionRecorder:
    """Wraps the backtest's contender predictions, keeping each one's mean predicted probability per fold."""

    def __init__(self) -> None:
        self.means: dict[str, list[tuple[float, float]]] = {}
        self.original = backtest_module.predict_contender

    def __call__(self, name: str, data: Any, fold: Any, *args: Any, **kwargs: Any) -> Any:
        prediction = self.original(name, data, fold, *args, **kwargs)
        rate = float(np.mean(data.y[fold.test]))
        self.means.setdefault(name, []).append((float(np.mean(prediction.p)), rate))
        return prediction

    def level(self, name: str) -> str:
        """Mean prediction against the test win rate, averaged over the folds."""
        pairs = self.means.get(name)
        if not pairs:
            return "-"
        return f"{np.mean([p for p, _ in pairs]):.3f} / {np.mean([r for _, r in pairs]):.3f}"


class TrainingRecorder:
    """Wraps the training function the backtest calls, keeping each leadscore model's selection record."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.original = backtest_module.train_conversion_model

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        model = self.original(*args, **kwargs)
        self.records.append(model.selection | {"best_iteration": model.best_iteration})
        return model


def drafted_roles(spec_path: Path, columns: list[str]) -> str:
    """How `spec draft` read the shape's own columns: fit, intent, leaky or dropped (and why)."""
    spec = yaml.safe_load(spec_path.read_text())
    roles = []
    for column in columns:
        if column in (spec.get("leaky_columns") or {}):
            roles.append(f"{column}: leaky")
        elif column in (spec.get("drop_columns") or {}):
            roles.append(f"{column}: dropped")
        elif column in (spec.get("intent_columns") or []):
            roles.append(f"{column}: intent")
        elif column in (spec.get("fit_columns") or {}):
            roles.append(f"{column}: fit")
        else:
            roles.append(f"{column}: unused")
    return "; ".join(roles) or "-"


def _feature_of(spec_path: Path, column: str) -> str:
    renames = yaml.safe_load(spec_path.read_text()).get("renames") or {}
    return str(renames.get(column, column))


def drift_summary(record: dict[str, Any]) -> str:
    drift = record.get("drift") or {}
    if not drift.get("checked"):
        return "-"
    parts = [f"{name} linear" for name in drift.get("linear_only", [])]
    parts += [f"{name} dropped" for name in drift.get("dropped", [])]
    parts += [
        f"{name} kept ({share:.0%} of recent rows' levels carry on)"
        for name, share in drift.get("recurring", {}).items()
    ]
    return ", ".join(parts) or "none"


def run_plan(
    data: Any, cfg: PipelineConfig, plan: FoldPlan, contenders: list[str]
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """The contenders' mean metrics and every refusal or skipped window, as sentences."""
    evaluate = cfg.evaluate.model_copy(update={"contenders": contenders})
    try:
        report = run_evaluate(data, plan, cfg.model_copy(update={"evaluate": evaluate}))
    except InsufficientDataError as error:
        return {}, [f"{type(error).__name__}: {str(error)[:160]}"]
    notes = [f"{r.fold.name} {name}: {why[:140]}" for r in report.results for name, why in r.refused.items()]
    notes += [f"{r.fold.name} skipped" for r in report.results if r.skipped]
    return report.mean, notes


def _cell(mean: dict[str, dict[str, float]], name: str, metric: str) -> str:
    value = mean.get(name, {}).get(metric, math.nan)
    if math.isnan(value):
        return "-"
    return f"{value:.4f}" if metric == "roc_auc" else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", type=int, default=0, help="leads per export (0: each shape's default)")
    parser.add_argument(
        "--rolling", type=int, default=-1, help="rolling windows (0: none; default: the shape's)"
    )
    parser.add_argument("--set", action="append", default=[], help="a config override, e.g. model.seed=3")
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help="a subset, e.g. leadscore")
    args = parser.parse_args()
    contenders = args.contenders.split(",")
    cfg = load_config(overrides=["model.lightgbm.num_threads=1", *args.set])
    recorder = TrainingRecorder()
    backtest_module.train_conversion_model = recorder
    predictions = PredictionRecorder()
    backtest_module.predict_contender = predictions
    names = ["leadscore", "logistic reg.", "HistGB", "LightGBM default", "oracle"]
    print(
        "| shape | seed | rows | train / test win rate | backtest | "
        + " | ".join(f"{n} AUC" for n in names)
        + " | leadscore ECE | logistic reg. ECE | LightGBM default ECE | leadscore mean p / win rate |"
    )
    print("| --- | ---: | ---: | --- | --- |" + " ---: |" * (len(names) + 4))
    findings: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shapes.split(","):
            export, default_rows, windows, own = SHAPES[shape]
            windows = windows if args.rolling < 0 else args.rolling
            plans = [("out of time", FoldPlan(windows=1, test_fraction=0.2))]
            if windows:
                plans.append((f"rolling {windows}", FoldPlan(windows=windows, test_fraction=0.3)))
            for seed in (int(s) for s in args.seeds.split(",")):
                print(f"bench_b2b: {shape} seed {seed}", file=sys.stderr, flush=True)
                frame, truth = export(seed, args.rows or default_rows)
                csv = Path(folder) / f"{shape}_{seed}.csv"
                frame.to_csv(csv, index=False)
                spec_path = drafted_spec(csv)
                source, _ = training_source(str(csv), load_source_spec(str(spec_path)))
                data = backtest_data(source, cfg)
                data.true_probability = truth[data.frame.index.to_numpy()]
                won = frame["Lead Status"].eq("Won").to_numpy()
                cut = int(0.8 * len(frame))
                rates = f"{won[:cut].mean():.3f} / {won[cut:].mean():.3f}"
                for label, plan in plans:
                    recorder.records.clear()
                    predictions.means.clear()
                    mean, notes = run_plan(data, cfg, plan, contenders)
                    aucs = " | ".join(_cell(mean, n, "roc_auc") for n in [*CONTENDERS, "oracle"])
                    eces = " | ".join(
                        _cell(mean, n, "ece")
                        for n in ["leadscore", "logistic_regression", "lightgbm_default"]
                    )
                    level = predictions.level("leadscore")
                    print(
                        f"| {shape} | {seed} | {len(frame):,} | {rates} | {label} | {aucs} | {eces} | {level} |"
                    )
                    if recorder.records and label == "out of time":
                        record = recorder.records[0]
                        findings.append(
                            f"{shape} seed {seed}: drafted {drafted_roles(spec_path, own)}; drift check: "
                            f"{drift_summary(record)}; chosen {record.get('chosen')} "
                            f"({record.get('best_iteration')} trees), cross-fitted AUC "
                            f"{record.get('oof_auc', math.nan):.3f} "
                            f"[{record.get('oof_auc_low', math.nan):.3f}, {record.get('oof_auc_high', math.nan):.3f}]"
                        )
                    findings += [f"{shape} seed {seed} {label}: {note}" for note in notes]
                    sys.stdout.flush()
    print()
    for line in findings:
        print(f"- {line}")


if __name__ == "__main__":
    main()
