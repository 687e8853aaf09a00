"""Hostile sweep 23b: interrupted, concurrent and starved runs (signals, a reader that goes away, a tracking
store that fills midway), as a scheduler (cron, Airflow) meets them."""

import copy
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# A leadscore command that stops inside an atomic write (`stall`) or prints a long report and then publishes
# a file (`report`), run through the CLI's entry point as a scheduler runs it.
COMMANDS = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path

    from pipelines import cli, stopping
    from pipelines.console import console
    from pipelines.io import atomic_path
    from pipelines.stopping import Stopped

    stopping.UNWIND_SECONDS = 3.0

    @cli.app.command()
    def linger():  # a thread that never ends: the interpreter waits for it at exit
        threading.Thread(target=threading.Event().wait).start()
        print("started", flush=True)
        time.sleep(60)

    @cli.app.command()
    def hog():
        raise MemoryError

    @cli.app.command()
    def interrupt():  # what pyspark's own SIGINT handler raises (typer made it a silent 130)
        raise KeyboardInterrupt

    @cli.app.command()
    def stall(output: str, library: bool = False):
        with atomic_path(Path(output)) as staged:
            staged.write_text("half of the scores")
            print("staged", flush=True)
            try:
                time.sleep(60)
            except Stopped:
                if library:  # what CatBoost's training loop does with the exception a signal raised
                    raise KeyboardInterrupt
                raise

    @cli.app.command()
    def report(output: str):
        for line in range(5000):
            console.print(f"line {line} of a long report")
        Path(output).write_text("published")
        console.print("done")

    sys.argv = ["leadscore", *sys.argv[1:]]
    cli.app()  # as the installed `leadscore` script runs it
    """
)


def _leadscore(tmp_path: Path, *args: str, **popen) -> subprocess.Popen:
    script = tmp_path / "leadscore_commands.py"
    script.write_text(COMMANDS)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(script), *args], cwd=REPO, env=env, **popen)


@pytest.mark.parametrize("library", [False, True], ids=["plain", "library-keyboard-interrupt"])
@pytest.mark.parametrize(
    ("signum", "code", "words"),
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "a scheduler's timeout")],
)
def test_a_signal_midway_ends_with_its_code_and_a_sentence_leaving_nothing_half_written(
    tmp_path, signum, code, words, library
):
    """SIGTERM killed the process where it stood (a staged file beside the output, an MLflow run RUNNING);
    SIGINT ended it with typer's silent 130, and so did SIGTERM inside CatBoost's training loop."""
    output = tmp_path / "out" / "scores.parquet"
    output.parent.mkdir()
    output.write_text("yesterday's scores")
    args = ["stall", str(output), *(["--library"] if library else [])]
    run = _leadscore(tmp_path, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().strip() == "staged"
        run.send_signal(signum)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == code, (out, err)
    assert "Traceback" not in out + err
    said = " ".join(out.split())
    assert f"stopped: {signal.Signals(signum).name} ({words}" in said and "`leadscore stall`" in said
    assert "nothing of this run was half written and the previous outputs stand: rerun the command" in said
    assert [p.name for p in output.parent.iterdir()] == ["scores.parquet"]  # no staged file left beside it
    assert output.read_text() == "yesterday's scores"


def test_a_run_that_cannot_unwind_after_sigterm_is_ended_all_the_same(tmp_path):
    """A Python handler runs only between bytecodes: a run stuck in native code (pyarrow's reader deadlocks
    under `ulimit -v`) or waiting on a thread would have outlived SIGTERM, which had killed it at once."""
    run = _leadscore(tmp_path, "linger", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().strip() == "started"
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 143
    assert "stopped: SIGTERM" in out  # the sentence first, as the main thread unwound
    assert "did not end the run within 3 s" in " ".join(err.split()) and "Traceback" not in err


def test_a_run_out_of_memory_says_so_with_the_fix(tmp_path):
    run = _leadscore(tmp_path, "hog", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1
    said = " ".join(out.split())
    assert "error: `leadscore hog` ran out of memory (MemoryError)" in said and "`ulimit -v`" in said
    assert "Traceback" not in out + err


def test_a_store_check_out_of_memory_is_not_called_an_unusable_store(mlflow_store, monkeypatch):
    """check_store said "the tracking store ... cannot be used: MemoryError: ; set MLFLOW_TRACKING_URI to a
    store such as ..." (exit 3) for a job short of memory."""
    import mlflow
    from pipelines.store import check_store

    def short_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(mlflow.MlflowClient, "search_experiments", short_of_memory)
    with pytest.raises(MemoryError):
        check_store(mlflow_store)

    def late_import_short_of_memory(*args, **kwargs):  # a library imported late, its .so not mapped
        raise ImportError("libscipy_openblas.so: failed to map segment from shared object")

    monkeypatch.setattr(mlflow.MlflowClient, "search_experiments", late_import_short_of_memory)
    with pytest.raises(ImportError):
        check_store(mlflow_store)


def test_a_reader_that_goes_away_ends_the_printing_not_the_run(tmp_path):
    """`leadscore score ... | head -1`: the next print raised BrokenPipeError and typer ended the run with a
    silent exit 1, whether or not it had published."""
    output = tmp_path / "published.txt"
    run = _leadscore(tmp_path, "report", str(output), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.readline()
    run.stdout.close()  # the reader goes away
    err = run.stderr.read().decode()
    run.wait(timeout=60)
    assert run.returncode == 0, err
    assert output.read_text() == "published"
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "stdout was closed" in err


@pytest.fixture()
def signals_to_stopped(monkeypatch):
    """The CLI's signal handlers for one test, with the stopping module's memory cleared; restored after."""
    from pipelines import stopping

    monkeypatch.setattr(stopping, "_done", {})
    monkeypatch.setattr(stopping, "_arrived", [])
    saved = {signum: signal.getsignal(signum) for signum in stopping.STOPPING_SIGNALS}
    stopping.stop_on_signals()
    yield stopping
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_signals_held_act_when_the_block_ends(signals_to_stopped):
    stopping = signals_to_stopped
    finished = []
    with pytest.raises(stopping.Stopped) as stop, stopping.signals_held():
        os.kill(os.getpid(), signal.SIGTERM)
        with stopping.signals_held():  # nested: one block
            finished.append("inner")
        finished.append("outer")
    assert finished == ["inner", "outer"]
    assert stop.value.exit_code == 143
    with pytest.raises(stopping.Stopped):  # outside a held block the signal acts at once
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("SIGINT did not stop the run")


def _registered(trained):
    """A copy of the TrainResult to register (registering sets its version, run, decision; its scorer's version)."""
    return dataclasses.replace(trained, scorer=copy.copy(trained.scorer), warnings=[])


def test_a_signal_during_registration_stops_the_run_once_the_version_is_gated_and_names_it(
    mlflow_store, fast_config, small_history, trained_small, signals_to_stopped
):
    """A signal between registering a version and gating it left a version with no verdict and its MLflow
    run RUNNING; now the run stops after the gate, saying which version it left and what it lacks."""
    from mlflow import MlflowClient
    from pipelines import registry
    from pipelines.sources import CrmSource
    from pipelines.train import register_and_gate

    stopping = signals_to_stopped
    gate = registry.apply_gate

    def signalled_gate(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # the scheduler's timeout, between registration and verdict
        return gate(*args, **kwargs)

    cfg = fast_config.model_copy(
        update={"registry": fast_config.registry.model_copy(update={"model_card": True})}
    )
    result = _registered(trained_small)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "apply_gate", signalled_gate)
        with pytest.raises(stopping.Stopped) as stop:
            register_and_gate(
                result,
                cfg,
                CrmSource(small_history.tables(), location="crm/"),
                config_path=None,
                force_reason=None,
                trigger="leadscore train",
            )
    client = MlflowClient()
    version = client.get_model_version("leadscore", result.version)
    assert version.tags["gate.decision"] == "promoted"
    assert client.get_model_version_by_alias("leadscore", "champion").version == version.version
    assert client.get_run(version.run_id).info.status == "FINISHED"
    said = stopping.stopped_sentence(stop.value, "train")
    assert f"version {result.version} of 'leadscore' was registered and promoted to champion" in said
    assert f"`leadscore card --model models:/leadscore/{result.version} --input crm/`" in said


@pytest.mark.parametrize(
    ("sqlite_says", "sentence"),
    [
        ("database or disk is full", r"could not be written \(database or disk is full: a full disk"),
        ("database is locked", r"is locked by another process \(a write in progress"),
    ],
)
def test_a_tracking_store_that_fills_or_locks_midway_takes_the_version_back_and_says_so(
    mlflow_store, fast_config, small_history, trained_small, sqlite_says, sentence
):
    """sqlite's "database or disk is full" (or "disk I/O error" past `ulimit -f`), or a store another process
    held past sqlite's timeout, while a registered version's metrics were logged: MLflow's traceback (exit 1),
    the version left registered with no verdict."""
    from mlflow.exceptions import MlflowException

    import mlflow
    from mlflow import MlflowClient
    from pipelines import tracking
    from pipelines.io import OutputError

    def store_full(*args, **kwargs):
        raise MlflowException(f"(sqlite3.OperationalError) {sqlite_says}")

    result = _registered(trained_small)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mlflow, "log_metrics", store_full)
        with pytest.raises(OutputError, match=sentence) as error:
            tracking.log_training_run(
                result,
                fast_config,
                small_history.tables(),
                location="",
                config_path=None,
                force_reason=None,
                trigger="leadscore train",
            )
    assert mlflow_store in str(error.value) and str(error.value).endswith(
        "it had registered (1) was taken back"
    )
    assert MlflowClient().search_model_versions("name='leadscore'") == []
    assert [run.info.status for run in MlflowClient().search_runs(["0", "1"])] in ([], ["FAILED"])


def test_a_server_stopped_by_a_signal_ends_normally_and_removes_its_model_copy(monkeypatch, tmp_path):
    """uvicorn raises SIGTERM again once it has shut down: with one worker the process died by it (exit
    -15), leaving its /tmp copy of the model behind; with the CLI's handler it would read as a stopped run."""
    import uvicorn

    from pipelines import serve
    from pipelines.stopping import Stopped

    copies = []

    def download(uri, folder):
        copies.append(Path(folder))
        return folder

    def shut_down_by_signal(*args, **kwargs):
        raise Stopped(signal.SIGTERM)

    monkeypatch.setattr(serve, "download_model", download)
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda *args: object())
    monkeypatch.setattr(uvicorn, "run", shut_down_by_signal)
    serve.run_serve("models:/leadscore@champion", "127.0.0.1", 5001, 1)
    assert copies and not copies[0].exists()


def test_sighup_ends_a_one_worker_server_as_sigterm_does():
    """Review of sweep 23b: uvicorn handles SIGINT and SIGTERM; SIGHUP reached the CLI's handler, whose
    Stopped was raised inside uvicorn's event loop, logged, and the server kept serving. While it serves,
    SIGHUP is SIGTERM (uvicorn's clean shutdown), and the handler before it is back afterwards."""
    from pipelines.stopping import hangup_ends_the_server

    got: list[int] = []

    def before(
        signum: int, frame: object
    ) -> None:  # a handler of the host's (a runner under nohup ignores it)
        got.append(-signum)

    old_term = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    old_hup = signal.signal(signal.SIGHUP, before)
    try:
        with hangup_ends_the_server():
            signal.raise_signal(signal.SIGHUP)
        assert got == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGHUP) is before
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # started ignoring it (nohup): it stays ignored
        with hangup_ends_the_server():
            signal.raise_signal(signal.SIGHUP)
        assert got == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGHUP, old_hup)


def test_a_file_past_the_jobs_file_size_limit_is_named_with_that_fix(tmp_path):
    """`ulimit -f` (Python ignores SIGXFSZ, so the write fails with EFBIG) was told to "check the folder and
    the disk", and a streamed run named its hidden working folder rather than the output."""
    import errno

    from pipelines.io import OutputError, writing

    output = tmp_path / "scores.parquet"
    with pytest.raises(OutputError) as error, writing(output):
        raise OSError(errno.EFBIG, "Error writing bytes to file. Detail: [errno 27] File too large")
    said = str(error.value)
    assert (
        said.startswith(f"cannot write {output}: ")
        and "raise the file size limit of the job (`ulimit -f`)" in said
    )
    from pipelines.store import artifacts_unwritable  # the model's files in the tracking store too

    said = artifacts_unwritable(tmp_path, OSError(errno.EFBIG, "File too large"))
    assert (
        "(File too large); raise the job's file size limit (`ulimit -f`), or set MLFLOW_TRACKING_URI" in said
    )


def test_a_version_whose_champion_changed_while_it_trained_is_not_promoted(
    mlflow_store, fast_config, small_history, trained_small
):
    """Two training jobs at once on one registry: each was compared with the champion it started with and
    both were promoted, the later replacing the other uncompared (and a second first model was refused as
    "trained on another source or spec")."""
    from mlflow import MlflowClient
    from pipelines.tracking import log_training_run
    from tests.conftest import register_champion

    first = register_champion(mlflow_store, small_history, trained_small)  # the other job, finished first
    second = dataclasses.replace(
        _registered(trained_small), champion_at_start=""
    )  # it started on no champion
    log_training_run(
        second,
        fast_config,
        small_history.tables(),
        location="",
        config_path=None,
        force_reason=None,
        trigger="leadscore train",
    )
    assert not second.decision.promote
    assert second.decision.reasons == (
        f"the champion changed while this version trained: version {first.version} was promoted meanwhile by "
        f"another run, and this one was compared with no champion (a first model); rerun to compare it with "
        f'version {first.version}, or promote it with --force "reason"',
    )
    assert str(MlflowClient().get_model_version_by_alias("leadscore", "champion").version) == first.version


@pytest.mark.parametrize(
    ("at_start", "now", "moved"),
    [
        (None, "3", False),
        ("3", "3", False),
        ("3", None, False),
        ("", None, False),
        ("2", "3", True),
        ("", "1", True),
    ],
)
def test_the_champion_moved_only_when_another_version_holds_it_than_at_the_start(at_start, now, moved):
    from types import SimpleNamespace

    from pipelines.registry import champion_moved

    champion = None if now is None else SimpleNamespace(version=now)
    assert (champion_moved(at_start, champion) is not None) == moved


def test_mlflow_logs_no_traceback_for_a_database_error_the_cli_says_itself():
    """A tracking store that filled printed MLflow's logged tracebacks (SQLAlchemy's, twice) above the
    sentence that names the store; MLFLOW_LOGGING_LEVEL set by the user shows them again."""
    logs = (
        "import logging, mlflow.store.db.utils\n"
        "import pipelines.cli\n"
        "try:\n    raise OSError('database or disk is full')\n"
        "except OSError:\n    logging.getLogger('mlflow.store.db.utils').exception('SQLAlchemy database error')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_LOGGING_LEVEL"}
    quiet = subprocess.run(
        [sys.executable, "-c", logs],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    asked = subprocess.run(
        [sys.executable, "-c", logs],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO), "MLFLOW_LOGGING_LEVEL": "ERROR"},
        capture_output=True,
        text=True,
    )
    assert "Traceback" in asked.stderr


def test_configuration_and_spec_files_read_as_utf8_whatever_the_locale(tmp_path):
    """Under a locale that is not UTF-8 (a cron job's, a Latin-1 server's) the configuration was read in the
    locale's encoding: the shipped one was refused as "not UTF-8 text", a spec's `Número` read as mojibake."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("label_column: Número\n", encoding="utf-8")
    read = (
        "import sys\nfrom pathlib import Path\nfrom pipelines.settings import _read_yaml, load_config\n"
        "load_config()\nprint(ascii(_read_yaml(Path(sys.argv[1]))['label_column']))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LC_ALL": "C",
        "PYTHONUTF8": "0",
        "PYTHONCOERCECLOCALE": "0",
    }
    run = subprocess.run(
        [sys.executable, "-c", read, str(spec)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ascii("Número")


def test_a_store_that_locks_after_the_commands_checks_is_said_with_what_the_run_left(capsys, monkeypatch):
    """Any command (a retrain logging its report, `card` logging a card) met MLflow's "database is locked" or
    "database or disk is full" as a traceback once past the store's check at its start."""
    import typer
    from mlflow.exceptions import MlflowException

    from pipelines import stopping
    from pipelines.cli import expected_failures

    monkeypatch.setattr(
        stopping, "_done", {"version": "version 4 of 'leadscore' was registered and promoted"}
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////store/mlflow.db")
    with pytest.raises(typer.Exit) as ended, expected_failures("retrain"):
        raise MlflowException("(sqlite3.OperationalError) database is locked")
    assert ended.value.exit_code == 3
    said = " ".join(capsys.readouterr().out.split())
    assert (
        "error: the tracking store sqlite:////store/mlflow.db (MLFLOW_TRACKING_URI) is locked by another"
        in said
    )
    assert said.endswith("end that process; version 4 of 'leadscore' was registered and promoted")
    with (
        pytest.raises(MlflowException),
        expected_failures("retrain"),
    ):  # MLflow's other errors are not said so
        raise MlflowException("RESOURCE_DOES_NOT_EXIST: run 'x' not found")


def test_a_signal_amid_publishing_waits_for_the_whole_set(tmp_path, monkeypatch, signals_to_stopped):
    """Scores, quarantine and manifest are renamed into place one by one: a signal between two renames (or
    amid undoing them) left one run's scores beside another's manifest."""
    from pipelines import io

    stopping = signals_to_stopped
    staged = []
    for name in ("scores.parquet", "scores.quarantine.csv", "scores.manifest.json"):
        (tmp_path / name).write_text("yesterday")
        (tmp_path / f".{name}.new.tmp").write_text("today")
        staged.append((tmp_path / f".{name}.new.tmp", tmp_path / name))
    replace = os.replace

    def signalled_replace(source, target):
        if str(source).endswith(".new.tmp") and Path(target).name == "scores.parquet":
            os.kill(os.getpid(), signal.SIGTERM)  # the scheduler's timeout, after the first rename's setup
        replace(source, target)

    monkeypatch.setattr(io.os, "replace", signalled_replace)
    with pytest.raises(stopping.Stopped):
        io.publish_together(staged)
    assert {target.read_text() for _, target in staged} == {"today"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(target.name for _, target in staged)


def test_an_output_where_a_folder_stands_is_named_with_that_fix(tmp_path):
    """`validate --quarantine q.csv`, `evaluate --output r.json`, `queue --output calls.csv` onto a folder of
    that name: "Is a directory; check the folder and the disk", a fix that does not fit."""
    import errno

    from pipelines.io import OutputError, writing

    with pytest.raises(OutputError) as error, writing(tmp_path / "q.csv"):
        raise OSError(errno.EISDIR, "Is a directory")
    assert "Is a directory; a folder has that name: name a file, or remove the folder" in str(error.value)


def test_a_signal_the_job_was_started_ignoring_stays_ignored(tmp_path):
    """`nohup leadscore train &` ignores SIGHUP (and a shell's background job SIGINT): installing the handler
    regardless would stop the run when the terminal closes."""
    output = tmp_path / "scores.parquet"
    ignore = (
        "import signal, subprocess, sys\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"  # as nohup starts it; the child inherits SIG_IGN
        "sys.exit(subprocess.call([sys.executable, *sys.argv[1:]]))\n"
    )
    script = tmp_path / "leadscore_commands.py"
    script.write_text(COMMANDS)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.Popen(
        [sys.executable, "-c", ignore, str(script), "stall", str(output)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert run.stdout.readline().strip() == "staged"
        os.killpg(run.pid, signal.SIGHUP)  # ignored by both
        os.killpg(run.pid, signal.SIGTERM)
        out, _ = run.communicate(timeout=30)
    finally:
        run.kill()
    assert "stopped: SIGTERM" in out and "SIGHUP" not in out


def test_a_keyboard_interrupt_a_library_raises_on_its_own_is_said_as_ctrl_c(tmp_path):
    run = _leadscore(tmp_path, "interrupt", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert "stopped: SIGINT (Ctrl-C) stopped `leadscore interrupt`" in " ".join(out.split())
    assert "Traceback" not in out + err


def test_the_model_cards_page_and_markdown_are_published_together(tmp_path, monkeypatch):
    """model_card.html and model_card.md were each written atomically but one after the other: a run stopped
    or failing between the two left the new page beside the old Markdown."""
    from pipelines import io
    from pipelines.io import OutputError, write_texts_together

    page, markdown = tmp_path / "model_card.html", tmp_path / "model_card.md"
    page.write_text("version 3")
    markdown.write_text("version 3")
    write_text = Path.write_text

    def disk_fills_on_the_second(path, text, *args, **kwargs):
        if "model_card.md" in path.name:
            raise OSError(28, "No space left on device")
        return write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(io.Path, "write_text", disk_fills_on_the_second)
    with pytest.raises(OutputError, match="model_card.md: No space left on device"):
        write_texts_together({page: "version 4", markdown: "version 4"})
    monkeypatch.undo()
    assert (page.read_text(), markdown.read_text()) == ("version 3", "version 3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_card.html", "model_card.md"]
    write_texts_together({page: "version 4", markdown: "version 4"})
    assert (page.read_text(), markdown.read_text()) == ("version 4", "version 4")


def test_commands_run_one_after_another_in_a_process_start_clean(monkeypatch):
    """A process that runs several commands (a notebook, a test harness) had one watcher thread and one
    wakeup pipe more per command, and a command stopped after an earlier one registered a version named it."""
    import threading

    from pipelines import stopping

    monkeypatch.setattr(stopping, "_done", {"version": "version 4 of 'leadscore' was registered"})
    monkeypatch.setattr(stopping, "_arrived", [signal.SIGTERM])
    with stopping.stopping_command():
        assert [t.name for t in threading.enumerate()].count(stopping.WATCHER) == 1
        assert stopping.arrived() is None
        assert "version 4" not in stopping.stopped_sentence(stopping.Stopped(signal.SIGTERM), "score")


def test_a_command_run_in_process_gives_the_host_its_signals_back():
    """Review of sweep 23b: a command run in-process (a notebook, a program calling `app`) left leadscore's
    handlers and wakeup fd installed and its watcher running: a later Ctrl-C the host handled raised Stopped,
    and 30 s later the watcher ended the host with exit 130; an event loop's signal callbacks stopped firing. A
    command run from a worker thread failed before it started ("signal only works in main thread")."""
    import threading
    import time

    from pipelines.cli import app
    from pipelines.stopping import WATCHER

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    fd_before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd_before)
    with pytest.raises(SystemExit) as ended:
        app(["--help"])
    assert ended.value.code == 0
    assert {s: signal.getsignal(s) for s in before} == before
    assert signal.set_wakeup_fd(fd_before) == fd_before
    time.sleep(0.2)
    assert WATCHER not in [t.name for t in threading.enumerate()]

    codes: list[object] = []

    def run() -> None:
        try:
            app(["--help"])
        except SystemExit as stop:
            codes.append(stop.code)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert codes == [0]


def test_out_of_memory_is_told_from_other_import_errors():
    from pipelines.stopping import out_of_memory

    assert out_of_memory(MemoryError())
    assert out_of_memory(ImportError("libscipy_openblas.so: failed to map segment from shared object"))
    assert not out_of_memory(
        ImportError("No module named 'psycopg2'")
    )  # a store's missing driver: the store's
    # A library on a noexec mount: glibc's same words, with the reason (review of sweep 23b).
    assert not out_of_memory(
        ImportError("libcatboostmodel.so: failed to map segment from shared object: Operation not permitted")
    )
