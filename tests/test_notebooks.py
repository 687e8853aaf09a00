"""The notebooks run from top to bottom on small synthetic data, and each .ipynb matches its jupytext script.

The percent scripts (notebooks/*.py) are the source of truth; the .ipynb beside each is generated from it with
`jupytext --to ipynb` and kept without outputs. Executing the .ipynb in a real kernel catches a notebook
that an API change broke, which is how notebooks usually rot.
"""

import json
import os
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import new_store, register_champion

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = ("01-explore-deal-history", "02-train-and-compare", "03-explain-and-review")
CELL_TIMEOUT_S = 300
REGENERATE = "regenerate it with `jupytext --to ipynb notebooks/{name}.py`"
# Something each notebook shows only when its main path ran (e.g. 02 found the champion and compared with it).
EXPECTED_OUTPUT = {
    "01-explore-deal-history": "flagged: ",
    "02-train-and-compare": "champion: version",
    "03-explain-and-review": "<iframe srcdoc=",
}


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_is_listed():
    assert sorted(path.stem for path in NOTEBOOK_DIR.glob("[0-9]*.py")) == list(NOTEBOOKS)
    assert sorted(path.stem for path in NOTEBOOK_DIR.glob("[0-9]*.ipynb")) == list(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_ipynb_is_in_sync_with_its_script_and_stripped(name):
    script = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    stored = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    nbformat.validate(stored)
    assert _cells(stored) == _cells(script), f"{name}.ipynb differs from {name}.py: " + REGENERATE.format(
        name=name
    )
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{name}.ipynb has outputs: " + REGENERATE.format(name=name)
            )
    assert stored.metadata["kernelspec"]["name"] == "python3"


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory, small_history, trained_small, empty_mlflow_db):
    """Small data, a private MLflow store holding a champion, and a python3 kernel from this interpreter.

    The kernel inherits this environment, so the notebooks never touch the project's mlflow/ folder. The
    kernel spec is written to a private JUPYTER_PATH so that a python3 kernel installed elsewhere on the
    machine cannot shadow the one that has this project installed.
    """
    root = tmp_path_factory.mktemp("notebooks")
    spec_dir = root / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (leadscore tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADSCORE_NOTEBOOK_SMALL", "1")
        patch.setenv("MLFLOW_TRACKING_URI", new_store(empty_mlflow_db, root / "mlflow"))
        patch.setenv("JUPYTER_PATH", str(root / "jupyter"))
        patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        # A champion in the registry, so that notebook 02's comparison with it runs too: the session's model
        # (tests/conftest.py), registered rather than trained again.
        register_champion(os.environ["MLFLOW_TRACKING_URI"], small_history, trained_small)
        yield root


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_errors(name, notebook_env, tmp_path):
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        # A busy machine can deliver a cell's output after the cell finished: wait for it (after the default
        # 4 s the output is silently dropped, and the check below fails for no reason).
        iopub_timeout=120,
        raise_on_iopub_timeout=True,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
        shutdown_kernel="immediate",  # the outputs are in: no waiting for the kernel to wind down
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any(output.output_type == "display_data" and "image/png" in output.data for output in outputs)
    texts = [output.get("text", "") for output in outputs] + [
        output.get("data", {}).get("text/html", "") for output in outputs
    ]
    assert any(EXPECTED_OUTPUT[name] in text for text in texts), (
        f"{name}: no {EXPECTED_OUTPUT[name]!r} in outputs"
    )
    assert not any(tmp_path.iterdir()), "a notebook wrote files into its working directory"
