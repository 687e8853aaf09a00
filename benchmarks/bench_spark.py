"""Scoring on Spark (pipelines/spark_job.py) against the pandas streaming path, as leads grow.

Run: .venv/bin/python -m benchmarks.bench_spark [--leads 200000 2000000] [--master local[2]]
     [--cache /tmp/leadscore-bench-spark] [--timeout 900] [--engines pandas spark] [--set NAME=VALUE ...]

For each size: a synthetic history of about that many leads (3 per account, 12 months) is generated once into
the cache folder (Parquet; reused by later runs), and a model is trained once on the default synthetic
history (its MLflow store is cached too). Then `leadscore score` runs on the folder with the pandas engine
(streaming, in process) and with `--engine spark`, each in a fresh process, while this process samples the
process tree every half second. Reported per run: wall seconds, leads scored per second, and peak resident
memory of
- the Python driver (the `leadscore` process itself, getrusage RUSAGE_SELF: where a table collected to the
  driver would land; on Spark it should stay flat as leads grow),
- the JVM (in local mode the Spark driver and the executors share it; its VmHWM, bounded by
  spark.driver.memory), and
- the Python workers (the executors' pandas code: the peak of their summed RSS).
A run that does not finish within --timeout seconds is stopped and reported as such. The machine's load
average is printed with each row (the benchmark machine is shared). Results: benchmarks/RESULTS.md, "Scoring on
Spark against the pandas path".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CACHE = Path("/tmp/leadscore-bench-spark")

RUN = (
    "import resource, sys, warnings\n"
    "warnings.filterwarnings('ignore')\n"
    "from pipelines.cli import app\n"
    "try:\n"
    "    app(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n"
    "    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print('PEAK_KIB', self_kib)\n"
)


def _env(store: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


def generate(leads: int, out: Path) -> None:
    """A history with about `leads` leads, written by a child process (once: an existing folder is reused)."""
    if (out / "leads.parquet").exists():
        return
    code = (
        "from pathlib import Path\n"
        "from features.synthetic import GeneratorConfig, generate_history\n"
        "from pipelines.io import write_tables\n"
        f"h = generate_history(GeneratorConfig(accounts={max(1, leads // 3)}, months=12, deal_share=0.3, seed=3))\n"
        f"write_tables(h.tables(), Path({str(out)!r}))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def train(cache: Path, env: dict[str, str]) -> None:
    """The champion every run scores with (once per cache folder)."""
    if (cache / "mlflow.db").exists():
        return
    data = cache / "train-data"
    subprocess.run(
        [BIN / "leadscore", "generate", "--out", str(data)], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [BIN / "leadscore", "train", "--input", str(data), "--set", "model.bootstrap_rounds=20"],
        env=env,
        check=True,
        capture_output=True,
    )


class TreeSampler(threading.Thread):
    """Peak RSS of a process (the Python driver), of its JVM children and of its Python workers (summed),
    sampled every half second (a run stopped at its timeout has no getrusage figure: the sampled one stands)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.jvm_mib = self.workers_mib = self.driver_mib = 0.0

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.is_set():
            workers = 0
            try:
                self.driver_mib = max(self.driver_mib, root.memory_info().rss / 2**20)
                children = root.children(recursive=True)
            except psutil.Error:
                break
            for child in children:
                try:
                    name = child.name()
                    if name == "java":
                        self.jvm_mib = max(
                            self.jvm_mib, _hwm_mib(child.pid) or child.memory_info().rss / 2**20
                        )
                    elif name.startswith("python"):
                        workers += child.memory_info().rss
                except psutil.Error:
                    continue
            self.workers_mib = max(self.workers_mib, workers / 2**20)
            time.sleep(0.5)


def _hwm_mib(pid: int) -> float | None:
    """A process's peak resident memory (VmHWM) from /proc, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def score(args: list[str], env: dict[str, str], timeout: float) -> dict:
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", RUN, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    sampler = TreeSampler(child.pid)
    sampler.start()
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, 9)  # the run's own process group: its JVM and workers too
        child.communicate()
        sampler.done.set()
        return {"seconds": time.perf_counter() - start, "finished": False, **_peaks(sampler)}
    seconds = time.perf_counter() - start
    sampler.done.set()
    sampler.join(2)
    if child.returncode != 0 or "PEAK_KIB" not in out:
        raise RuntimeError(out[-3000:] + err[-3000:])
    self_kib = int(out.rsplit("PEAK_KIB", 1)[1].split()[0])
    return {"seconds": seconds, "finished": True, "driver_mib": self_kib / 1024, **_peaks(sampler)}


def _peaks(sampler: TreeSampler) -> dict:
    return {
        "jvm_mib": sampler.jvm_mib,
        "workers_mib": sampler.workers_mib,
        "driver_sampled_mib": sampler.driver_mib,
    }


def run(
    sizes: list[int], master: str, cache: Path, timeout: float, engines: list[str], sets: list[str] = ()
) -> list[dict]:
    rows = []
    cache.mkdir(parents=True, exist_ok=True)
    env = _env(cache)
    train(cache, env)
    for leads in sizes:
        data = cache / f"crm-{leads}"
        generate(leads, data)
        common = ["score", "--input", str(data), "--as-of", "2026-10-01"]
        for engine in engines:
            out = cache / "out" / f"scores-{engine}-{leads}.parquet"
            extra = ["--engine", "spark", "--spark-master", master] if engine == "spark" else []
            extra += [x for setting in sets for x in ("--set", setting)]
            load = os.getloadavg()[0]
            measured = score([*common, "--output", str(out), *extra], env, timeout)
            row = {"leads": leads, "engine": engine, "load_before": round(load, 1), "load_after": None}
            row["load_after"] = round(os.getloadavg()[0], 1)
            if measured["finished"]:
                manifest = json.loads(out.with_name(f"{out.stem}.manifest.json").read_text())
                row["leads"] = manifest["leads"]["read"]
                row["scored"] = manifest["leads"]["scored"]
                row["scored_per_second"] = round(row["scored"] / measured["seconds"], 1)
            rows.append(row | {k: round(v, 1) if isinstance(v, float) else v for k, v in measured.items()})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run before it is stopped")
    parser.add_argument("--engines", nargs="+", default=["pandas", "spark"], choices=["pandas", "spark"])
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        help="a setting for every run, e.g. spark.adaptive=false",
    )
    args = parser.parse_args()
    for row in run(args.leads, args.master, args.cache, args.timeout, args.engines, args.sets):
        done = f"{row['seconds']:>7.1f} s" if row["finished"] else f"stopped after {row['seconds']:.0f} s"
        rate = f"{row['scored_per_second']:>8.1f} scored/s" if row["finished"] else ""
        driver = f"driver {row.get('driver_mib', row['driver_sampled_mib']):>7.1f} MiB"
        print(
            f"{row['leads']:>9,} leads  {row['engine']:<6}  {done}  {rate}  {driver}  "
            f"JVM {row['jvm_mib']:>7.1f} MiB  workers {row['workers_mib']:>7.1f} MiB  load {row['load_before']}"
        )


if __name__ == "__main__":
    main()
