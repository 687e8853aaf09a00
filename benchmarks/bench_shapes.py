"""Exports in the shapes of two public data sets, end to end the way a user runs them: `leadscore spec draft`,
`spec check` (an export's validate), `evaluate`, `train` and `score`, each a `python -m pipelines.cli`
process, its exit code and wall time recorded.

Run: .venv/bin/python -m benchmarks.bench_shapes [--seeds 0,1] [--shapes shoppers,pipeline,joined]
     [--scale 1.0] [--set KEY=VALUE] [--out DIR] [--json rows.json]

Shapes (seeded, written to CSV in a scratch folder; `--out` keeps it):
- `shoppers`: web sessions in the shape of UCI "Online Shoppers Purchasing Intention" (12,330 sessions, 18
  columns, the outcome `Revenue` TRUE/FALSE last, 125 bounce visits repeating an earlier row in every column,
  a month name and no date, no id). Every row is labelled: scoring reads the same sessions without `Revenue`.
- `pipeline`: a B2B sales pipeline in the shape of the Maven Analytics "CRM Sales Opportunities" data
  (`sales_pipeline.csv`, 8,800 opportunities: an 8-character id, agent, product, account, `deal_stage` Won,
  Lost, Engaging or Prospecting, `engage_date` blank for prospects, `close_date` and `close_value` known only
  once closed), written with its `accounts.csv` and `sales_teams.csv`; drafted and run on the pipeline table.
- `joined`: the same pipeline joined with its accounts and sales teams (sector, revenue in millions,
  employees, office location, manager, regional office), as an analyst exports it.

evaluate runs out of time when the drafted spec has a time column, else `--folds 5 --seed 0`, with the
default contenders. Scoring reads the export's open rows (the export itself; for a fully labelled export, a
copy without its label column) with the model just trained (the champion, or the challenger when the gate
refused it: exit 6). Any non-zero exit or a traceback is listed under "findings" on stderr and in --json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]

SHOPPER_MONTHS = {  # month name as the data set writes it: sessions (the public file's counts)
    "Feb": 184, "Mar": 1907, "May": 3364, "June": 288, "Jul": 432,
    "Aug": 433, "Sep": 448, "Oct": 549, "Nov": 2998, "Dec": 1727,
}  # fmt: skip
BROWSER_WEIGHTS = [20, 65, 1, 6, 3, 2, 1, 1.5, 0.1, 1.3, 0.1, 0.1, 0.5]
REGION_WEIGHTS = [39, 9, 19, 10, 3, 6, 6, 3.5, 4.5]
TRAFFIC_WEIGHTS = [20, 32, 17, 9, 2, 4, 0.3, 3, 0.3, 4, 2, 0.01, 6, 0.1, 0.3, 0.03, 0.01, 0.1, 0.1, 1.5]
OS_WEIGHTS = [0.21, 0.535, 0.207, 0.039, 0.001, 0.002, 0.001, 0.004]


def _shares(weights: list[float] | np.ndarray) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum()


def shoppers_export(seed: int, rows: int = 12330) -> pd.DataFrame:
    """Web sessions as the public file holds them: the win (`Revenue`) follows the page value most, then the
    exit rate (down), November and new visitors; about 1 % of rows are bounce visits that repeat an earlier
    row in every column; `Weekend` and `Revenue` written TRUE / FALSE."""
    rng = np.random.default_rng(seed)
    repeats = max(round(rows * 125 / 12330), 1)
    n = rows - repeats
    month = rng.choice(list(SHOPPER_MONTHS), n, p=_shares(list(SHOPPER_MONTHS.values())))
    visitor = rng.choice(["Returning_Visitor", "New_Visitor", "Other"], n, p=[0.855, 0.138, 0.007])
    administrative = rng.poisson(2.3, n) * (rng.random(n) < 0.55)
    informational = rng.poisson(1.2, n) * (rng.random(n) < 0.25)
    product = rng.negative_binomial(2, 0.06, n) + 1
    admin_time = np.where(administrative > 0, np.round(administrative * rng.gamma(2, 40, n), 6), 0.0)
    info_time = np.where(informational > 0, np.round(informational * rng.gamma(2, 30, n), 6), 0.0)
    product_time = np.round(product * rng.gamma(2, 20, n), 6)
    unknown = rng.random(n) < 0.0025  # the public file writes -1 for a duration it did not measure
    admin_time[unknown], info_time[unknown], product_time[unknown] = -1, -1, -1
    bounce = np.clip(rng.beta(0.5, 12, n), 0, 0.2)
    exits = np.clip(bounce + rng.beta(1.5, 35, n), 0, 0.2)
    special_days = rng.choice([0, 0.2, 0.4, 0.6, 0.8, 1.0], n, p=[0.6, 0.08, 0.08, 0.08, 0.08, 0.08])
    special = np.where(np.isin(month, ["Feb", "May"]), special_days, 0.0)
    systems = rng.choice(range(1, 9), n, p=_shares(OS_WEIGHTS))
    browser = rng.choice(range(1, 14), n, p=_shares(BROWSER_WEIGHTS))
    region = rng.choice(range(1, 10), n, p=_shares(REGION_WEIGHTS))
    traffic = rng.choice(range(1, 21), n, p=_shares(TRAFFIC_WEIGHTS))
    weekend = rng.random(n) < 0.23
    latent = rng.normal(0, 1, n)
    page_value = np.where(latent + 0.8 * (month == "Nov") > 1.0, np.round(rng.gamma(1.5, 20, n), 6), 0.0)
    logit = (
        -2.0 + 0.09 * np.minimum(page_value, 60) + 1.2 * (page_value > 0) - 25 * exits
        + 0.8 * (month == "Nov") + 0.45 * (visitor == "New_Visitor") + 0.002 * np.minimum(product, 200)
        - 0.3 * (traffic == 3)
    )  # fmt: skip
    revenue = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "Administrative": administrative,
            "Administrative_Duration": admin_time,
            "Informational": informational,
            "Informational_Duration": info_time,
            "ProductRelated": product,
            "ProductRelated_Duration": product_time,
            "BounceRates": np.round(bounce, 8),
            "ExitRates": np.round(exits, 8),
            "PageValues": page_value,
            "SpecialDay": special,
            "Month": month,
            "OperatingSystems": systems,
            "Browser": browser,
            "Region": region,
            "TrafficType": traffic,
            "VisitorType": visitor,
            "Weekend": weekend,
            "Revenue": revenue,
        }
    )
    bounces = frame[frame["ProductRelated"] <= 3].sample(max(repeats // 3, 1), random_state=seed)
    copies = bounces.sample(repeats, random_state=seed + 1, replace=True)
    frame = pd.concat([frame, copies], ignore_index=True).sample(frac=1, random_state=seed)
    written = {True: "TRUE", False: "FALSE"}
    return frame.reset_index(drop=True).assign(
        Weekend=lambda f: f["Weekend"].map(written), Revenue=lambda f: f["Revenue"].map(written)
    )


FIRST = [
    "Anna", "Boris", "Cara", "Dan", "Elle", "Finn", "Gus", "Hana", "Ivo", "Jade", "Kim", "Lars", "Mia", "Nils",
    "Ola", "Pia", "Quin", "Rosa", "Sam", "Tia", "Uma", "Vic", "Wes", "Xia", "Yan", "Zoe", "Al", "Bea", "Cy", "Di",
    "Ed", "Flo", "Gil", "Hal", "Ida",
]  # fmt: skip
LAST = [
    "Ng", "Ott", "Pace", "Quill", "Ray", "Sand", "Tull", "Ure", "Vale", "Wynn", "Yost", "Zell", "Amos", "Baird",
    "Cole", "Dunn", "Eads", "Fry", "Gale", "Hart", "Irwin", "Judd", "Kemp", "Lowe", "Mace", "Nash", "Orr", "Penn",
    "Rowe", "Shaw", "Tate", "Vance", "Wolf", "York", "Zane",
]  # fmt: skip
PRODUCTS = {  # product: (effect on the log-odds, list price)
    "GTX Basic": (0.1, 550), "GTX Pro": (-0.2, 4821), "MG Special": (0.4, 55), "MG Advanced": (-0.3, 3393),
    "GTX Plus Pro": (0.0, 5482), "GTX Plus Basic": (0.2, 1096), "GTK 500": (-0.5, 26768),
}  # fmt: skip
SECTORS = [  # "technolgy": the public file's spelling
    "technolgy", "medical", "retail", "software", "entertainment", "finance", "marketing", "telecommunications",
    "services", "employment",
]  # fmt: skip
WORDS = [
    "Acme", "Bluth", "Cyber", "Dyna", "Echo", "Fusion", "Giga", "Hex", "Ion", "Jet", "Kilo", "Luna", "Metro",
    "Nova", "Omni", "Pixel", "Quant", "Rex",
]  # fmt: skip
SUFFIXES = ["corp", "tech", "systems", "labs", "works", "group", "soft", "net", "plus", "max"]
OFFICES = ["United States"] * 8 + [
    "Kenya", "Japan", "Italy", "Norway", "Korea", "Jordan", "Brazil", "Germany", "Panama", "Philipines",
    "Belgium", "China", "Poland",
]  # fmt: skip
MANAGERS = [
    "Dustin Brinkmann",
    "Melvin Marxen",
    "Cara Losch",
    "Rocco Neubert",
    "Summer Sewald",
    "Celia Rouche",
]


def pipeline_tables(seed: int, rows: int = 8800) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sales pipeline, its accounts and its sales teams, as the public data set's three CSVs. Deals enter
    the pipeline over 440 days; the win follows the agent, the product and the account's sector, and rises
    over time; a deal whose close would fall after the export is still `Engaging`, 6 % are `Prospecting`
    (no engage date); close date and value are blank for open deals, the value 0 for lost ones, and most open
    deals have no account yet. One product is written `GTXPro`, as in the public file."""
    rng = np.random.default_rng(seed)
    agents = [f"{first} {last}" for first, last in zip(FIRST, LAST, strict=True)]
    agent_effect = rng.normal(0, 0.5, len(agents))
    sector_effect = rng.normal(0, 0.6, len(SECTORS))
    names = [f"{word}{suffix}" for word in WORDS for suffix in SUFFIXES][:85]
    account_sector = rng.integers(0, len(SECTORS), len(names))
    account_effect = sector_effect[account_sector] + rng.normal(0, 0.2, len(names))
    start, days = pd.Timestamp("2016-10-20"), 440
    agent = rng.integers(0, len(agents), rows)
    product = rng.integers(0, len(PRODUCTS), rows)
    account = rng.integers(0, len(names), rows)
    engaged = start + pd.to_timedelta(np.sort(rng.integers(0, days, rows)), unit="D")
    elapsed = np.asarray((engaged - start).days) / days
    effect, price = (np.array(values) for values in zip(*PRODUCTS.values(), strict=True))
    logit = 0.3 + agent_effect[agent] + effect[product] + account_effect[account] + 0.8 * (elapsed - 0.5)
    won = rng.random(rows) < 1 / (1 + np.exp(-logit))
    closed = engaged + pd.to_timedelta(rng.integers(1, 140, rows), unit="D")
    stage = np.where(won, "Won", "Lost").astype(object)
    stage[np.asarray(closed > start + pd.Timedelta(days=days + 10))] = "Engaging"
    stage[rng.random(rows) < 0.06] = "Prospecting"
    value = np.where(won, (price[product] * rng.uniform(0.8, 1.2, rows)).round(0), 0).astype(int)
    alphabet = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    is_open = np.isin(stage, ["Engaging", "Prospecting"])
    no_account = is_open & (rng.random(rows) < 0.7)
    pipeline = pd.DataFrame(
        {
            "opportunity_id": ["".join(rng.choice(alphabet, 8)) for _ in range(rows)],
            "sales_agent": np.array(agents)[agent],
            "product": np.array(list(PRODUCTS))[product],
            "account": np.where(no_account, "", np.array(names)[account]),
            "deal_stage": stage,
            "engage_date": np.where(stage == "Prospecting", "", engaged.strftime("%Y-%m-%d")),
            "close_date": np.where(is_open, "", closed.strftime("%Y-%m-%d")),
            "close_value": np.where(is_open, "", value.astype(str)),
        }
    )
    pipeline["product"] = pipeline["product"].replace({"GTX Pro": "GTXPro"})
    pipeline = pipeline.drop_duplicates("opportunity_id").reset_index(drop=True)
    accounts = pd.DataFrame(
        {
            "account": names,
            "sector": np.array(SECTORS)[account_sector],
            "year_established": rng.integers(1979, 2017, len(names)),
            "revenue": rng.lognormal(7, 1.2, len(names)).round(2),  # in millions, as the public file
            "employees": rng.integers(9, 20000, len(names)),
            "office_location": rng.choice(OFFICES, len(names)),
            "subsidiary_of": np.where(rng.random(len(names)) < 0.2, rng.choice(names[:7], len(names)), ""),
        }
    )
    teams = pd.DataFrame(
        {
            "sales_agent": agents,
            "manager": [MANAGERS[i % 6] for i in range(len(agents))],
            "regional_office": [["Central", "East", "West"][(i % 6) // 2] for i in range(len(agents))],
        }
    )
    return pipeline, accounts, teams


def write_shape(shape: str, seed: int, scale: float, folder: Path) -> tuple[Path, str]:
    """Write the shape's export file(s) to `folder`: the file the run reads and its label column."""
    if shape == "shoppers":
        csv = folder / "online_shoppers_intention.csv"
        shoppers_export(seed, round(12330 * scale)).to_csv(csv, index=False)
        return csv, "Revenue"
    pipeline, accounts, teams = pipeline_tables(seed, round(8800 * scale))
    if shape == "pipeline":
        accounts.to_csv(folder / "accounts.csv", index=False)
        teams.to_csv(folder / "sales_teams.csv", index=False)
        csv = folder / "sales_pipeline.csv"
        pipeline.to_csv(csv, index=False)
    else:
        csv = folder / "sales_pipeline_joined.csv"
        joined = pipeline.merge(accounts, on="account", how="left").merge(teams, on="sales_agent", how="left")
        joined.to_csv(csv, index=False)
    return csv, "deal_stage"


SHAPES = ("shoppers", "pipeline", "joined")
STEPS = ("draft", "check", "evaluate", "train", "score")


@dataclass
class Row:
    """One shape and seed end to end."""

    shape: str
    seed: int
    rows: int
    exits: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(STEPS))
    seconds: dict[str, float] = field(default_factory=dict)
    evaluate_mode: str = ""
    quarantined_train: int | None = None  # labelled rows training quarantined (its table of rows read)
    quarantined: int | None = None  # leads the scoring run quarantined (its manifest)
    leadscore_auc: float = math.nan
    leadscore_ece: float = math.nan
    best_baseline: str = ""
    best_baseline_auc: float = math.nan
    scored: int | None = None
    findings: list[str] = field(default_factory=list)


def run_step(row: Row, step: str, command: list[str], env: dict[str, str], folder: Path) -> str:
    """Run one CLI step in `folder`; record its exit code and wall time, and a finding for a non-zero exit or
    a traceback. Returns what it printed (stdout and stderr)."""
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder)
    row.seconds[step] = time.perf_counter() - began
    row.exits[step] = done.returncode
    said = done.stdout + done.stderr
    (folder / f"{step}.log").write_text(said)
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    if "Traceback (most recent call last)" in said:
        row.findings.append(
            f"{row.shape} seed {row.seed} {step}: traceback, exit {done.returncode}: {lines[-1]}"
        )
    elif done.returncode != 0:
        last = lines[-1] if lines else "(nothing printed)"
        row.findings.append(f"{row.shape} seed {row.seed} {step}: exit {done.returncode}: {last}")
    return said


def read_evaluation(row: Row, results: Path) -> None:
    """leadscore's mean AUC and ECE and the best baseline's AUC from evaluate's JSON."""
    if not results.exists():
        return
    mean = json.loads(results.read_text()).get("mean", {})
    row.leadscore_auc = mean.get("leadscore", {}).get("roc_auc", math.nan)
    row.leadscore_ece = mean.get("leadscore", {}).get("ece", math.nan)
    baselines = {name: m.get("roc_auc", math.nan) for name, m in mean.items() if name != "leadscore"}
    baselines = {name: auc for name, auc in baselines.items() if not math.isnan(auc)}
    if baselines:
        row.best_baseline = max(baselines, key=lambda name: baselines[name])
        row.best_baseline_auc = baselines[row.best_baseline]


def read_quarantined(said: str) -> int | None:
    """The quarantined count of the export's line in training's table of rows read, valid and quarantined."""
    found = re.search(r"^\W*spec\W+[\d,]+\W+[\d,]+\W+([\d,]+)\W", said, re.MULTILINE)
    return int(found.group(1).replace(",", "")) if found else None


def read_scores(row: Row, scores: Path) -> None:
    """Leads scored and quarantined, from the manifest the scoring run publishes beside its scores."""
    manifest = scores.with_suffix(".manifest.json")
    if manifest.exists():
        leads = json.loads(manifest.read_text()).get("leads", {})
        row.scored, row.quarantined = leads.get("scored"), leads.get("quarantined")


def run_shape(shape: str, seed: int, scale: float, overrides: list[str], folder: Path) -> Row:
    """Write the export, then draft, check, evaluate, train and score it as a user would."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, label = write_shape(shape, seed, scale, folder)
    export = pd.read_csv(csv, dtype=str, keep_default_na=False)
    row = Row(shape, seed, len(export))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
    }
    cli = [sys.executable, "-m", "pipelines.cli"]
    sets = [item for value in ["model.lightgbm.num_threads=1", *overrides] for item in ("--set", value)]
    spec = folder / "spec.yaml"
    run_step(row, "draft", [*cli, "spec", "draft", "--input", str(csv), "--out", str(spec)], env, folder)
    if row.exits["draft"] != 0:
        return row
    source = ["--input", str(csv), "--source-spec", str(spec)]
    run_step(row, "check", [*cli, "spec", "check", *source, *sets], env, folder)
    drafted = yaml.safe_load(spec.read_text()) or {}
    timed = bool(drafted.get("timestamp_column"))
    row.evaluate_mode = "out of time" if timed else "5-fold"
    mode = ["--out-of-time"] if timed else ["--folds", "5", "--seed", "0"]
    results = folder / "evaluate.json"
    run_step(
        row, "evaluate", [*cli, "evaluate", *source, *mode, "--output", str(results), *sets], env, folder
    )
    read_evaluation(row, results)
    row.quarantined_train = read_quarantined(
        run_step(row, "train", [*cli, "train", *source, *sets], env, folder)
    )
    if row.exits["train"] not in (0, 6):
        return row
    to_score, label = csv, drafted.get("label_column", label)
    if not export[label].isin([str(value) for value in drafted.get("open_labels") or []]).any():
        to_score = folder / "to_score.csv"  # no open row: score the same rows without their outcome
        export.drop(columns=label).to_csv(to_score, index=False)
    scores = folder / "scores.csv"
    model = [] if row.exits["train"] == 0 else ["--model", "models:/leadscore@challenger"]
    command = [*cli, "score", "--input", str(to_score), "--output", str(scores), *model, *sets]
    run_step(row, "score", command, env, folder)
    read_scores(row, scores)
    return row


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def table_line(row: Row) -> str:
    exits = " / ".join("-" if row.exits[step] is None else str(row.exits[step]) for step in STEPS)
    quarantined = " / ".join("-" if n is None else f"{n:,}" for n in (row.quarantined_train, row.quarantined))
    scored = "-" if row.scored is None else f"{row.scored:,}"
    baseline = f"{_number(row.best_baseline_auc, 4)} ({row.best_baseline or '-'})"
    return (
        f"| {row.shape} | {row.seed} | {row.rows:,} | {exits} | {row.evaluate_mode or '-'} "
        f"| {_number(row.leadscore_auc, 4)} | {_number(row.leadscore_ece, 3)} | {baseline} "
        f"| {scored} | {quarantined} | {sum(row.seconds.values()):.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--scale", type=float, default=1.0, help="rows as a share of the public data's")
    parser.add_argument("--set", action="append", default=[], help="a config override, e.g. model.seed=3")
    parser.add_argument("--out", type=Path, help="keep every shape's files, logs and store here")
    parser.add_argument("--json", type=Path, help="write the rows (and findings) here as JSON")
    args = parser.parse_args()
    print(
        "| shape | seed | rows | exit draft / check / evaluate / train / score | evaluate | leadscore AUC "
        "| leadscore ECE | best baseline AUC | scored | quarantined train / score | seconds |"
    )
    print("| --- | ---: | ---: | --- | --- | ---: | ---: | --- | ---: | ---: | ---: |", flush=True)
    done: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        base = args.out or Path(scratch)
        for shape in args.shapes.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                print(f"bench_shapes: {shape} seed {seed}", file=sys.stderr, flush=True)
                row = run_shape(shape, seed, args.scale, args.set, base / f"{shape}_{seed}")
                done.append(row)
                print(table_line(row), flush=True)
    findings = [finding for row in done for finding in row.findings]
    for finding in findings:
        print(f"finding: {finding}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in done], indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
