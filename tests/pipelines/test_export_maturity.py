"""An export with open rows: its newest labelled rows are the quick outcomes (mostly lost) and are left out of
training and testing, said wherever rows left out are said; an export without open rows is unchanged."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from features.flat import ExportSpec
from models.card.sections import too_recent_bullet
from pipelines.evaluate import backtest_data
from pipelines.settings import ConfigError, load_config
from pipelines.sources import ExportSource
from pipelines.train import left_out_before_counting

SPEC = ExportSpec(
    name="aging",
    id_column="id",
    label_column="status",
    positive_labels=("Won",),
    negative_labels=("Lost",),
    open_labels=("Open",),
    timestamp_column="created",
    fit_columns={"industry": "categorical"},
    intent_columns=("visits",),
)
NEWEST = pd.Timestamp("2025-12-31")


def _export(n: int = 2400, seed: int = 0, with_open: bool = True) -> pd.DataFrame:
    """Leads over two years, a third won in the end; a lead younger than 90 days is open half the time, and
    its outcome when known is then a quick loss (with_open=False: every lead's eventual outcome)."""
    rng = np.random.default_rng(seed)
    age = np.linspace(0, 720, n)
    won = rng.random(n) < 1 / 3
    young = age < 90
    is_open = with_open & young & (won | (rng.random(n) < 0.3))
    status = np.where(is_open, "Open", np.where(won, "Won", "Lost"))
    return pd.DataFrame(
        {
            "id": [f"L{i}" for i in range(n)],
            "created": (NEWEST - pd.to_timedelta(age, unit="D")).strftime("%Y-%m-%d %H:%M"),
            "industry": rng.choice(["a", "b", "c"], n),
            "visits": rng.poisson(3, n),
            "status": status,
        }
    )


def _cfg(*overrides: str):
    return load_config(overrides=list(overrides))


def test_labelled_rows_younger_than_the_measured_maturity_are_left_out_and_counted():
    rows = _export()
    data = ExportSource(rows, SPEC).training_data(_cfg(), None)
    assert data.export_maturity is not None and data.export_maturity.measured
    days = data.export_maturity.days
    assert days == 90  # three creation months hold open rows
    age = NEWEST - pd.to_datetime(rows["created"])
    young_labelled = (age < pd.Timedelta(days=days)) & rows["status"].ne("Open")
    assert data.too_recent == int(young_labelled.sum()) > 0
    assert (NEWEST - data.frame["snapshot_at"]).min() >= pd.Timedelta(days=days)
    assert data.y.mean() == pytest.approx(1 / 3, abs=0.04)  # the quick losses no longer lower the win rate
    # read / valid / quarantined are the contract's counts; too_recent is counted beside them
    assert data.counts.loc[0, "valid"] == int(rows["status"].ne("Open").sum())
    assert "labelled leads created in the last 90 days" in data.too_recent_sentence(0)


def test_evaluate_train_and_the_card_say_the_rows_left_out_and_scoring_starts_at_the_newest_row():
    cfg = _cfg()
    source = ExportSource(_export(), SPEC)
    backtest = backtest_data(source, cfg)
    assert backtest.maturity_days == 90 == source.training_config(cfg).model.maturity_days
    assert any("90 days before the export's newest lead" in note for note in backtest.left_out)
    data = source.training_data(cfg, None)
    assert "lower model.export_maturity_days" in left_out_before_counting(data, 90)
    card = SimpleNamespace(flat_export=True, too_recent=data.too_recent, maturity_days=90)
    assert too_recent_bullet(card).startswith(
        f"{data.too_recent:,} labelled leads created in the last 90 days"
    )
    assert too_recent_bullet(SimpleNamespace(flat_export=True, too_recent=0, maturity_days=0)) == ""


def test_the_run_logs_the_maturity_beside_the_rows_it_left_out():
    from pipelines.tracking import metrics_for_logging

    data = ExportSource(_export(), SPEC).training_data(_cfg(), None)
    model = SimpleNamespace(calibration_report={}, training_counts={}, selection=None)
    evaluation = SimpleNamespace(comparison=pd.DataFrame({"model": ["model"], "roc_auc": [0.7]}), extra={})
    result = SimpleNamespace(data=data, scorer=SimpleNamespace(model=model), evaluation=evaluation)
    logged = metrics_for_logging(result)
    assert logged["export_maturity_days"] == 90 and logged["excluded_too_recent"] == data.too_recent > 0


def test_the_setting_fixes_the_maturity_or_switches_it_off():
    rows = _export()
    fixed = ExportSource(rows, SPEC).training_data(_cfg("model.export_maturity_days=200"), None)
    assert fixed.export_maturity is not None and not fixed.export_maturity.measured
    assert (NEWEST - fixed.frame["snapshot_at"]).min() >= pd.Timedelta(days=200)
    off = ExportSource(rows, SPEC).training_data(_cfg("model.export_maturity_days=0"), None)
    assert off.too_recent == 0 and len(off.y) == int(rows["status"].ne("Open").sum())
    for wrong in ("-5", "yes", "1.5"):  # yes read as true read as 1 day
        with pytest.raises(ConfigError, match="model.export_maturity_days"):
            _cfg(f"model.export_maturity_days={wrong}")


def test_an_export_without_open_rows_trains_on_every_labelled_row_as_before():
    rows = _export(with_open=False)
    auto = ExportSource(rows, SPEC).training_data(_cfg(), None)
    off = ExportSource(rows, SPEC).training_data(_cfg("model.export_maturity_days=0"), None)
    assert auto.too_recent == 0 and auto.export_maturity is not None and auto.export_maturity.days == 0
    pd.testing.assert_frame_equal(auto.frame, off.frame)
    assert backtest_data(ExportSource(rows, SPEC), _cfg()).left_out == []


def test_an_export_without_a_timestamp_column_loses_no_row():
    spec = SPEC.model_copy(update={"timestamp_column": None, "drop_columns": {"created": "no time"}})
    rows = _export()
    data = ExportSource(rows, spec).training_data(_cfg(), None)
    assert data.too_recent == 0 and len(data.y) == int(rows["status"].ne("Open").sum())


def test_spec_check_warns_of_the_labelled_rows_training_will_leave_out(tmp_path):
    from pipelines.spec_check import run_spec_check

    spec_path = tmp_path / "aging.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC.model_dump(mode="json", exclude_defaults=True)))
    rows = _export()
    rows.to_csv(tmp_path / "aging.csv", index=False)
    _, report = run_spec_check(tmp_path / "aging.csv", str(spec_path))
    young = ExportSource(rows, SPEC).training_data(_cfg(), None).too_recent
    said = [w for w in report.warnings if "will be left out of training" in w]
    assert report.ok and said and said[0].startswith(f"{young:,} labelled leads created in the last 90 days")
    _export(with_open=False).to_csv(tmp_path / "aging.csv", index=False)
    _, report = run_spec_check(tmp_path / "aging.csv", str(spec_path))
    assert not [w for w in report.warnings if "will be left out of training" in w]
