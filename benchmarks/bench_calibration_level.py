"""Where the calibrated level comes from out of time: the fold models' level errors, and what the calibrator
does to the final model's level on the test window.

Run: .venv/bin/python -m benchmarks.bench_calibration_level [--seeds 7] [--accounts 6000]
     [--scenarios stable,seasonality,...] [--set model.seed=3]

For each drift scenario of `leadscore generate --scenario` and generator seed, a 24-month history is backtested
out of time as `leadscore evaluate --out-of-time` does (pipelines.evaluate: the latest 20 % of labelled deals
tested, leadscore trained on the deals known at the test window's start). Prints Markdown: the held-out
blocks' level offsets of the selection folds (calibration_report["block_offsets"], oldest first: the log-odds
a fold model missed its block's win rate by), then on the test window the final model's mean prediction and ECE
before calibration (raw) and after, against the win rate, and the oracle's ECE. The calibrator carries the
newest blocks' offset into every score: right when the level moves steadily, wrong when it swings.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import log_loss

from benchmarks.bench_known_at_test_start import drift_history, histories_args
from models.backtest import train_leadscore
from models.evaluate import expected_calibration_error, roc_auc
from pipelines.evaluate import FoldPlan, crm_data, make_folds
from pipelines.settings import load_config


def test_window_levels(name: str, seed: int, accounts: int, overrides: list[str]) -> dict[str, object]:
    """The out-of-time fold of one history: block offsets, and the test window's level raw and calibrated."""
    history = drift_history(name, seed, accounts)
    cfg = load_config(overrides=overrides or None)
    data = crm_data(history.tables(), cfg, history.truth)
    fold = make_folds(data, FoldPlan(windows=1, test_fraction=cfg.evaluate.test_fraction), cfg)[0]
    model = train_leadscore(data, fold, cfg.model, cfg.evaluate)
    test = data.frame.iloc[fold.test].reset_index(drop=True)
    y_test = data.y[fold.test]
    assert data.true_probability is not None
    raw, calibrated = model.predict_uncalibrated(test), model.predict_proba(test)
    truth = np.asarray(data.true_probability)[fold.test]
    return {
        "offsets": model.calibration_report.get("block_offsets", []),
        "rate": float(y_test.mean()),
        "raw_mean": float(raw.mean()),
        "calibrated_mean": float(calibrated.mean()),
        "raw_ece": expected_calibration_error(y_test, raw),
        "calibrated_ece": expected_calibration_error(y_test, calibrated),
        "oracle_ece": expected_calibration_error(y_test, truth),
        "auc": roc_auc(y_test, calibrated),
        "log_loss": float(log_loss(y_test, calibrated, labels=[0, 1])),
        "oracle_auc": roc_auc(y_test, truth),
    }


def main() -> None:
    args, scenarios, seeds = histories_args(__doc__, "7", 6000)
    print(
        f"| history ({args.accounts:,} accounts) | seed | block offsets, oldest first | test win rate | "
        "mean prediction, raw / calibrated | ECE, raw / calibrated | oracle ECE | AUC | oracle AUC | log loss |"
    )
    print("| --- | ---: | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for name in scenarios:
        for seed in seeds:
            r = test_window_levels(name, seed, args.accounts, args.set)
            offsets = ", ".join("-" if o is None else f"{o:+.2f}" for o in r["offsets"])  # type: ignore[attr-defined]
            print(
                f"| {name} | {seed} | {offsets} | {r['rate']:.3f} | {r['raw_mean']:.3f} / "
                f"{r['calibrated_mean']:.3f} | {r['raw_ece']:.3f} / {r['calibrated_ece']:.3f} | "
                f"{r['oracle_ece']:.3f} | {r['auc']:.4f} | {r['oracle_auc']:.4f} | {r['log_loss']:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
