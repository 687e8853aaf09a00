"""Training stops (exit 5) when a broken feed left too little of a table: never a model promoted with exit 0."""

from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import write_tables
from pipelines.sources import training_data
from pipelines.train import check_training_quarantine

runner = CliRunner()


def _history_with_broken_accounts(share_every: int):
    tables = generate_history(GeneratorConfig(accounts=300, months=18, seed=6)).tables()
    accounts = tables["accounts"].copy()
    accounts.loc[accounts.index[::share_every], "employee_count"] = -1  # breaks ge(1)
    tables["accounts"] = accounts
    return tables


def test_a_table_mostly_quarantined_stops_training_naming_the_table_share_and_setting(tmp_path, mlflow_store):
    folder = tmp_path / "crm"
    tables = _history_with_broken_accounts(3)  # a third of the accounts
    write_tables(tables, folder, "parquet")
    result = runner.invoke(app, ["train", "--input", str(folder)])
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, result.output
    text = " ".join(result.output.split())
    assert "of the accounts rows broke a rule of the data contract, above the allowed 5.0%" in text
    assert "model.max_quarantine_share" in text and "nothing was trained" in text
    first = (
        f"most broke ge(1) on column 'employee_count' (first at row 0, account_id "
        f"'{tables['accounts']['account_id'].iloc[0]}', employee_count '-1': employee_count must be at least 1)"
    )
    assert first in text  # the rule to fix first
    assert "Traceback" not in result.output


def test_the_share_counts_a_table_own_broken_rows_and_the_limit_is_a_setting(fast_config):
    import pytest

    from pipelines.train import TrainingQuarantineError

    data = training_data(_history_with_broken_accounts(3), fast_config, None)
    with pytest.raises(TrainingQuarantineError, match=r"3\d\.\d% of the accounts rows"):
        check_training_quarantine(data, 0.05)
    check_training_quarantine(data, 0.5)  # raised by the user: goes on
    few = training_data(_history_with_broken_accounts(100), fast_config, None)  # 1 %: a normal dirty feed
    check_training_quarantine(few, 0.05)
