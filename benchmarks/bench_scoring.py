"""Scoring at scale: peak memory of batch scoring 2,000,000 leads, and online latency through the endpoint.

Run: .venv/bin/python -m benchmarks.bench_scoring [--leads 2000000] [--requests 300]

Peak memory is the maximum resident set of the `leadscore score` process (a child process, so nothing else of
this script counts), read from getrusage. Online latency is one lead per request, with reasons, sequential,
through `leadscore serve` on loopback, after a warm-up; p50 and p99 of the client-side round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent


def _env(store: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


def _train_champion(work: Path, env: dict[str, str]) -> Path:
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
    return data


def _generate_big(leads: int, out: Path) -> None:
    """A history with about `leads` leads (3 per account), written by a child process (its memory is its own)."""
    accounts = max(1, leads // 3)
    code = (
        "from pathlib import Path\n"
        "from features.synthetic import GeneratorConfig, generate_history\n"
        "from pipelines.io import write_tables\n"
        f"h = generate_history(GeneratorConfig(accounts={accounts}, months=12, deal_share=0.3, seed=3))\n"
        f"write_tables(h.tables(), Path({str(out)!r}))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(done.stdout + done.stderr)\n"
    "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(done.returncode)\n"
)


def _peak_rss_of(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds and peak resident memory (GiB) of one command, measured by a fresh parent of its own."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    peak_kib = int(done.stdout.rsplit("PEAK_KIB", 1)[1].split()[0])
    return seconds, peak_kib / 1024**2, done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _online_latency(data: Path, env: dict[str, str], requests: int) -> tuple[float, float, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from models.lead_input import tables_to_lead_rows
    from pipelines.io import read_tables

    tables = read_tables(data)
    busy = tables["activities"]["lead_id"].value_counts().index[:requests].tolist()
    rows = tables_to_lead_rows(tables, busy)
    bodies = [
        json.dumps(
            {
                "dataframe_records": json.loads(rows.iloc[[i]].to_json(orient="records")),
                "params": {"as_of": "2026-10-01"},
            }
        ).encode()
        for i in range(len(rows))
    ]
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "leadscore", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.5)

        def call(body: bytes) -> float:
            request = urllib.request.Request(
                f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
            )
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            return (time.perf_counter() - start) * 1000

        for body in bodies[:20]:
            call(body)
        times = np.array([call(body) for body in bodies])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99)), float(times.mean())


def run(leads: int = 2_000_000, requests: int = 300) -> str:
    work = Path(tempfile.mkdtemp(prefix="leadscore-bench-scoring-"))
    try:
        store = work / "mlflow"
        store.mkdir()
        env = _env(store)
        data = _train_champion(work, env)
        big = work / "big"
        _generate_big(leads, big)
        out = work / "scores.parquet"
        score = [
            BIN / "leadscore",
            "score",
            "--input",
            str(big),
            "--as-of",
            "2026-10-01",
            "--output",
            str(out),
        ]
        seconds, peak, output = _peak_rss_of([*map(str, score), "--no-reasons"], env)
        seconds_r, peak_r, _ = _peak_rss_of(list(map(str, score)), env)
        read = next((line for line in output.splitlines() if "read" in line), "")
        scored = next((line for line in output.splitlines() if "scored" in line), "")
        p50, p99, mean = _online_latency(data, env, requests)
        lines = [
            "| measure | value | target |",
            "| --- | ---: | --- |",
            f"| batch, {leads:,} leads, no reasons: peak memory | {peak:.2f} GiB | under 2 GiB |",
            f"| batch, {leads:,} leads, no reasons: wall time | {seconds:.0f} s | |",
            f"| batch, {leads:,} leads, with reasons: peak memory | {peak_r:.2f} GiB | under 2 GiB |",
            f"| batch, {leads:,} leads, with reasons: wall time | {seconds_r:.0f} s | |",
            f"| online, 1 lead with reasons: p50 | {p50:.1f} ms | at most 10 ms |",
            f"| online, 1 lead with reasons: p99 | {p99:.1f} ms | at most 25 ms |",
            f"| online, 1 lead with reasons: mean | {mean:.1f} ms | |",
            "",
            f"Batch accounting lines: `{read.strip()}`, `{scored.strip()}`",
        ]
        return "\n".join(lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(run(args.leads, args.requests))
