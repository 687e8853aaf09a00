"""Scoring on Spark (pipelines/spark_job.py) against the pandas streaming path, as leads grow.

Run: .venv/bin/python -m benchmarks.bench_spark [--leads 2000 8000] [--master local[2]]

For each size: a synthetic history of about that many leads (3 per account) is written as Parquet; a model is
trained once on the default synthetic history; then `leadscore score` runs on the folder with the pandas
engine (streaming) and with `--engine spark`, each in a fresh process. Reported per run: wall seconds, leads
scored per second, and peak resident memory of the Python driver process itself (getrusage RUSAGE_SELF: where
a table collected to the driver would land; it should stay flat as leads grow on Spark) and of its children
(for Spark in local mode: the JVM, which holds the driver and the executors, and the Python workers).
On a shared two-core machine Spark's fixed costs (JVM start, Python workers importing the project) dominate
small sizes; the issue's 200,000 and 2,000,000 leads take much longer than a few minutes here.

Measured 2026-12-06 on the shared 2-core machine (local[2], one size per run, `--leads 1000` then `--leads 4000`):
1,018 leads: pandas 16.5 s, driver 390 MiB; spark 240 s, driver 357 MiB. 3,966 leads: pandas 16.9 s, driver
418 MiB; spark 263 s, driver 361 MiB. The Spark driver stays flat; Spark's time is its fixed cost here. The
children figure does not capture the JVM reliably (getrusage sees only children that were waited for).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

RUN = (
    "import resource, sys, warnings\n"
    "warnings.filterwarnings('ignore')\n"
    "from pipelines.cli import app\n"
    "try:\n"
    "    app(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n"
    "    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    print('PEAK_KIB', self_kib, children_kib)\n"
)


def _env(store: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


def _generate(leads: int, out: Path) -> None:
    """A history with about `leads` leads, written by a child process."""
    code = (
        "from pathlib import Path\n"
        "from features.synthetic import GeneratorConfig, generate_history\n"
        "from pipelines.io import write_tables\n"
        f"h = generate_history(GeneratorConfig(accounts={max(1, leads // 3)}, months=12, deal_share=0.3, seed=3))\n"
        f"write_tables(h.tables(), Path({str(out)!r}))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _train(work: Path, env: dict[str, str]) -> None:
    data = work / "train-data"
    subprocess.run(
        [BIN / "leadscore", "generate", "--out", str(data)], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [BIN / "leadscore", "train", "--input", str(data), "--set", "model.bootstrap_rounds=20"],
        env=env,
        check=True,
        capture_output=True,
    )


def _score(args: list[str], env: dict[str, str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or "PEAK_KIB" not in done.stdout:
        raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
    self_kib, children_kib = (int(v) for v in done.stdout.rsplit("PEAK_KIB", 1)[1].split()[:2])
    return {"seconds": seconds, "driver_mib": self_kib / 1024, "children_mib": children_kib / 1024}


def run(sizes: list[int], master: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        work = Path(tmp)
        env = _env(work)
        _train(work, env)
        for leads in sizes:
            data = work / f"crm-{leads}"
            _generate(leads, data)
            common = ["score", "--input", str(data), "--as-of", "2026-10-01"]
            for engine in ("pandas", "spark"):
                out = work / f"scores-{engine}-{leads}.parquet"
                extra = ["--engine", "spark", "--spark-master", master] if engine == "spark" else []
                measured = _score([*common, "--output", str(out), *extra], env)
                manifest = json.loads(out.with_name(f"{out.stem}.manifest.json").read_text())
                scored = manifest["leads"]["scored"]
                rows.append(
                    {
                        "leads": manifest["leads"]["read"],
                        "engine": engine,
                        "scored": scored,
                        **{k: round(v, 1) for k, v in measured.items()},
                        "scored_per_second": round(scored / measured["seconds"], 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[2000, 8000])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    for row in run(args.leads, args.master):
        print(
            f"{row['leads']:>9,} leads  {row['engine']:<6}  {row['seconds']:>7.1f} s  "
            f"{row['scored_per_second']:>8.1f} scored/s  driver {row['driver_mib']:>7.1f} MiB  "
            f"children {row['children_mib']:>7.1f} MiB"
        )


if __name__ == "__main__":
    main()
