"""Fixtures shared by every test package: one small synthetic history, trained on once per run.

Training is the slow part of the suite, so the models here are trained once and shared, also between the
pytest-xdist workers of a run (the first worker to need one builds it under a lock and leaves it in the run's
temporary folder; the others read it). They are read-only by contract: a test that changes a scorer, a result
or a registry takes a copy, or trains into its own `mlflow_store` (tests/pipelines/conftest.py).
`champion_store` checks after every test that its registry is unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import fcntl
import os
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from features.synthetic import GeneratorConfig, generate_history
from tests.xdist_scope import pytest_xdist_make_scheduler  # noqa: F401 - the Spark modules on one worker

SMALL = GeneratorConfig(accounts=2500, months=18, seed=5)
FAST_OVERRIDES = ["model.bootstrap_rounds=20", "registry.model_card=false"]
CHAMPION_URI = "models:/leadscore@champion"


# A test that needs the session's trained model or a store holding it is end to end (train, register, score):
# `slow` without saying so, so that `pytest -m "not slow"` stays the unit tests.
NEEDS_A_MODEL = {"trained_small", "small_scorer", "shared_champion_store", "champion_store"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so that it sees the marks added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests needing a trained model are marked `slow`; then the modules with the most slow tests go first,
    each module kept whole and in its own order, except that the second is the first one needing no model.

    The suite runs on two pytest-xdist workers, one module at a time each (`--dist loadfile`, addopts in
    pyproject.toml): starting the long modules first keeps one worker from being left with them at the end.
    The workers start on the first and the second module: if both needed the session's model, one would sit
    waiting while the other trains it (`built_once`).
    """
    needs_a_model: set[str] = set()
    for item in items:
        if NEEDS_A_MODEL & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
            needs_a_model.add(module_of(item))
    slow: dict[str, int] = {}
    for item in items:
        slow[module_of(item)] = slow.get(module_of(item), 0) + (item.get_closest_marker("slow") is not None)
    order = sorted(slow, key=lambda module: -slow[module])  # stable: the collection's order among equals
    without_a_model = [module for module in order[1:] if module not in needs_a_model and slow[module]]
    if order and order[0] in needs_a_model and without_a_model:
        order.remove(without_a_model[0])
        order.insert(1, without_a_model[0])
    rank = {module: k for k, module in enumerate(order)}
    items.sort(key=lambda item: rank[module_of(item)])  # stable: order inside a module kept


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory, worker_id) -> Path:
    """A folder shared by the pytest-xdist workers of this run (the session's temporary folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@contextmanager
def built_once(path: Path) -> Iterator[bool]:
    """Hold a lock beside `path` and say whether `path` is still to be built: the first worker of a run to
    need it builds it (writing it last, or atomically), the others wait and use it."""
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield not path.exists()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def empty_mlflow_db(run_folder) -> Path:
    """An empty MLflow sqlite store, created and migrated once per run (seconds each time otherwise)."""
    from mlflow import MlflowClient

    database = run_folder / "empty-mlflow.db"
    with built_once(database) as to_build:
        if to_build:
            building = run_folder / "empty-mlflow-building" / "mlflow.db"
            shutil.rmtree(building.parent, ignore_errors=True)  # a worker that died while building it
            building.parent.mkdir()
            MlflowClient(tracking_uri=f"sqlite:///{building}").search_experiments(max_results=1)
            building.replace(database)
            building.parent.rmdir()
    return database


def new_store(empty_mlflow_db: Path, folder: Path) -> str:
    """A fresh store in `folder` (a copy of the empty one): its MLFLOW_TRACKING_URI."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_mlflow_db, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(scope="session")
def small_history():
    return generate_history(SMALL)


@pytest.fixture(scope="session")
def trained_small(small_history, run_folder):
    """run_train on `small_history` (with its truth, not registered) under the fast config: the TrainResult.

    Trained by the first worker that needs it; the others unpickle its copy (as the artifact does the scorer).
    """
    from pipelines.settings import load_config
    from pipelines.train import run_train

    saved = run_folder / "trained-small.pkl"
    with built_once(saved) as to_build:
        if not to_build:
            return pickle.loads(saved.read_bytes())
        cfg = load_config(overrides=FAST_OVERRIDES)
        result = run_train(small_history.tables(), cfg, truth=small_history.truth, register=False)
        building = saved.with_suffix(".building")
        building.write_bytes(pickle.dumps(result))
        building.replace(saved)
    return result


@pytest.fixture(scope="session")
def small_scorer(trained_small):
    """The scorer of `trained_small` as if registered as version 1 (the version is half of a run's key).

    A shallow copy, so that the version set here never shows in `trained_small`.
    """
    scorer = copy.copy(trained_small.scorer)
    scorer.model_version = "1"
    return scorer


@dataclass(frozen=True)
class ChampionStore:
    uri: str  # MLFLOW_TRACKING_URI of the store
    registry: tuple  # aliases, versions and their tags as registered (registry_state); must not change

    def check_unchanged(self) -> None:
        assert registry_state(self.uri) == self.registry, "a test changed the shared champion store"


def registry_state(uri: str) -> tuple:
    """The aliases of `leadscore` in the store at `uri`, and its versions each with its tags."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    aliases = tuple(sorted(client.get_registered_model("leadscore").aliases.items()))
    found = client.search_model_versions("name='leadscore'")
    return aliases, tuple(sorted((str(v.version), tuple(sorted(v.tags.items()))) for v in found))


def register_champion(uri: str, history, trained):
    """Register the TrainResult `trained` (run_train on `history`, not registered) in the store at `uri` as
    run_train(register=True) would on a store without a champion, and promote it: cheaper than training
    again. Returns the registered copy (its version, run and decision set)."""
    from pipelines.settings import load_config
    from pipelines.tracking import log_training_run

    # A copy: registering sets the version, run and decision on the result and the version on its scorer.
    result = dataclasses.replace(trained, scorer=copy.copy(trained.scorer), warnings=[])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        cfg = load_config(overrides=FAST_OVERRIDES)
        log_training_run(
            result,
            cfg,
            history.tables(),
            location="",
            config_path=None,
            force_reason=None,
            trigger="leadscore train",
        )
    assert result.decision.promote, result.decision.summary()
    return result


@pytest.fixture(scope="session")
def shared_champion_store(small_history, trained_small, empty_mlflow_db, run_folder) -> ChampionStore:
    """A private MLflow store whose only model version (1, `leadscore@champion`) is `trained_small` registered
    as run_train(register=True) registers it (on an empty store the evaluation has no champion to compare).

    One store for the run: the first worker that needs it registers the model, the others read the same store.
    """
    folder = run_folder / "champion-store"
    registered = run_folder / "champion-store.registered"  # written once the registration is complete
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with built_once(registered) as to_build:
        if to_build:
            shutil.rmtree(folder, ignore_errors=True)  # a worker that died while registering
            new_store(empty_mlflow_db, folder)
            register_champion(uri, small_history, trained_small)
            registered.write_text(uri)
    return ChampionStore(uri, registry_state(uri))


def point_mlflow_at(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLFLOW_TRACKING_URI for this test, and MLflow's current tracking URI too: a command run in this process
    by an earlier test (pipelines.store.setup) left MLflow pointed at that test's store, and MLflow prefers
    its current URI to the variable."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)


@pytest.fixture()
def champion_store(shared_champion_store, monkeypatch) -> Iterator[str]:
    """MLFLOW_TRACKING_URI set, for this test, to the shared store holding a champion; the test only reads it.

    After the test the registry must be as it was (same versions, tags and aliases): a test that registers,
    promotes, tags or moves an alias needs its own `mlflow_store`.
    """
    point_mlflow_at(shared_champion_store.uri, monkeypatch)
    yield shared_champion_store.uri
    assert os.environ["MLFLOW_TRACKING_URI"] == shared_champion_store.uri
    shared_champion_store.check_unchanged()
