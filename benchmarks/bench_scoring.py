"""Scoring at scale: peak memory of batch scoring 2,000,000 leads, and online latency through the endpoint.

Run: .venv/bin/python -m benchmarks.bench_scoring [--leads 2000000] [--requests 300] [--online-only]
     .venv/bin/python -m benchmarks.bench_scoring --concurrent-only [--clients 8] [--per-client 100]

Peak memory is the maximum resident set of the `leadscore score` process (a child process, so nothing else of
this script counts), read from getrusage. Online latency is one lead per request, with reasons, sequential,
through `leadscore serve` on loopback, after a warm-up; p50 and p99 of the client-side round trip, for a client
that opens a connection per request and one that keeps its connection open. The reference is the same
`mlflow models serve` with a model that does nothing (its own round trip: HTTP, JSON, signature checks),
running at the same time: each lead goes to both servers in turn, so both see the same machine. Also
measured: the artifact's predict in-process, without a server.

Under concurrent load (`concurrent_lines`): 8 clients, each with its own kept-open connection, send one lead
per request as fast as they are answered, N requests each (bounded in time too), to one server at a time:
`leadscore serve` with its default workers (one per core), `leadscore serve --workers 1`, and the do-nothing
model under `mlflow models serve` with as many workers; throughput (answered requests per second of wall
time), p50 and p99 of the round trip. Then the same load on `leadscore serve` while one more client sends a
50 MB body: the time until its 413, and the other requests' p50 and p99 meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


def _request_bodies(data: Path, requests: int) -> list[bytes]:
    """One request per lead (the busiest leads: most activities), with reasons, as `leadscore serve` takes it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from models.lead_input import tables_to_lead_rows
    from pipelines.io import read_tables

    tables = read_tables(data)
    busy = tables["activities"]["lead_id"].value_counts().index[:requests].tolist()
    rows = tables_to_lead_rows(tables, busy)
    return [
        json.dumps(
            {
                "dataframe_records": json.loads(rows.iloc[[i]].to_json(orient="records")),
                "params": {"as_of": "2026-10-01"},
            }
        ).encode()
        for i in range(len(rows))
    ]


ECHO_MODEL = """
import sys
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

class Echo(PythonModel):
    \"\"\"Does nothing: the round trip of `mlflow models serve` itself, with the champion's signature.\"\"\"

    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"lead_id": model_input["lead_id"], "score": 0.5})

signature = mlflow.models.get_model_info("models:/leadscore@champion").signature
mlflow.pyfunc.save_model(sys.argv[1], python_model=Echo(), signature=signature)
"""


def _echo_model(work: Path, env: dict[str, str]) -> Path:
    path = work / "echo-model"
    if path.exists():  # saved by the sequential section of the same run
        return path
    subprocess.run([sys.executable, "-c", ECHO_MODEL, str(path)], env=env, check=True, capture_output=True)
    return path


CLIENTS = ("a new connection per request", "one connection kept open")


def _start_server(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """A model server started with `--port PORT`, once it answers /ping."""
    port = _free_port()
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
            return server, port
        except OSError:
            time.sleep(0.5)
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError(f"{command[0]} did not answer /ping within 180 s")


def _call(port: int, body: bytes, connection: http.client.HTTPConnection | None) -> float:
    """One request's round trip (ms), on a new connection or on the one given."""
    start = time.perf_counter()
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    if connection is None:
        conn.close()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status} from the model server")
    return elapsed


def _latencies(
    commands: dict[str, list[str]], env: dict[str, str], bodies: list[bytes]
) -> dict[tuple[str, str], np.ndarray]:
    """Client-side round trips (ms) of sequential requests, per (server, client).

    All servers run at once and every lead is sent to each server by each client in turn, so that all see
    the same machine (it is shared, and its speed drifts within minutes). One client opens a new connection
    per request, the other keeps one connection open (as a web backend's HTTP pool does).
    """
    servers = {name: _start_server(command, env) for name, command in commands.items()}
    try:
        kept = {
            name: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for name, (_, port) in servers.items()
        }
        times: dict[tuple[str, str], list[float]] = {(n, c): [] for n in servers for c in CLIENTS}
        for k, body in enumerate([*bodies[:20], *bodies]):  # the first 20 warm up
            for name, (_, port) in servers.items():
                for client, connection in zip(CLIENTS, (None, kept[name]), strict=True):
                    elapsed = _call(port, body, connection)
                    if k >= 20:
                        times[name, client].append(elapsed)
        for connection in kept.values():
            connection.close()
        return {key: np.array(values) for key, values in times.items()}
    finally:
        for server, _ in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


IN_PROCESS = """
import json, sys, time
import mlflow
import numpy as np
import pandas as pd

model = mlflow.pyfunc.load_model("models:/leadscore@champion")
frames = [pd.DataFrame(json.loads(line)["dataframe_records"]) for line in sys.stdin]
params = {"as_of": "2026-10-01"}
for frame in frames[:20]:
    model.predict(frame, params=params)
times = []
for frame in frames:
    start = time.perf_counter()
    model.predict(frame, params=params)
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps(times))
"""


def _in_process(bodies: list[bytes], env: dict[str, str]) -> np.ndarray:
    """pyfunc predict times (ms) of the same requests, in a process of its own, without the server."""
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS],
        input=b"\n".join(bodies),
        env=env,
        check=True,
        capture_output=True,
    )
    return np.array(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def online_lines(data: Path, work: Path, env: dict[str, str], requests: int) -> list[str]:
    """Online latency through `leadscore serve`, against mlflow's own round trip for a model doing nothing."""
    bodies = _request_bodies(data, requests)
    echo = _echo_model(work, env)
    commands = {
        "ours": [str(BIN / "leadscore"), "serve"],
        "nothing": [str(BIN / "mlflow"), "models", "serve", "-m", str(echo), "--env-manager", "local"],
    }
    times = _latencies(commands, env, bodies)
    predict = _in_process(bodies, env)

    def p(values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q))

    lines = []
    for client in CLIENTS:
        ours, nothing = times["ours", client], times["nothing", client]
        lines += [
            f"| online, 1 lead with reasons, {client}: p50 | {p(ours, 50):.1f} ms | at most 10 ms |",
            f"| online, 1 lead with reasons, {client}: p99 | {p(ours, 99):.1f} ms | at most 25 ms |",
            f"| reference: same server and client, a model that does nothing: p50 / p99 | "
            f"{p(nothing, 50):.1f} / {p(nothing, 99):.1f} ms | |",
            f"| added by leadscore (p50 of the per-lead difference) | {p(ours - nothing, 50):.1f} ms | |",
        ]
    return [
        *lines,
        f"| pyfunc predict of 1 lead in-process (no server): p50 / p99 | {p(predict, 50):.1f} / "
        f"{p(predict, 99):.1f} ms | |",
    ]


def _load(
    port: int, bodies: list[bytes], clients: int, per_client: int, seconds: float
) -> tuple[float, np.ndarray]:
    """Wall time and round trips (ms) of `clients` clients sending `per_client` requests each (at most
    `seconds` long), each on its own kept-open connection, all started together."""
    times: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start_together = threading.Barrier(clients + 1)
    deadline = time.perf_counter() + seconds + 60

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start_together.wait()
        for i in range(per_client):
            if time.perf_counter() > deadline:
                break
            try:
                times[k].append(_call(port, bodies[(k * per_client + i) % len(bodies)], connection))
            except (OSError, RuntimeError, http.client.HTTPException) as error:
                failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + seconds
    start_together.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed under load, e.g. {failures[0]}")
    return wall, np.concatenate([np.array(t) for t in times])


def _big_request(port: int, size: int, after: float, out: dict[str, float]) -> None:
    """After `after` seconds, one request with a `size`-byte body: the seconds until its answer, and its status."""
    body = b'{"dataframe_records": [{"lead_id": "L-big", "email": "big@example.com", "job_title": "'
    body += b"x" * (size - len(body) - 4) + b'"}]}'
    time.sleep(after)
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    out["seconds"], out["status"] = time.perf_counter() - start, response.status
    connection.close()


def concurrent_lines(
    data: Path, work: Path, env: dict[str, str], clients: int = 8, per_client: int = 100, seconds: float = 30
) -> list[str]:
    """Throughput, p50 and p99 under `clients` concurrent clients, per server; and a 50 MB request meanwhile."""
    from pipelines.serve import default_workers

    bodies = _request_bodies(data, 200)
    echo = _echo_model(work, env)
    cores = default_workers()
    commands = {
        f"leadscore serve ({cores} workers, the default)": [str(BIN / "leadscore"), "serve"],
        "leadscore serve --workers 1": [str(BIN / "leadscore"), "serve", "--workers", "1"],
        f"reference: a model that does nothing, mlflow models serve --workers {cores}": [
            *[str(BIN / "mlflow"), "models", "serve", "-m", str(echo), "--env-manager", "local"],
            *["--workers", str(cores)],
        ],
    }
    lines = []
    results = {}
    for name, command in commands.items():
        server, port = _start_server(command, env)
        try:
            _load(port, bodies, clients, 5, seconds)  # warm-up: every worker loads and runs once
            wall, times = _load(port, bodies, clients, per_client, seconds)
            results[name] = len(times) / wall
            lines.append(
                f"| {clients} clients x {per_client}, {name}: throughput / p50 / p99 | {len(times) / wall:.0f} "
                f"req/s / {np.percentile(times, 50):.0f} / {np.percentile(times, 99):.0f} ms | "
                + ("at least 70 req/s (1.6 x 44); p99 at most 150 ms |" if "default" in name else "|")
            )
            if "default" in name:
                big: dict[str, float] = {}
                sender = threading.Thread(target=_big_request, args=(port, 50_000_000, 1.0, big))
                sender.start()
                wall, times = _load(port, bodies, clients, per_client, seconds)
                sender.join()
                lines += [
                    f"| the same, while one more client sends a 50 MB body: answered {big['status']:.0f} in | "
                    f"{big['seconds'] * 1000:.0f} ms | 413 in under 1 s |",
                    f"| the same: the other requests' throughput / p50 / p99 meanwhile | {len(times) / wall:.0f} "
                    f"req/s / {np.percentile(times, 50):.0f} / {np.percentile(times, 99):.0f} ms | p99 at most "
                    "150 ms |",
                ]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    ours, one = results[next(iter(commands))], results["leadscore serve --workers 1"]
    return [*lines, f"| throughput, default workers / 1 worker (same run) | {ours / one:.2f}x | |"]


def run(
    leads: int = 2_000_000,
    requests: int = 300,
    online_only: bool = False,
    concurrent_only: bool = False,
    clients: int = 8,
    per_client: int = 100,
) -> str:
    work = Path(tempfile.mkdtemp(prefix="leadscore-bench-scoring-"))
    try:
        store = work / "mlflow"
        store.mkdir()
        env = _env(store)
        data = _train_champion(work, env)
        lines = ["| measure | value | target |", "| --- | ---: | --- |"]
        accounting = ""
        if concurrent_only:
            return "\n".join([*lines, *concurrent_lines(data, work, env, clients, per_client)])
        if not online_only:
            lines_batch, accounting = _batch_lines(leads, work, env)
            lines += lines_batch
        lines += online_lines(data, work, env, requests)
        lines += concurrent_lines(data, work, env, clients, per_client)
        return "\n".join([*lines, "", accounting] if accounting else lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _batch_lines(leads: int, work: Path, env: dict[str, str]) -> tuple[list[str], str]:
    big = work / "big"
    _generate_big(leads, big)
    out = work / "scores.parquet"
    score = [BIN / "leadscore", "score", "--input", big, "--as-of", "2026-10-01", "--output", out]
    seconds, peak, output = _peak_rss_of([*map(str, score), "--no-reasons"], env)
    seconds_r, peak_r, _ = _peak_rss_of(list(map(str, score)), env)
    read = next((line for line in output.splitlines() if "read" in line), "")
    scored = next((line for line in output.splitlines() if "scored" in line), "")
    lines = [
        f"| batch, {leads:,} leads, no reasons: peak memory | {peak:.2f} GiB | under 2 GiB |",
        f"| batch, {leads:,} leads, no reasons: wall time | {seconds:.0f} s | |",
        f"| batch, {leads:,} leads, with reasons: peak memory | {peak_r:.2f} GiB | under 2 GiB |",
        f"| batch, {leads:,} leads, with reasons: wall time | {seconds_r:.0f} s | |",
    ]
    return lines, f"Batch accounting lines: `{read.strip()}`, `{scored.strip()}`"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--online-only", action="store_true", help="skip the 2,000,000-lead batch")
    parser.add_argument("--concurrent-only", action="store_true", help="only the concurrent online load")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--per-client", type=int, default=100, help="requests per client and server")
    args = parser.parse_args()
    print(
        run(args.leads, args.requests, args.online_only, args.concurrent_only, args.clients, args.per_client)
    )
