"""`leadscore spec draft` and `spec check` end to end, and the bad inputs of a flat export (exit 3, a sentence)."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.flat import ExportSpec
from pipelines import exit_codes
from pipelines.cli import app
from tests.features.crm_exports import hubspot_contacts_export, salesforce_leads_report

runner = CliRunner()


def flat(output: str) -> str:
    return " ".join(output.split())


def write(frame: pd.DataFrame, path: Path, **kwargs) -> Path:
    frame.to_csv(path, index=False, **kwargs)
    return path


def test_spec_help_has_examples():
    for args in (["spec", "--help"], ["spec", "draft", "--help"], ["spec", "check", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Example" in result.output, args


def test_draft_then_check_a_hubspot_export(tmp_path):
    export = write(hubspot_contacts_export(), tmp_path / "contacts.csv")
    spec_path = tmp_path / "contacts.yaml"
    result = runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(spec_path)])
    assert result.exit_code == 0, result.output
    assert "id 'Record ID', label 'Lifecycle Stage'" in flat(result.output)
    spec = ExportSpec.model_validate(yaml.safe_load(spec_path.read_text()))
    assert spec.name == "contacts" and spec.timestamp_column == "Create Date"
    result = runner.invoke(app, ["spec", "check", "--input", str(export), "--source-spec", str(spec_path)])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output and "100 open" in flat(result.output)
    again = runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(spec_path)])
    assert again.exit_code == exit_codes.BAD_INPUT and "--overwrite" in flat(again.output)


def test_delimiter_and_encoding_are_detected_written_and_honoured(tmp_path):
    export = write(salesforce_leads_report(), tmp_path / "report.csv", sep=";", encoding="cp1252")
    spec_path = tmp_path / "sf.yaml"
    result = runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(spec_path)])
    assert result.exit_code == 0, result.output
    spec = ExportSpec.model_validate(yaml.safe_load(spec_path.read_text()))
    assert (spec.delimiter, spec.encoding, spec.date_format) == (";", "cp1252", "%d/%m/%Y")
    result = runner.invoke(app, ["spec", "check", "--input", str(export), "--source-spec", str(spec_path)])
    assert result.exit_code == 0, result.output
    # The shipped spec says comma and utf-8: the same file is refused with the setting to change.
    result = runner.invoke(
        app, ["spec", "check", "--input", str(export), "--source-spec", "salesforce_leads"]
    )
    assert result.exit_code == exit_codes.BAD_INPUT
    assert "encoding in the source spec" in flat(result.output) or "delimiter" in flat(result.output)


def test_check_flags_a_renamed_column_with_did_you_mean(tmp_path):
    frame = hubspot_contacts_export().rename(columns={"Number of Pageviews": "Number of Page Views"})
    export = write(frame, tmp_path / "contacts.csv")
    result = runner.invoke(
        app, ["spec", "check", "--input", str(export), "--source-spec", "hubspot_contacts"]
    )
    assert result.exit_code == exit_codes.BAD_INPUT
    text = flat(result.output)
    assert "'Number of Pageviews' (intent_columns) (did you mean 'Number of Page Views'?)" in text
    assert "have no role in the spec" in text and "'Number of Page Views'" in text
    assert "does not fit" in text and "Traceback" not in result.output


# --- bad input: exit 3 with a sentence, for check and for train -------------------------------------------


def _bad_exports(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    frame = salesforce_leads_report(n=120)
    unknown = frame.copy()
    unknown.loc[:2, "Lead Status"] = "Nurturing"
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text(",".join(frame.columns) + "\n")
    return {
        "no label": (write(frame.drop(columns="Lead Status"), tmp_path / "nolabel.csv"), "'Lead Status'"),
        "unknown label": (write(unknown, tmp_path / "unknown.csv"), "'Nurturing' (3 rows)"),
        "empty": (tmp_path / "empty.csv", "empty (0 bytes)"),
        "header only": (tmp_path / "header.csv", "a header but no rows"),
        "missing column": (
            write(frame.rename(columns={"Industry": "industry "}), tmp_path / "renamed.csv"),
            "'Industry' (fit_columns) (did you mean 'industry '?)",
        ),
    }


@pytest.mark.parametrize("case", ["no label", "unknown label", "empty", "header only", "missing column"])
def test_bad_exports_exit_3_with_a_sentence(case, tmp_path, mlflow_store):
    export, words = _bad_exports(tmp_path)[case]
    for args in (
        ["spec", "check", "--input", str(export), "--source-spec", "salesforce_leads"],
        ["train", "--input", str(export), "--source-spec", "salesforce_leads"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == exit_codes.BAD_INPUT, (args, result.output)
        assert words in flat(result.output), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("case", ["empty", "header only"])
def test_draft_refuses_an_empty_export(case, tmp_path):
    export, words = _bad_exports(tmp_path)[case]
    result = runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(tmp_path / "s.yaml")])
    assert result.exit_code == exit_codes.BAD_INPUT and words in flat(result.output)
    assert not (tmp_path / "s.yaml").exists()


def test_draft_with_broken_rules_exits_3(tmp_path):
    export = write(hubspot_contacts_export(n=60), tmp_path / "c.csv")
    rules = tmp_path / "rules.yaml"
    rules.write_text("label_names: [converted]\n")
    result = runner.invoke(
        app,
        ["spec", "draft", "--input", str(export), "--out", str(tmp_path / "s.yaml"), "--rules", str(rules)],
    )
    assert result.exit_code == exit_codes.BAD_INPUT and "invalid spec-draft rules" in flat(result.output)


def test_draft_with_a_label_the_export_lacks(tmp_path):
    export = write(hubspot_contacts_export(n=60), tmp_path / "c.csv")
    result = runner.invoke(
        app,
        [
            "spec",
            "draft",
            "--input",
            str(export),
            "--label",
            "Lifecycle stage ",
            "--out",
            str(tmp_path / "s.yaml"),
        ],
    )
    assert result.exit_code == exit_codes.BAD_INPUT
    assert "did you mean 'Lifecycle Stage'?" in flat(result.output)


@pytest.mark.slow  # trains on the export
def test_a_drafted_spec_trains_on_won_and_lost_rows_only(tmp_path, fast_config):
    from pipelines.sources import ExportSource
    from pipelines.spec import read_training_export
    from pipelines.train import run_train

    export = write(hubspot_contacts_export(n=800), tmp_path / "contacts.csv")
    spec_path = tmp_path / "contacts.yaml"
    assert (
        runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(spec_path)]).exit_code == 0
    )
    spec = ExportSpec.model_validate(yaml.safe_load(spec_path.read_text()))
    write(hubspot_contacts_export(n=800).assign(**{"Custom Field": 1}), export)  # a column added since
    rows, notes = read_training_export(export, spec)
    assert notes == [
        "1 export columns are not in the spec and are not used: 'Custom Field'",
        "187 open rows (open_labels) left out of training; they are scored, not learned from",
    ]
    assert len(rows) == 800  # the source keeps the open rows to score them
    result = run_train(ExportSource(rows, spec), fast_config, register=False)
    assert result.data.counts["read"].tolist() == [800 - 187]  # it learns from the won and lost ones only
    trained_ids = set(result.data.frame["lead_id"])
    open_ids = set(rows.loc[rows["Lifecycle Stage"].isin(spec.open_labels), spec.id_column].astype(str))
    assert open_ids and not trained_ids & open_ids
    used = set(result.scorer.model.feature_names)
    assert not used & {spec.feature_name(c) for c in [*spec.leaky_columns, *spec.drop_columns]}
    model_auc = result.evaluation.comparison.set_index("model").loc["model", "roc_auc"]
    assert model_auc > 0.7  # the fixture's signal is learnable from the drafted roles
