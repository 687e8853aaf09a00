"""Scoring CRM tables without a deals table works (a feed of new leads) but never silently."""

from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from pipelines.cli import app
from pipelines.io import write_tables

runner = CliRunner()


def test_scoring_without_deals_scores_every_lead_and_says_converted_ones_are_in(tmp_path, champion_store):
    tables = generate_history(GeneratorConfig(accounts=150, months=12, seed=4)).tables()
    args = ["score", "--as-of", "2026-10-01", "--no-reasons", "--no-trend"]
    with_deals, without = tmp_path / "with", tmp_path / "without"
    write_tables(tables, with_deals, "parquet")
    write_tables({k: v for k, v in tables.items() if k != "deals"}, without, "parquet")

    full = runner.invoke(app, [*args, "--input", str(with_deals), "--output", str(tmp_path / "a.parquet")])
    assert full.exit_code == 0, full.output
    assert "has no deals table" not in full.output

    bare = runner.invoke(app, [*args, "--input", str(without), "--output", str(tmp_path / "b.parquet")])
    assert bare.exit_code == 0, bare.output
    assert f"{without} has no deals table: every valid lead was scored as open" in " ".join(
        bare.output.split()
    )
