"""Fifth hostile sweep, part b: the model lifecycle and the registry.

A store in a bad state (a version's files damaged, a version another tool registered, versions deleted, card
data that no longer reads, a champion without its registered evidence), settings that differ between training
and scoring, and windows the split cannot fill. Every case here once ended in a traceback, a server that never
answered, a registry that could not train again, or a silent answer with exit 0.

The stores are copies of the session's champion store (tests/conftest.py), so nothing is trained here.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app
from tests.conftest import point_mlflow_at

runner = CliRunner()

# Columns of an MLflow sqlite store that hold the store's own folder (its artifacts live beside it).
PATH_COLUMNS = [
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("model_versions", "storage_location"),
    ("logged_models", "artifact_location"),
]


def one_line(text: str) -> str:
    return " ".join(text.split())


def copied_store(uri: str, folder: Path) -> str:
    """A copy of the store at `uri` (database and artifacts) in `folder`, pointing at its own artifacts: its
    MLFLOW_TRACKING_URI. A test may damage the copy; the session's store stays as it was."""
    source = Path(uri.removeprefix("sqlite:///")).parent
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".*.lock"))
    with sqlite3.connect(folder / "mlflow.db") as db:
        for table, column in PATH_COLUMNS:
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (str(source), str(folder)))
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture()
def store_copy(shared_champion_store, tmp_path, monkeypatch) -> Path:
    """A private copy of the store whose champion is version 1, MLflow pointed at it: its folder."""
    folder = tmp_path / "store"
    point_mlflow_at(copied_store(shared_champion_store.uri, folder), monkeypatch)
    return folder


def model_files(folder: Path) -> Path:
    """The folder of the (only) registered version's MLflow model."""
    (files,) = (folder / "artifacts" / "models").glob("m-*/artifacts")
    return files


def run_files(folder: Path) -> Path:
    """The artifact folder of the (only) training run."""
    (files,) = (path for path in (folder / "artifacts").glob("*/artifacts") if path.parent.name != "models")
    return files


# --- a champion whose files are damaged -------------------------------------------------------------------


DAMAGE = {
    "a truncated scorer": lambda files: (files / "artifacts" / "scorer.pkl").write_bytes(
        (files / "artifacts" / "scorer.pkl").read_bytes()[:1000]
    ),
    "an overwritten pyfunc": lambda files: (files / "python_model.pkl").write_bytes(b"x"),
    "MLmodel removed": lambda files: (files / "MLmodel").unlink(),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_champion_whose_files_are_damaged_exits_3_naming_the_version_and_the_fix(
    store_copy, tmp_path, damage
):
    """A truncated pickle ended `score` in an UnpicklingError traceback (exit 1); `serve --workers 2` left
    uvicorn's parent waiting for ever on workers that died loading it, deaf to SIGTERM."""
    DAMAGE[damage](model_files(store_copy))
    output = tmp_path / "scores.parquet"
    for args in (
        ["score", "--input", str(tmp_path), "--as-of", "2026-10-01", "--output", str(output)],
        ["serve", "--port", "0", "--workers", "2"],
    ):
        run = runner.invoke(app, args)
        assert run.exit_code == exit_codes.BAD_INPUT, run.output
        said = one_line(run.output)
        assert "models:/leadscore@champion: the files of version 1 of 'leadscore'" in said, said
        assert "missing or damaged" in said and str(model_files(store_copy).parent.name) in said
        assert "restore them from a backup, or delete that version" in said
        assert "Traceback" not in run.output
    assert not output.exists()


def test_training_against_a_damaged_champion_stops_before_training(store_copy, small_history, fast_config):
    """The champion is scored on the new test window: a damaged one is named before the minutes of training."""
    from pipelines import train as train_module
    from pipelines.registry import ModelNotFoundError

    DAMAGE["a truncated scorer"](model_files(store_copy))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            train_module, "train_scorer", lambda *a: pytest.fail("trained before loading the champion")
        )
        with pytest.raises(ModelNotFoundError, match="the files of version 1 of 'leadscore'"):
            train_module.run_train(small_history.tables(), fast_config)


def test_a_version_another_tool_registered_is_named_not_a_traceback(store_copy, tmp_path):
    """A pyfunc model another tool registered as `leadscore@champion` ended in AttributeError: no 'scorer'."""
    import mlflow
    from mlflow import MlflowClient
    from pipelines.card_rebuild import card_of_version
    from pipelines.io import InputError

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    mlflow.set_experiment("leadscore")  # artifacts in the store's folder (the default experiment's: the cwd)
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="m", python_model=Echo(), registered_model_name="leadscore", pip_requirements=[]
        )
    MlflowClient().set_registered_model_alias("leadscore", "champion", info.registered_model_version)
    for args in (
        ["score", "--input", str(tmp_path), "--as-of", "2026-10-01", "--output", str(tmp_path / "s.parquet")],
        ["serve", "--port", "0"],
    ):
        run = runner.invoke(app, args)
        assert run.exit_code == exit_codes.BAD_INPUT, run.output
        said = one_line(run.output)
        assert "version 2 of 'leadscore'" in said and "is no leadscore model (MLflow model Echo" in said, said
    # its card: no card data ("logged before training recorded it", said before), nor config.json to rebuild
    # one from (an MlflowException traceback with --input)
    run = runner.invoke(app, ["card", "--out", str(tmp_path / "card"), "--no-log"])
    assert run.exit_code == exit_codes.BAD_INPUT and "is no leadscore model" in one_line(run.output)
    with pytest.raises(InputError, match="is no leadscore model"):
        card_of_version("models:/leadscore@champion", tmp_path / "card", lambda: {}, log=False)


# --- versions deleted in the registry ---------------------------------------------------------------------


def test_training_after_a_deleted_version_registers_under_the_number_the_registry_gives(
    store_copy, small_history, trained_small, tmp_path
):
    """MLflow numbers a new version after every version it ever held, deleted ones too, which no search shows:
    the artifact said version 1, the registry made it version 2, and every training from then on ended in
    "RuntimeError: another training run registered a version at the same time" (exit 1), for ever."""
    from mlflow import MlflowClient
    from pipelines.registry import model_versions
    from pipelines.tracking import load_scorer
    from tests.conftest import register_champion

    uri = f"sqlite:///{store_copy / 'mlflow.db'}"
    MlflowClient().delete_model_version("leadscore", "1")
    run = runner.invoke(
        app,
        ["score", "--input", str(tmp_path), "--as-of", "2026-10-01", "--output", str(tmp_path / "s.parquet")],
    )
    assert run.exit_code == exit_codes.BAD_INPUT, run.output
    assert "the model is registered, but every version of it was deleted" in one_line(run.output)

    registered = register_champion(uri, small_history, trained_small)  # as `leadscore train` logs and gates
    assert registered.version == registered.scorer.model_version == "3"
    assert [str(v.version) for v in model_versions("leadscore")] == ["3"]  # the misnumbered 2 taken back
    assert load_scorer("models:/leadscore@champion").model_version == "3"


# --- the gate without the champion's registered evidence ---------------------------------------------------


def test_a_champion_without_its_registered_auc_is_never_replaced_silently(store_copy):
    """Without the AUC interval the champion was registered with, the broken-evidence check (rule 2) was
    skipped without a word: outcomes that broke both models promoted the challenger with exit 0."""
    from models.promotion import GateRules, decide_on_test_scores
    from pipelines.registry import champion_record, champion_version

    rng = np.random.default_rng(0)
    won = rng.integers(0, 2, 400)
    scores = pd.DataFrame({"won": won, "model": rng.random(400), "champion": rng.random(400)})
    decision = decide_on_test_scores(scores, GateRules(), champion_version="1", champion=None)
    assert decision.status == "refused"
    said = decision.summary()
    assert "version 1" in said and "roc_auc_low" in said and '--force "reason"' in said

    with sqlite3.connect(store_copy / "mlflow.db") as db:  # metrics lost from the champion's run
        db.execute("DELETE FROM metrics WHERE key LIKE 'roc_auc%'")
        db.execute("DELETE FROM latest_metrics WHERE key LIKE 'roc_auc%'")
    assert champion_record(champion_version("leadscore")) is None
    gone = SimpleNamespace(version="1", run_id="0" * 32)  # its run removed from the store (mlflow gc)
    assert champion_record(gone) is None


# --- card data logged at training that no longer reads ---------------------------------------------------


CARD_DAMAGE = {
    "card.json not JSON": {"card.json": b"{bad"},
    "card.json missing": {"comparison.parquet": b"PAR1"},
    "another format": {"card.json": b'{"fields": {}}'},
    "a truncated frame": {"card.json": None, "comparison.parquet": b"x"},  # None: every field a frame
}


@pytest.mark.parametrize("damage", CARD_DAMAGE)
def test_card_data_that_no_longer_reads_exits_3_and_input_rebuilds_the_card(
    store_copy, tmp_path, damage, monkeypatch
):
    """A card.json cut short or a Parquet file overwritten ended `leadscore card` in a JSONDecodeError,
    ArrowInvalid or CardRecordError traceback; --input did not help, the logged data were always read first."""
    import dataclasses
    import json

    from models.card.data import CardData
    from pipelines import card_rebuild

    folder = run_files(store_copy) / "card" / "data"
    folder.mkdir(parents=True)
    for name, content in CARD_DAMAGE[damage].items():
        if content is None:  # a record in the right format whose frames do not read
            fields = {item.name: {"frame": "comparison.parquet"} for item in dataclasses.fields(CardData)}
            content = json.dumps({"format": 1, "fields": fields}).encode()
        (folder / name).write_bytes(content)

    run = runner.invoke(app, ["card", "--out", str(tmp_path / "card"), "--no-log"])
    assert run.exit_code == exit_codes.BAD_INPUT, run.output
    said = one_line(run.output)
    assert (
        "the card data logged with run" in said and "card/data/ among its artifacts) cannot be read" in said
    )
    assert "give --input the tables the version was trained on" in said

    rebuilt = []
    monkeypatch.setattr(card_rebuild, "card_from_registry", lambda *a, **k: rebuilt.append(a) or ("h", "m"))
    card_rebuild.card_of_version("models:/leadscore@champion", tmp_path / "card", lambda: {}, log=False)
    assert len(rebuilt) == 1


# --- settings that differ between training and scoring -----------------------------------------------------


def test_scoring_settings_the_model_was_not_trained_with_are_named(small_scorer, small_history, fast_config):
    """`score --set icp.served_countries=[US]` scored with the champion's guardrail, and the reason settings of
    `scoring:` with the champion's too, without a word: the scores looked like the new settings' with exit 0."""
    from pipelines.settings import load_config
    from pipelines.sources import CrmSource, settings_not_applied
    from tests.conftest import FAST_OVERRIDES

    source = CrmSource(tables=small_history.tables())
    assert settings_not_applied(small_scorer, source, fast_config) == []
    changed = load_config(
        overrides=[
            *FAST_OVERRIDES,
            "icp.served_countries=[US]",
            "scoring.positive_reasons=1",
            "features.exclude_features=[month_of_year]",
            "icp.criterion_weights.industry=2.5",
            "scoring.chunk_size=7",  # read at scoring: not the model's
        ]
    )
    assert settings_not_applied(small_scorer, source, changed) == [
        "features.exclude_features",
        "icp.criterion_weights",
        "icp.served_countries",
        "scoring.positive_reasons",
    ]


def test_score_says_which_settings_the_model_overrides(champion_store, small_history, tmp_path):
    folder = tmp_path / "crm"
    folder.mkdir()
    for name, frame in small_history.tables().items():
        frame.to_parquet(folder / f"{name}.parquet")
    args = ["score", "--input", str(folder), "--as-of", "2026-10-01", "--output", str(tmp_path / "s.parquet")]
    run = runner.invoke(app, [*args, "--no-reasons", "--set", "icp.served_countries=[US]"])
    assert run.exit_code == 0, run.output
    said = one_line(run.output)
    assert "warning: model leadscore version 1 was trained with other values of icp.served_countries" in said
    assert "the scores follow the model's" in said and "train a new version to apply them" in said


def test_serve_says_which_settings_the_model_overrides(champion_store, monkeypatch):
    """`serve --set icp.served_countries=[US]` served the champion's guardrail without a word, as `score` had."""
    import uvicorn

    started = []  # the model is downloaded and loaded as to serve it; the server itself is not started
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    run = runner.invoke(app, ["serve", "--port", "0", "--set", "icp.served_countries=[US]"])
    assert run.exit_code == 0, run.output
    said = one_line(run.output)
    assert "warning: model leadscore version 1 was trained with other values of icp.served_countries" in said
    assert started  # the warning is said, and the server still starts
    quiet = runner.invoke(app, ["serve", "--port", "0"])
    assert quiet.exit_code == 0 and "warning" not in quiet.output


def test_score_and_serve_default_to_the_champion_of_the_configured_model_name(champion_store, tmp_path):
    """`train --set registry.model_name=acme` registers `acme`, but `score` and `serve` loaded
    models:/leadscore@champion whatever the configuration said: another model's scores, exit 0."""
    for args in (
        ["score", "--input", str(tmp_path), "--as-of", "2026-10-01", "--output", str(tmp_path / "s.parquet")],
        ["serve", "--port", "0"],
    ):
        run = runner.invoke(app, [*args, "--set", "registry.model_name=acme"])
        assert run.exit_code == exit_codes.BAD_INPUT, run.output
        assert "models:/acme@champion: the tracking store" in one_line(run.output)


# --- windows the split cannot fill --------------------------------------------------------------------------


def test_cut_dates_that_leave_a_window_empty_are_not_enough_data_naming_the_dates():
    """`retrain --as-of` early in the history cut a train window with no deal: ValueError traceback (exit 1)."""
    from models.minimum_data import InsufficientDataError
    from models.splits import out_of_time_split_at

    times = pd.Series(pd.date_range("2025-06-01", periods=30, freq="7D"))
    with pytest.raises(InsufficientDataError, match="leaves the train window empty") as raised:
        out_of_time_split_at(times, "2025-04-01", "2025-07-01")
    said = str(raised.value)
    assert "before 2025-04-01" in said and "retrain.trailing_quarters" in said


# --- a store that cannot be written, or is locked ------------------------------------------------------------


def test_a_store_whose_artifacts_cannot_be_written_stops_training_before_it_starts(
    mlflow_store, small_history, fast_config, tmp_path, trained_small
):
    """An artifact folder that cannot be written (here a file in its place; a read-only disk, a full one, no
    permission) ended training, after the minutes of training, in a NotADirectoryError traceback (exit 1)."""
    import errno

    from pipelines import tracking
    from pipelines import train as train_module
    from pipelines.io import OutputError

    (tmp_path / "mlflow" / "artifacts").write_text("not a folder")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            train_module, "train_scorer", lambda *a: pytest.fail("trained before checking the store")
        )
        with pytest.raises(OutputError, match=r"artifact folder .*/mlflow/artifacts cannot be written"):
            train_module.run_train(small_history.tables(), fast_config)

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device", "/store/artifacts/run/model.pkl")

    with pytest.MonkeyPatch.context() as patch:  # the disk fills while the run is logged
        patch.setattr(tracking, "_log_run", disk_full)
        with pytest.raises(OutputError, match="model.pkl cannot be written .No space left on device.; give"):
            tracking.log_training_run(
                trained_small, fast_config, {}, location="", config_path=None, force_reason=None, trigger="t"
            )


def test_a_locked_sqlite_store_says_so_not_that_it_is_no_store(mlflow_store, monkeypatch):
    """A store held by another process was called unusable, with the fix of pointing at another store."""
    from sqlalchemy.exc import OperationalError

    import mlflow
    from pipelines.store import TrackingStoreError, check_store

    class Locked(mlflow.MlflowClient):  # what a sqlite store answers while another process writes to it
        def search_experiments(self, *args, **kwargs):
            raise OperationalError("SELECT name FROM sqlite_master", {}, Exception("database is locked"))

    monkeypatch.setattr(mlflow, "MlflowClient", Locked)
    with pytest.raises(TrackingStoreError, match="is locked by another process") as raised:
        check_store(mlflow_store)
    assert "rerun when it has finished" in str(raised.value) and mlflow_store in str(raised.value)


# --- retrain against a champion of another input ------------------------------------------------------------


def test_retrain_against_a_champion_trained_on_an_export_leaves_the_gate_to_refuse(
    store_copy, small_history, trained_small, monkeypatch
):
    """A champion trained on a flat export cannot score CRM tables: its backtest stopped `retrain` with exit 3
    and "give --input what it was trained on, or --model ...", an option retrain has not. `train` on the same
    store trains and lets the gate refuse (exit 6, `--force` says why); retrain now does the same."""
    import dataclasses

    from models.flat_scorer import FlatScorer
    from models.promotion import GateDecision
    from pipelines import tracking
    from pipelines import train as train_module
    from pipelines.retrain import run_retrain
    from pipelines.settings import RetrainConfig, load_config, load_source_spec
    from tests.conftest import FAST_OVERRIDES

    flat = FlatScorer(
        spec=load_source_spec("x_education"), model=trained_small.scorer.model, model_version="1"
    )
    monkeypatch.setattr(tracking, "load_scorer", lambda uri: flat)
    refused = GateDecision("refused", ("the champion (version 1) could not be scored on this test window",))
    trained = dataclasses.replace(trained_small, decision=refused, run_id=None, version=None)
    monkeypatch.setattr(train_module, "run_train", lambda *a, **k: trained)  # the gate's verdict is train's

    result = run_retrain(
        small_history.tables(),
        load_config(overrides=FAST_OVERRIDES),
        RetrainConfig(),
        "2026-10-01",
        card=False,
    )
    assert result.champion_version == "1" and result.backtest is None and result.drift is None
    (warning,) = result.warnings
    assert "was trained on a flat export (spec 'x_education')" in warning and "--force" in warning


def test_a_card_rebuilt_from_a_run_whose_artifacts_were_removed_names_the_run(store_copy, tmp_path):
    """config.json gone from the version's run ended `card --input` in an MlflowException traceback."""
    from pipelines.card_rebuild import card_of_version
    from pipelines.io import InputError

    (run_files(store_copy) / "config.json").unlink()
    with pytest.raises(InputError, match=r"the run \w+ of version 1 no longer holds config.json") as raised:
        card_of_version("models:/leadscore@champion", tmp_path / "card", lambda: {}, log=False)
    assert "restore the run's artifacts from a backup" in str(raised.value)


def test_versions_registered_by_other_runs_meanwhile_are_given_way_or_named(
    store_copy, small_history, trained_small, monkeypatch
):
    """Another training run registering while this one logged ended in "RuntimeError: registered as version
    3, but the artifact says 2" (a traceback, and version 3 left registered without a verdict). Now the
    version is taken back and logged again under the next number; if others keep registering, one sentence."""
    from mlflow import MlflowClient
    from pipelines import tracking
    from pipelines.registry import RegistrationRaceError, model_versions, version_files
    from tests.conftest import register_champion

    uri = f"sqlite:///{store_copy / 'mlflow.db'}"
    client = MlflowClient()
    source = version_files(client.get_model_version("leadscore", "1"))
    log_scorer, others = tracking.log_scorer, []

    def another_run_registers_first(*args, **kwargs):
        others.append(client.create_model_version("leadscore", source).version)
        return log_scorer(*args, **kwargs)

    monkeypatch.setattr(tracking, "log_scorer", another_run_registers_first)
    with pytest.raises(RegistrationRaceError, match="other training runs registered versions while this one"):
        register_champion(uri, small_history, trained_small)
    assert sorted(int(v.version) for v in model_versions("leadscore")) == [1, *map(int, others)]  # ours gone

    client.delete_registered_model_alias("leadscore", "champion")  # a first model again: the gate promotes it
    once = iter([True])
    monkeypatch.setattr(
        tracking,
        "log_scorer",
        lambda *a, **k: (next(once, False) and another_run_registers_first(*a, **k)) or log_scorer(*a, **k),
    )
    registered = register_champion(uri, small_history, trained_small)
    assert (
        registered.version == registered.scorer.model_version == "8"
    )  # 6 was the other run's, 7 ours taken back
