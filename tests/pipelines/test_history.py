"""`leadscore history`: the audit trail of promotions and refusals, read from the registry's version tags."""

import json

import pandas as pd

from mlflow import MlflowClient
from pipelines import exit_codes
from pipelines.history import HISTORY_COLUMNS, history_command, history_table, promotion_history
from pipelines.store import setup


def _register(tmp_path, name: str, tags_per_version: list[dict[str, str]]) -> MlflowClient:
    """Register one version per tag set (no model behind them: the history only reads tags)."""
    setup()
    client = MlflowClient()
    client.create_registered_model(name)
    source = tmp_path / "artifact"
    source.mkdir(exist_ok=True)
    for tags in tags_per_version:
        client.create_model_version(name, source=str(source), tags=tags)
    return client


def _gate(decision: str, reasons: str, as_of: str = "", **metrics: float) -> dict[str, str]:
    tags = {
        "gate.decision": decision,
        "gate.reasons": reasons,
        "gate.metrics": json.dumps(metrics),
        "gate.trigger": "cron quarterly",
        "gate.date": "2026-07-01T06:00:00+00:00",
    }
    if as_of:
        tags["retrain.as_of"] = as_of
        tags["retrain.evaluation_quarter"] = "2026Q1"
        tags["retrain.champion_version"] = "1"
    return tags


def test_history_lists_every_version_newest_first_with_decision_reasons_and_aliases(tmp_path, mlflow_store):
    client = _register(
        tmp_path,
        "leadscore",
        [
            _gate("promoted", "first model: AUC 0.790 beats the points model's 0.700", challenger_auc=0.79),
            _gate(
                "refused",
                "AUC 0.750 vs champion 0.760 (tolerance 0.005): worse | ECE 0.050 vs champion 0.040: ok",
                as_of="2026-07-01",
                challenger_auc=0.75,
                champion_auc=0.76,
            ),
            {},  # registered by hand: no gate ran
        ],
    )
    client.set_model_version_tag("leadscore", "2", "data.newest_deal", "2026-06-02")
    client.set_registered_model_alias("leadscore", "champion", "1")
    client.set_registered_model_alias("leadscore", "challenger", "2")
    history = promotion_history("leadscore")
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert history["version"].tolist() == [3, 2, 1]
    rows = history.set_index("version")
    assert rows.loc[1, "decision"] == "promoted" and rows.loc[1, "aliases"] == "champion"
    assert rows.loc[2, "decision"] == "refused" and "worse" in rows.loc[2, "reasons"]
    assert rows.loc[2, "as_of"] == "2026-07-01" and rows.loc[2, "compared_with"] == "1"
    assert json.loads(rows.loc[2, "metrics"]) == {"challenger_auc": 0.75, "champion_auc": 0.76}
    assert rows.loc[3, "decision"] == "" and rows.loc[3, "aliases"] == ""
    assert isinstance(rows.loc[1, "created"], pd.Timestamp)
    printed = history_table(history).set_index("version")
    assert printed.loc["3", "decision"] == "(no gate)"
    assert printed.loc["2", "metrics compared"] == "challenger_auc 0.750, champion_auc 0.760"
    assert " | " not in printed.loc["2", "reasons"]
    assert (
        printed.loc["2", "newest deal learnt"] == "2026-06-02"
        and printed.loc["1", "newest deal learnt"] == ""
    )


def test_history_command_prints_the_trail(tmp_path, mlflow_store, capsys):
    _register(
        tmp_path,
        "leadscore",
        [_gate("promoted", "first model"), _gate("refused", "ECE worse", as_of="2026-07-01")],
    )
    assert history_command("leadscore") == exit_codes.OK
    out = capsys.readouterr().out
    assert "2 versions, 1 promoted, 1 refused" in out
    assert "ECE worse" in out and "cron quarterly" in out and "2026-07-01" in out


def test_history_of_a_model_never_registered_says_so(mlflow_store, capsys):
    assert promotion_history("nothing-here").empty
    assert history_command("nothing-here") == exit_codes.OK
    assert "No registered versions of 'nothing-here'" in capsys.readouterr().out
