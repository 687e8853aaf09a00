"""What the shipped model gains from learning its test window too (model.refit_on_test_window).

Run: .venv/bin/python -m benchmarks.bench_refit [--seeds 7,8,9] [--accounts 1500] [--scenarios stable,...]
     [--exports bank,pages --export-seeds 0,1,2]

For each drift scenario of `leadscore generate --scenario` and generator seed, a 24-month history is cut out
of time as `leadscore evaluate --out-of-time` cuts it: the latest 20 % of the closed deals are the future
leads, and `leadscore train` is run, in effect, on the day they start: on the deals closed by then and created
`model.maturity_days` before (models.backtest.known_at_cutoff). That training splits its rows as
`leadscore train` does (models.splits.split_from_config, the latest model.split.test_fraction tested) and
fits two models with the shipped configuration (models.train.train_conversion_model):

- tested: the model measured on that test window, which shipped before (refit off);
- refit: the same training on every row, the test window included (models.splits.refit_split), which ships
  now.

With --exports, the drafted exports of benchmarks.bench_bank and bench_pages are cut the same way (an export
has no closing dates and no maturity gap). Both models score the same future leads. Prints Markdown: per
history and on average, ROC AUC, log loss and ECE of each, and the difference. One thread per model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from benchmarks.bench_bank import bank_export, drafted_spec
from benchmarks.bench_pages import pages_export
from features.synthetic import GeneratorConfig, generate_history, scenario_config
from models.backtest import BacktestData, known_at_cutoff, out_of_time_folds
from models.evaluate import expected_calibration_error
from models.splits import refit_split, split_from_config
from models.train import train_conversion_model
from pipelines.evaluate import backtest_data, crm_data
from pipelines.settings import PipelineConfig, load_config, load_source_spec
from pipelines.sources import training_source

SCENARIOS = ("stable", "base_rate_shift", "concept_shift", "numeric_trend", "new_levels", "seasonality")
EXPORTS = ("bank", "pages")
FUTURE_SHARE = 0.2  # the latest share of closed deals: the leads scored after training


def measures(y: np.ndarray, p: np.ndarray, bins: int) -> tuple[float, float, float]:
    """ROC AUC, log loss and ECE of probabilities `p` for outcomes `y`."""
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return roc_auc_score(y, p), log_loss(y, clipped), expected_calibration_error(y, p, bins)


def crm_history(name: str, seed: int, accounts: int, cfg: PipelineConfig) -> BacktestData:
    """A 24-month synthetic CRM history of a drift scenario ("stable": the default mechanism)."""
    base = GeneratorConfig(accounts=accounts, months=24, seed=seed)
    history = generate_history(base if name == "stable" else scenario_config(name, base))
    return crm_data(history.tables(), cfg, history.truth)


def export_history(name: str, seed: int, folder: Path, cfg: PipelineConfig) -> BacktestData:
    """A drafted export of benchmarks.bench_bank or bench_pages, read as `leadscore train` reads it."""
    export = {"bank": (bank_export, 20000), "pages": (pages_export, 8000)}[name]
    frame, _ = export[0](seed, export[1])
    csv = folder / f"{name}_{seed}.csv"
    frame.to_csv(csv, index=False)
    source, _ = training_source(csv, load_source_spec(str(drafted_spec(csv))))
    return backtest_data(source, cfg)


def tested_and_refit(data: BacktestData, cfg: PipelineConfig) -> dict[str, tuple[float, float, float]]:
    """The tested and the refitted model trained on the history known when its latest 20 % begins,
    measured on those future rows."""
    assert data.times is not None
    model_cfg = cfg.model
    if data.maturity_days is not None:  # an export: no maturity gap (ExportSource.training_config)
        model_cfg = model_cfg.model_copy(update={"maturity_days": data.maturity_days})
    (fold,) = out_of_time_folds(data.times, FUTURE_SHARE)
    if data.known_at is not None:
        fold = known_at_cutoff(fold, data.times, data.known_at, model_cfg.maturity_days)
    learn = data.frame.iloc[fold.train].reset_index(drop=True)
    y_learn = data.y[fold.train]
    future, y_future = data.frame.iloc[fold.test].reset_index(drop=True), data.y[fold.test]
    split = split_from_config(model_cfg.split, snapshot_at=data.times.iloc[fold.train], seed=model_cfg.seed)
    out = {}
    for label, chosen in (("tested", split), ("refit", refit_split(split))):
        model = train_conversion_model(
            learn, y_learn, data.feature_names, data.categorical, chosen, model_cfg
        )
        p = np.asarray(model.predict_proba(future), dtype=float)
        out[label] = measures(y_future, p, model_cfg.ece_bins)
    return out


def run(histories: list[tuple[str, int]], accounts: int) -> str:
    cfg = load_config(overrides=["model.lightgbm.num_threads=1"])
    rows, values = [], []
    with tempfile.TemporaryDirectory() as folder:
        for name, seed in histories:
            started = time.perf_counter()
            if name in EXPORTS:
                data = export_history(name, seed, Path(folder), cfg)
            else:
                data = crm_history(name, seed, accounts, cfg)
            result = tested_and_refit(data, cfg)
            tested, refit = result["tested"], result["refit"]
            values.append([*tested, *refit])
            rows.append(
                f"| {name} | {seed} | "
                + " | ".join(f"{v:.4f}" for v in (*tested, *refit))
                + f" | {refit[0] - tested[0]:+.4f} | {refit[1] - tested[1]:+.4f} |"
            )
            print(f"{name} seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    mean = np.mean(values, axis=0)
    header = [
        "| history | seed | tested: AUC | log loss | ECE | refit: AUC | log loss | ECE | AUC gain | log loss change |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    footer = (
        f"| mean of {len(values)} | | "
        + " | ".join(f"{v:.4f}" for v in mean)
        + f" | {mean[3] - mean[0]:+.4f} | {mean[4] - mean[1]:+.4f} |"
    )
    better = sum(v[4] < v[1] for v in values)
    return "\n".join(
        [*header, *rows, footer, "", f"refit log loss lower in {better} of {len(values)} histories"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="7,8,9")
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--exports", default="", help="bank,pages: drafted exports of bench_bank / bench_pages"
    )
    parser.add_argument("--export-seeds", default="0,1,2")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    scenarios = [s for s in args.scenarios.split(",") if s]
    exports = [e for e in args.exports.split(",") if e]
    unknown = sorted(set(scenarios) - set(SCENARIOS)) + sorted(set(exports) - set(EXPORTS))
    if unknown:
        parser.error(f"unknown histories {unknown}; choose from {', '.join(SCENARIOS + EXPORTS)}")
    histories = [(name, int(seed)) for name in scenarios for seed in args.seeds.split(",")]
    histories += [(name, int(seed)) for name in exports for seed in args.export_seeds.split(",")]
    print(run(histories, args.accounts))


if __name__ == "__main__":
    main()
