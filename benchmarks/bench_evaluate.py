"""Backtest benchmark: `leadscore evaluate` on every drift scenario (out of time and rolling) and on X Education
(stratified 5-fold), every contender on the same folds.

Run: .venv/bin/python -m benchmarks.bench_evaluate [--accounts 1500] [--jobs 2] [--quick] [--update-results]
     [--no-rolling] [--scenarios stable,seasonality] [--xedu PATH | --no-xedu]

Scenarios come from `leadscore generate --scenario NAME` (features.synthetic.SCENARIOS) with --accounts
accounts, 24 months, seed 7, plus the stable default mechanism for reference. Out of time = train on the
earliest 80 % of labelled deals by creation time, test on the latest 20 %; rolling = the latest 30 % in 3
consecutive windows, each trained only on the deals before it whose outcome was known at its start
(models.backtest.known_at_cutoff). X Education: Leads.csv with
pipelines/specs/x_education.yaml, StratifiedKFold(5, shuffle=True, random_state=0). Calls
pipelines.evaluate.run_evaluate (the function behind the command), shipped configuration on one thread.

Prints Markdown; with --update-results also writes it into benchmarks/RESULTS.md as the "Backtests" section
(replacing that section only, atomically), so the other sections need not be rerun.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from features.synthetic import SCENARIOS, GeneratorConfig, generate_history, scenario_config
from pipelines.evaluate import BacktestReport, FoldPlan, crm_data, flat_data, run_evaluate
from pipelines.settings import PipelineConfig, load_config, load_source_spec

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
X_EDUCATION_CSV = REPO.parent / "shared" / "data" / "x_education_leads" / "Leads.csv"
SECTION = "# Backtests (leadscore evaluate)"
SHOWN = (
    ("logistic_regression", "logistic reg."),
    ("points_model", "points"),
    ("hist_gradient_boosting", "HistGB"),
    ("lightgbm_default", "LightGBM default"),
    ("catboost_default", "CatBoost default"),
    ("leadscore", "leadscore"),
)
OUT_OF_TIME = FoldPlan(windows=1, test_fraction=0.2)
ROLLING = FoldPlan(windows=3, test_fraction=0.3)
XEDU = FoldPlan(folds=5, seed=0)


def _progress(message: str) -> None:
    print(f"bench_evaluate: {message}", file=sys.stderr, flush=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _row(label: str, split: str, report: BacktestReport) -> list[str]:
    """AUC per contender (best non-oracle in bold), leadscore's ECE, its margin, the oracle's AUC and ECE (the
    ECE that the true probabilities themselves get on these few test rows: the floor of the noise)."""
    auc = {name: report.mean.get(name, {}).get("roc_auc", float("nan")) for name, _ in SHOWN}
    finite = {name: value for name, value in auc.items() if not math.isnan(value)}
    best = max(finite, key=lambda name: finite[name]) if finite else None
    cells = [f"**{_fmt(auc[name], 4)}**" if name == best else _fmt(auc[name], 4) for name, _ in SHOWN]
    leadscore = report.mean.get("leadscore", {})
    baselines = [value for name, value in finite.items() if name != "leadscore"]
    margin = leadscore.get("roc_auc", float("nan")) - max(baselines) if baselines else float("nan")
    oracle = report.mean.get("oracle", {}).get("roc_auc", float("nan"))
    oracle_ece = report.mean.get("oracle", {}).get("ece", float("nan"))
    refused = sum(1 for r in report.results if "leadscore" in r.refused)
    folds = [r for r in report.results if not r.skipped]
    refusals = f"{refused}/{len(folds)}" if refused else "0"
    counts = report.counts
    return [
        f"{label} ({counts['won'] / counts['rows']:.3f})",
        split,
        *cells,
        _fmt(leadscore.get("ece", float("nan"))),
        f"{margin:+.4f}" if not math.isnan(margin) else "-",
        _fmt(oracle, 4),
        _fmt(oracle - leadscore.get("roc_auc", float("nan")), 4) if not math.isnan(oracle) else "-",
        _fmt(oracle_ece),
        refusals,
    ]


def _table(rows: list[list[str]]) -> list[str]:
    header = [
        "data (label rate)",
        "split",
        *(label for _, label in SHOWN),
        "leadscore ECE",
        "leadscore - best baseline",
        "oracle",
        "oracle - leadscore",
        "oracle ECE",
        "leadscore refused",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "| --- | --- | " + " | ".join(["---:"] * (len(header) - 2)) + " |",
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def scenario_reports(
    accounts: int, cfg: PipelineConfig, name: str, rolling: bool = True
) -> tuple[str, BacktestReport, BacktestReport | None]:
    """Out-of-time and rolling reports of one scenario's history ("stable": the default mechanism); no
    rolling report when `rolling` is False."""
    _progress(f"scenario {name}")
    base = GeneratorConfig(accounts=accounts, months=24, seed=7)
    history = generate_history(base if name == "stable" else scenario_config(name, base))
    data = crm_data(history.tables(), cfg, history.truth)
    return (
        name,
        run_evaluate(data, OUT_OF_TIME, cfg, source=name),
        run_evaluate(data, ROLLING, cfg, source=name) if rolling else None,
    )


def x_education_report(cfg: PipelineConfig, path: Path = X_EDUCATION_CSV) -> BacktestReport | None:
    if not path.exists():
        _progress(f"X Education export not found at {path}: skipped")
        return None
    _progress("X Education 5-fold")
    data = flat_data(pd.read_csv(path), load_source_spec("x_education"))
    return run_evaluate(data, XEDU, cfg, source="X Education")


def _notes(reports: list[tuple[str, BacktestReport]]) -> list[str]:
    """Each report's notes, a note said for a data set's out-of-time report not repeated for its rolling one."""
    lines, said = [], set()
    for label, report in reports:
        for note in report.notes:
            if (label, note) not in said:
                lines.append(f"- {label}, {report.plan.describe()}: {note}")
                said.add((label, note))
    return lines


def run(
    accounts: int = 1500,
    quick: bool = False,
    jobs: int = 2,
    xedu_csv: Path | None = X_EDUCATION_CSV,
    only: list[str] | None = None,
    rolling: bool = True,
) -> str:
    """Every scenario and X Education, `jobs` at a time in separate processes, each on one thread (on 2
    shared cores a second OpenMP thread mostly spins: 10x the CPU time for the same trees, measured).
    `only` keeps those scenarios (default: all); `xedu_csv` None leaves X Education out; `rolling` False
    leaves the rolling-origin backtests out."""
    overrides = ["model.lightgbm.num_threads=1"]
    names = [name for name in ["stable", *SCENARIOS] if only is None or name in only]
    if quick:
        overrides.append("evaluate.baseline_iterations=20")
        accounts, names = min(accounts, 1200), names[:2]
    cfg = load_config(overrides=overrides)
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        xedu_job = None
        if not quick and xedu_csv is not None:  # the longest: first
            xedu_job = pool.submit(x_education_report, cfg, xedu_csv)
        jobs_ = [pool.submit(scenario_reports, accounts, cfg, name, rolling) for name in names]
        scenarios = [job.result() for job in jobs_]
        xedu = xedu_job.result() if xedu_job is not None else None
    seconds = time.perf_counter() - began
    out_of_time = [_row(name, "out of time", oot) for name, oot, _ in scenarios]
    rolling_rows = [_row(name, "rolling, 3 windows", roll) for name, _, roll in scenarios if roll is not None]
    if xedu is not None:
        out_of_time.append(_row("X Education", "5-fold", xedu))
    missing = (
        []
        if quick or xedu_csv is None or xedu is not None
        else [f"X Education export not found at {xedu_csv}: its row is missing.", ""]
    )
    first = scenarios[0][1] if scenarios else xedu
    contenders = ", ".join(first.contenders) if first is not None else "-"
    all_reports = [(n, r) for n, oot, roll in scenarios for r in (oot, roll) if r is not None]
    if xedu is not None:
        all_reports.append(("X Education", xedu))
    return "\n".join(
        [
            f"Synthetic histories: {accounts:,} accounts, 24 months, seed 7, one per scenario of "
            "`leadscore generate --scenario` (and `stable`, the default mechanism); labelled rows = mature "
            "closed deals kept by the ICP guardrail. Out of time: the latest 20 % of them by creation "
            "time tested; rolling: the latest 30 % in 3 consecutive windows (means over the windows); each "
            "window trained only on the deals whose outcome was known at its start (closed before it, created "
            "model.maturity_days before it). X Education: stratified 5-fold (seed 0), means "
            f"over the folds. Contenders: {contenders}; leadscore = `train_conversion_model` on each fold's "
            "training rows (its validation window the latest 15 % of them, or a stratified 15 % without "
            "times), baselines with library defaults on all of each fold's training rows. Best non-oracle AUC "
            f"in bold. One thread per model, {jobs} processes; {seconds:.0f} s in all.",
            "",
            "## Out of time (and X Education 5-fold)",
            "",
            *missing,
            *_table(out_of_time),
            "",
            *(["## Rolling origin", "", *_table(rolling_rows), ""] if rolling_rows else []),
            "Targets (issue 17): every drift scenario out of time: leadscore >= best baseline + 0.01, within "
            "0.02 of the oracle, ECE <= 0.03; X Education 5-fold >= CatBoost default; no_signal refused "
            "(exit 4) in every seed.",
            "",
            *(["Notes:", "", *_notes(all_reports)] if _notes(all_reports) else []),
        ]
    )


def update_results(markdown: str, command: str, path: Path = RESULTS) -> None:
    """Replace (or append) the Backtests section of RESULTS.md, leaving every other section as it is."""
    from benchmarks.run import _demote, write_atomically

    section = [SECTION, "", f"Reproduce: `{command}`", "", _demote(markdown), ""]
    lines = path.read_text().splitlines() if path.exists() else []
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ")), len(lines))
        lines = lines[:start] + section + lines[end:]
    else:
        lines = [*lines, "", *section] if lines else section
    write_atomically(path, "\n".join(lines).rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1500, help="accounts per scenario history")
    parser.add_argument("--jobs", type=int, default=2, help="processes (one thread each)")
    parser.add_argument("--xedu", type=Path, default=X_EDUCATION_CSV, help="X Education's Leads.csv")
    parser.add_argument("--no-xedu", action="store_true", help="leave X Education out")
    parser.add_argument(
        "--scenarios",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help=f"comma-separated subset of stable,{','.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="two small scenarios, few trees (a smoke test)")
    parser.add_argument(
        "--no-rolling", action="store_true", help="out of time only: no rolling-origin backtests"
    )
    parser.add_argument("--update-results", action="store_true", help="write the section into RESULTS.md")
    args = parser.parse_args()
    known = {"stable", *SCENARIOS}
    if args.scenarios and set(args.scenarios) - known:
        parser.error(
            f"unknown scenario(s) {sorted(set(args.scenarios) - known)}; choose from {sorted(known)}"
        )
    markdown = run(
        args.accounts,
        args.quick,
        args.jobs,
        None if args.no_xedu else args.xedu,
        args.scenarios,
        rolling=not args.no_rolling,
    )
    print(markdown)
    if args.update_results:
        command = ".venv/bin/python -m benchmarks.bench_evaluate" + (
            f" --accounts {args.accounts}" if args.accounts != 1500 else ""
        )
        if args.xedu != X_EDUCATION_CSV:
            command += f" --xedu {args.xedu}"
        if args.no_xedu:
            command += " --no-xedu"
        if args.scenarios:
            command += f" --scenarios {','.join(args.scenarios)}"
        if args.no_rolling:
            command += " --no-rolling"
        update_results(markdown, command)
        _progress(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
