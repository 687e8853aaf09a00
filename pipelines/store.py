"""The MLflow tracking store: where it is, and (a local sqlite file) created and migrated under a lock."""

from __future__ import annotations

import errno
import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.io import InputError
from pipelines.settings import tracking_uri
from pipelines.stopping import out_of_memory

_READY: set[str] = set()  # tracking URIs whose store this process has created or checked under the lock


class TrackingStoreError(InputError):
    """The tracking store cannot be used: an unknown scheme, a file that is no database, a server that does
    not answer (exit code 3, one sentence naming MLFLOW_TRACKING_URI)."""


def setup(experiment: str | None = None) -> str:
    """Point MLflow at the tracking URI; create the experiment with artifacts under mlflow/ when local."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri in _READY and experiment is None:
        return uri  # created and migrated by an earlier call in this process
    if uri not in _READY:
        check_store(uri)
    with _store_lock(uri):
        if experiment is not None and mlflow.get_experiment_by_name(experiment) is None:
            location = None
            if uri.startswith("sqlite:///"):
                location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
            mlflow.create_experiment(experiment, artifact_location=location)
    _READY.add(uri)
    if experiment is not None:
        mlflow.set_experiment(experiment)
    return uri


def check_store(uri: str) -> None:
    """TrackingStoreError when the tracking and registry stores at `uri` do not answer a first question
    (MLflow's own exception, e.g. UnsupportedModelRegistryStoreURIException or sqlite's "file is not a
    database", reached the user as a traceback)."""
    from mlflow import MlflowClient

    try:
        with _store_lock(uri):  # a local sqlite store is created and migrated here, under the lock
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
    except Exception as error:  # noqa: BLE001 - whatever MLflow, SQLAlchemy or requests raise: said, exit 3
        if out_of_memory(
            error
        ):  # the job's, not the store's: said as such by the CLI (it was "cannot be used")
            raise
        reason = " ".join(str(error).split())
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        if STORE_LOCKED in reason:  # a store that works, held by another process: another fix
            raise TrackingStoreError(locked_sentence(uri)) from None
        raise TrackingStoreError(
            f"the tracking store {uri} (MLFLOW_TRACKING_URI) cannot be used: {error.__class__.__name__}: {reason}; "
            "set MLFLOW_TRACKING_URI to a store such as sqlite:///path/mlflow.db or http://host:5000, or unset "
            "it for the project's mlflow/ folder"
        ) from None


def check_artifacts_writable(experiment: str) -> None:
    """OutputError naming the folder when the experiment's artifacts cannot be written on this machine (a
    read-only or full disk, no permission): found before training rather than after, when the run is logged."""
    import tempfile
    from urllib.parse import unquote, urlparse

    import mlflow
    from pipelines.io import OutputError

    setup(experiment)
    found = mlflow.get_experiment_by_name(experiment)
    location = urlparse(found.artifact_location) if found is not None else None
    if location is None or location.scheme not in ("", "file"):
        return  # a server's artifact store: it answers for itself
    folder = Path(unquote(location.path))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".leadscore-write-check-"):
            pass
    except OSError as error:
        raise OutputError(artifacts_unwritable(folder, error)) from None


def artifacts_unwritable(folder: Path | str, error: OSError, left: str = "no version was registered") -> str:
    """One sentence for a tracking store whose artifact folder cannot be written; `left` says what of the run
    the store holds."""
    fix = (
        "raise the job's file size limit (`ulimit -f`)"
        if error.errno == errno.EFBIG
        else "give the account running leadscore write access to it, free disk space"
    )
    return (
        f"the tracking store's artifact folder {folder} cannot be written ({error.strerror or error}); {fix}, "
        f"or set MLFLOW_TRACKING_URI to a store it can write; {left}"
    )


# What sqlite says when a write needs room it cannot get: a full disk, or the database file (or its journal)
# grown past the file size limit of the process (`ulimit -f`); and when another process holds it too long.
STORE_FULL = ("database or disk is full", "disk I/O error")
STORE_LOCKED = "database is locked"


def store_failed_midway(error: BaseException) -> str | None:
    """The sentence for MLflow's error from a tracking store that filled or was locked while a command used it
    (after the checks at its start), with what the run left (pipelines.stopping); None for any other error."""
    exceptions = sys.modules.get("mlflow.exceptions")
    if exceptions is None or not isinstance(error, exceptions.MlflowException):
        return None
    from pipelines.stopping import left_behind

    return store_unwritable(tracking_uri(), error, left_behind())


def locked_sentence(uri: str) -> str:
    return (
        f"the tracking store {uri} (MLFLOW_TRACKING_URI) is locked by another process (a write in progress, or "
        "a program stopped in the middle of one, such as `sqlite3` left open); rerun when it has finished, or "
        "end that process"
    )


def store_unwritable(uri: str, error: BaseException, left: str = "no version was registered") -> str | None:
    """One sentence for a tracking store that stopped answering midway, full or locked by another process
    (a training run's registration or verdict: MLflow's traceback, exit 1, before); None for other errors."""
    if STORE_LOCKED in str(error):
        return f"{locked_sentence(uri)}; {left}"
    found = next((words for words in STORE_FULL if words in str(error)), None)
    if found is None:
        return None
    return (
        f"the tracking store {uri} (MLFLOW_TRACKING_URI) could not be written ({found}: a full disk, or a "
        "database file past this process's file size limit, `ulimit -f`); free disk space or raise the limit, "
        f"or set MLFLOW_TRACKING_URI to a store it can write, and rerun; {left}"
    )


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Hold a file lock beside a local sqlite store while it is created or migrated and the experiment made:
    two jobs starting at once on a fresh store would otherwise race in mlflow's schema migration."""
    import mlflow

    if not uri.startswith("sqlite:///"):
        yield
        return
    database = Path(uri.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.parent / f".{database.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            mlflow.search_experiments(max_results=1)  # creates and migrates the store under the lock
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
