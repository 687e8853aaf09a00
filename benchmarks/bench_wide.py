"""Large and wide flat exports through the command line, stage by stage: `leadscore spec draft`, `leadscore
evaluate --out-of-time`, `leadscore train --source-spec` and `leadscore score`, each in its own process under
`/usr/bin/time -v` (wall time and peak resident memory).

Run: .venv/bin/python -m benchmarks.bench_wide [--quick] [--shapes tall,wide,long] [--stages draft,evaluate,train,score]

Shapes (rows x columns of the export; `--quick` divides the rows by 20):
- tall: 300,000 x 30, with a job title of 5,000 levels and a lead source (utm values) of 50,000 among the categoricals;
- wide: 50,000 x 300, numeric and categorical columns (a landing page of 2,000 levels);
- long: 1,000,000 x 10 (a city of 1,000 levels).
Each export has a learnable signal (numbers, a few small categoricals and the two large ones). Evaluate runs
leadscore and logistic regression only (`evaluate.contenders`), one LightGBM thread; train and score use a
temporary MLflow store. A stage stopped after --limit seconds shows exit 124; when training is, scoring uses a model
trained on the export's first --sample-rows rows. Another failure skips the later stages.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

SHAPES = {"tall": (300_000, 30), "wide": (50_000, 300), "long": (1_000_000, 10)}
STAGES = ["draft", "evaluate", "train", "score"]


def levels(rng: np.random.Generator, rows: int, count: int, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """A categorical of `count` levels with a long tail (Zipf-like) and each row's level effect."""
    weights = 1 / np.arange(1, count + 1) ** 0.8
    codes = rng.choice(count, rows, p=weights / weights.sum())
    effect = rng.normal(0, 0.6, count)[codes]
    names = np.char.add(f"{prefix}-", np.arange(count).astype(str))
    return names[codes], effect


def wide_export(seed: int, rows: int, columns: int, big: dict[str, int]) -> pd.DataFrame:
    """An export of `rows` x `columns`: id, creation date and outcome, the categoricals of `big` (name: levels),
    then small categoricals and numbers half and half."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 540, rows)), unit="D")
    logit = np.full(rows, -1.5)
    data: dict[str, np.ndarray] = {
        "Lead ID": np.arange(1, rows + 1),
        "Created Date": created.strftime("%Y-%m-%d"),
    }
    for name, count in big.items():
        values, effect = levels(rng, rows, count, name.lower().replace(" ", "-"))
        data[name], logit = values, logit + effect
    rest = columns - 3 - len(big)
    for i in range(rest):
        weight = 0.4 if i < 8 else 0.02
        if i % 2 == 0:
            values = rng.normal(0, 1, rows).round(3)
            data[f"Attribute {i}"], logit = values, logit + weight * values
        else:
            codes = rng.integers(0, 6, rows)
            data[f"Segment {i}"] = np.char.add("s", codes.astype(str))
            logit = logit + weight * (codes - 2.5) / 2
    status = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "Won", "Lost")
    data["Status"] = np.where(
        rng.random(rows) < 0.05, "Open", status
    )  # a few open leads: the draft's open value
    return pd.DataFrame(data)


def export_for(shape: str, rows: int, seed: int) -> pd.DataFrame:
    columns = SHAPES[shape][1]
    big = {
        "tall": {"Job Title": 5_000, "Lead Source": 50_000},
        "wide": {"Landing Page": 2_000},
        "long": {"City": 1_000},
    }[shape]
    return wide_export(seed, rows, columns, big)


def timed(command: list[str], env: dict[str, str], limit: float) -> tuple[float, float, int, str]:
    """Wall seconds, peak resident GB, exit code and the last stderr line of a command under time -v
    (stopped after `limit` seconds: exit 124, as timeout(1) says)."""
    timeout = ["timeout", str(limit)]
    done = subprocess.run(
        ["/usr/bin/time", "-v", *timeout, *command], capture_output=True, text=True, env=env
    )
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    seconds = 0.0
    if wall:
        hours, minutes, secs = wall.groups()
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    lines = [line for line in done.stderr.split("\tCommand being timed")[0].splitlines() if line.strip()]
    gigabytes = int(peak.group(1)) / 1024**2 if peak else float("nan")
    return seconds, gigabytes, done.returncode, lines[-1] if lines else ""


def stage_commands(csv: Path, spec: Path, folder: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "pipelines.cli"]
    one_thread = ["--set", "model.lightgbm.num_threads=1"]
    return {
        "draft": [*cli, "spec", "draft", "--input", str(csv), "--out", str(spec)],
        "evaluate": [
            *cli, "evaluate", "--input", str(csv), "--source-spec", str(spec), "--out-of-time",
            "--set", "evaluate.contenders=[leadscore,logistic_regression]", *one_thread,
        ],
        "train": [*cli, "train", "--input", str(csv), "--source-spec", str(spec), "--force", "benchmark", *one_thread],
        "score": [*cli, "score", "--input", str(folder / "open.csv"), "--output", str(folder / "scores.parquet"),
                  "--model", "models:/leadscore/1"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a twentieth of the rows, to check the script runs"
    )
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=900, help="stop a stage after this many seconds")
    parser.add_argument(
        "--sample-rows",
        type=int,
        default=100_000,
        help="rows of the model scoring uses when training timed out",
    )
    args = parser.parse_args()
    print("| export | rows x columns | stage | seconds | peak GB | exit |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for shape in args.shapes.split(","):
        rows = SHAPES[shape][0] // (20 if args.quick else 1)
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            csv, spec = folder / f"{shape}.csv", folder / f"{shape}.yaml"
            frame = export_for(shape, rows, args.seed)
            frame.to_csv(csv, index=False)
            frame.assign(Status="Open").to_csv(folder / "open.csv", index=False)  # score every row
            env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
            commands = stage_commands(csv, spec, folder)
            for stage in args.stages.split(","):
                print(f"bench_wide: {shape} {stage}", file=sys.stderr, flush=True)
                seconds, peak, code, last = timed(commands[stage], env, args.limit)
                size = f"{len(frame):,} x {frame.shape[1]}"
                print(f"| {shape} | {size} | {stage} | {seconds:.1f} | {peak:.2f} | {code} |", flush=True)
                if stage == "train" and code == 124 and "score" in args.stages:
                    # too slow to train on every row: score with a model of the first rows, to time scoring
                    sample = folder / "sample.csv"
                    frame.head(args.sample_rows).to_csv(sample, index=False)
                    code = timed(stage_commands(sample, spec, folder)["train"], env, args.limit)[2]
                    print(
                        f"bench_wide: {shape} scored with a model of {args.sample_rows:,} rows",
                        file=sys.stderr,
                    )
                if code not in (0, 6):  # 6: trained, not promoted; scoring takes its version all the same
                    print(f"bench_wide: {shape} {stage} exit {code}: {last}", file=sys.stderr, flush=True)
                    break


if __name__ == "__main__":
    main()
