"""What the CLI prints holds the user's own text (paths, column names, values): it is printed as written.

rich read square brackets as markup: `[bench]` in a hint vanished, and a folder named `crm[/x]` made every
message naming it a MarkupError traceback (exit 1) instead of the README's exit code and sentence.
"""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app
from pipelines.console import console, frame_table, labelled

runner = CliRunner()


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_path_with_brackets_is_named_as_written_with_the_readmes_exit_code(tmp_path):
    folder = tmp_path / "crm[/x] [bench]"
    result = runner.invoke(app, ["validate", "--input", str(folder)])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "crm[/x] [bench]" in one_line(result.output)


def test_table_cells_titles_and_labelled_lines_keep_their_brackets():
    frame = pd.DataFrame({"column [unit]": ["Revenue [EUR]", "[red]x[/red]", "[/b]"]})
    with console.capture() as captured:
        console.print(frame_table(frame, title="quarantine [v1]"))
        console.print(labelled("note:", "CatBoost is not installed (pip install -e .[bench])", "yellow"))
        console.print("[/x] on a whole line", style="red")
    text = captured.get()
    for written in (
        "column [unit]",
        "Revenue [EUR]",
        "[red]x[/red]",
        "[/b]",
        "quarantine [v1]",
        "note: CatBoost is not installed (pip install -e .[bench])",
        "[/x] on a whole line",
    ):
        assert written in text
