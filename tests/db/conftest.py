"""Fixtures for the database tests: a real PostgreSQL server for the session, DuckDB files, the trained scorer.

The server is Debian's postgresql (installed by scripts/install-system-deps.sh from `make test`): a fresh
cluster in a temporary folder, on 127.0.0.1 and a free port, trust authentication, stopped at the end of the
session. Without the binaries the PostgreSQL tests are skipped on a developer's machine and fail in CI.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from features.synthetic import GeneratorConfig, generate_history

SMALL_HISTORY = GeneratorConfig(accounts=300, months=6)


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl, or None."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    found = [p for p in found if (p / "pg_ctl").exists()]
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as `postgres` when we are root."""
    if os.geteuid() != 0:
        return command
    return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], cwd: Path, log: Path | None = None) -> None:
    """Run a server command in `cwd`, a folder the server user can enter (the checkout may be root's)."""
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=120, cwd=cwd)
    if done.returncode != 0:
        server_log = log.read_text() if log and log.exists() else ""
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}\n{server_log}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database on a private server started for this test session; its SQLAlchemy URL."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Under /tmp (world-traversable) rather than pytest's tmp_path (root-only), so `postgres` can use it.
    root = Path(tempfile.mkdtemp(prefix="leadscore-pg-", dir="/tmp"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    port = free_port()
    pg_ctl = str(bin_dir / "pg_ctl")
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    try:
        _run([*initdb, "--locale=C", "--no-sync"], root)
        _run([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"], root, log)
        import psycopg

        server = f"host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"
        with psycopg.connect(server, autocommit=True) as c:
            c.execute("CREATE DATABASE leadscore_test")
        # sslmode: a developer's PGSSLMODE=require must not break this private, SSL-less server.
        yield f"postgresql://postgres@127.0.0.1:{port}/leadscore_test?sslmode=disable"
    finally:
        if (data / "postmaster.pid").exists():
            _run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], root, log)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def postgres_schema(postgres_url) -> Iterator[str]:
    """A fresh schema per test (dropped afterwards), so tests never see each other's tables."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture()
def duckdb_url(tmp_path) -> str:
    return f"duckdb:///{tmp_path / 'crm.duckdb'}"


@pytest.fixture(params=["duckdb", "postgresql"])
def database(request, tmp_path) -> tuple[str, str]:
    """(URL, table prefix) for each backend: a DuckDB file, or a fresh schema on the session's server."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'crm.duckdb'}", ""
    return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema") + "."


@pytest.fixture(scope="session")
def crm_history():
    return generate_history(SMALL_HISTORY)


@pytest.fixture(scope="session")
def trained_scorer(small_history, small_scorer):
    """The session's small history and the LeadScorer trained once on it, as version 1 (tests/conftest.py)."""
    return small_history, small_scorer
