"""Quarterly retrain: windows, the tables as they were known, drift by segment, and a simulated year of
retrains over a drifting market with promotions, refusals and the audit trail."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.as_of import tables_as_of
from features.synthetic import GeneratorConfig, generate_history
from mlflow import MlflowClient
from models.evaluate import roc_auc
from models.minimum_data import InsufficientDataError
from models.monitoring import segment_gaps
from models.retrain import check_windows, retrain_windows, training_tables
from pipelines import exit_codes
from pipelines.history import history_command, promotion_history
from pipelines.io import write_tables
from pipelines.retrain import RetrainResult, run_retrain
from pipelines.retrain_report import REPORT_NAME
from pipelines.settings import RetrainConfig, load_config
from pipelines.tracking import load_scorer
from tests.conftest import new_store

# ------------------------------------------------------------------------------------------------------
# Windows and the tables as known at a date
# ------------------------------------------------------------------------------------------------------


def test_evaluation_quarter_is_the_latest_whose_deals_are_all_mature():
    w = retrain_windows(pd.Timestamp("2026-02-01"), maturity_days=120, trailing_quarters=8)
    # 2026-02-01 - 120 days = 2025-10-04: the quarter ending 2025-10-01 is the latest one fully mature.
    assert (w.test_start, w.test_end) == (pd.Timestamp("2025-07-01"), pd.Timestamp("2025-10-01"))
    assert w.valid_start == pd.Timestamp("2025-04-01")
    assert w.train_start == pd.Timestamp("2023-04-01")  # 8 quarters before the validation quarter
    assert w.evaluation_quarter == "2025Q3"
    # One day less of maturity margin moves nothing; on the boundary the quarter just qualifies.
    assert retrain_windows(pd.Timestamp("2026-01-29"), 120, 8).test_end == pd.Timestamp("2025-10-01")
    assert retrain_windows(pd.Timestamp("2026-01-28"), 120, 8).test_end == pd.Timestamp("2025-07-01")
    assert retrain_windows(pd.Timestamp("2026-01-01"), 0, 4).test_end == pd.Timestamp("2026-01-01")


def _crm() -> dict[str, pd.DataFrame]:
    t = pd.Timestamp
    accounts = pd.DataFrame({"account_id": ["A1"], "created_at": [t("2020-01-01")]})
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "account_id": ["A1"] * 4,
            "created_at": [t("2025-01-05"), t("2025-02-01"), t("2025-05-01"), t("2025-07-01")],
        }
    )
    activities = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L3"],
            "occurred_at": [t("2025-01-10"), t("2025-06-15"), t("2025-05-02")],
            "activity_type": ["blog", "demo_request", "blog"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4"],
            "lead_id": ["L1", "L2", "L3", "L4"],
            "account_id": ["A1"] * 4,
            "created_at": [t("2025-01-20"), t("2025-02-10"), t("2025-05-10"), t("2025-07-02")],
            "closed_at": [t("2025-03-01"), t("2025-06-20"), pd.NaT, t("2025-07-20")],
            "outcome": ["won", "lost", "open", "won"],
            "amount": [1.0, 2.0, 3.0, 4.0],
            "lost_reason": [None, "timing", None, None],
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities, "deals": deals}


def test_tables_as_of_forget_later_events_and_reopen_later_closes():
    known = tables_as_of(_crm(), pd.Timestamp("2025-06-01"))
    assert known["leads"]["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert known["activities"]["occurred_at"].max() < pd.Timestamp("2025-06-01")
    deals = known["deals"].set_index("deal_id")
    assert deals.index.tolist() == ["D1", "D2", "D3"]
    assert deals.loc["D1", "outcome"] == "won"  # closed before as_of: kept
    assert deals.loc["D2", "outcome"] == "open"  # lost on 2025-06-20: not known yet
    assert pd.isna(deals.loc["D2", "closed_at"]) and pd.isna(deals.loc["D2", "lost_reason"])
    assert len(known["accounts"]) == 1
    assert _crm()["deals"].loc[1, "outcome"] == "lost"  # the input is not modified


def test_training_tables_keep_the_windows_and_count_what_they_leave_out():
    w = retrain_windows(pd.Timestamp("2025-10-10"), maturity_days=90, trailing_quarters=1)
    # test [2025-04-01, 2025-07-01), valid [2025-01-01, 2025-04-01), train [2024-10-01, 2025-01-01)
    known = tables_as_of(_crm(), w.as_of)
    kept, left_out = training_tables(known, w)
    assert kept["deals"]["deal_id"].tolist() == ["D1", "D2", "D3"]
    assert left_out == {"older_than_window": 0, "after_evaluation_quarter": 1}  # D4, created in July


def test_check_windows_refuses_an_evaluation_quarter_without_outcomes():
    w = retrain_windows(pd.Timestamp("2025-10-10"), maturity_days=90, trailing_quarters=1)
    deals = _crm()["deals"]
    with pytest.raises(InsufficientDataError, match="evaluation quarter 2025-04-01 to 2025-07-01"):
        check_windows(deals, w)  # its only deal (D3) is open


def test_segment_gaps_name_the_segment_the_model_misses_not_a_quarter_that_is_better_overall():
    rng = np.random.default_rng(0)
    n = 4000
    industry = rng.choice(["software", "manufacturing", "retail"], n)
    p = np.full(n, 0.2)
    actual = np.where(industry == "manufacturing", 0.55, 0.3)  # everyone +0.1, manufacturing +0.35
    y = (rng.random(n) < actual).astype(int)
    frame = pd.DataFrame({"industry": industry, "lead_source": rng.choice(["event", "referral"], n)})
    gaps = segment_gaps(frame, y, p, ["industry", "lead_source"], min_rows=30, gap_threshold=0.1)
    shifted = gaps[gaps["status"] == "shifted"]
    assert shifted[["feature", "value"]].values.tolist() == [["industry", "manufacturing"]]
    assert gaps.iloc[0]["value"] == "manufacturing" and gaps.iloc[0]["gap"] > 0.15
    assert set(gaps.columns) >= {"n", "won", "win_rate", "predicted", "gap", "z"}


def test_retrain_config_checks_thresholds_and_names_the_user(monkeypatch):
    with pytest.raises(ValueError, match="psi_watch"):
        RetrainConfig(psi_threshold=0.1, psi_watch=0.2)
    monkeypatch.setenv("USER", "ada")
    assert RetrainConfig().trigger_text() == "leadscore retrain by ada"
    assert RetrainConfig(trigger="cron quarterly").trigger_text() == "cron quarterly"


def retrain_command(data: Path, as_of: str, *options: str) -> tuple[int, str]:
    """`leadscore retrain --input data --as-of as_of *options`: its exit code and what it printed."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["retrain", "--input", str(data), "--as-of", as_of, *options])
    return result.exit_code, result.output


def test_retrain_command_rejects_a_date_that_is_not_one(tmp_path):
    code, out = retrain_command(tmp_path, "next tuesday")
    assert code == exit_codes.BAD_INPUT and "not a date" in out


@pytest.mark.parametrize("option", ["--trailing-quarters", "--backtest-days"])
def test_retrain_command_rejects_a_window_of_zero_as_a_bad_command_line(tmp_path, option):
    code, out = retrain_command(tmp_path, "2026-01-01", option, "0")
    assert code == exit_codes.USAGE and "Traceback" not in out


# ------------------------------------------------------------------------------------------------------
# An outcome feed that broke since the last retrain
# ------------------------------------------------------------------------------------------------------


def outcomes_changed_since(tables: dict[str, pd.DataFrame], since: str, how: str) -> dict[str, pd.DataFrame]:
    """The deals closed on or after `since` with won and lost exchanged ("swap", a remapped deal stage) or
    left open without a closing date ("stop", a feed that stopped)."""
    deals = tables["deals"].copy()
    changed = deals["outcome"].isin(["won", "lost"]) & (deals["closed_at"] >= pd.Timestamp(since))
    if how == "stop":
        deals.loc[changed, ["outcome", "closed_at", "lost_reason"]] = ["open", pd.NaT, None]
        return {**tables, "deals": deals}
    deals.loc[changed, "outcome"] = deals.loc[changed, "outcome"].map({"won": "lost", "lost": "won"})
    deals.loc[changed, "lost_reason"] = deals.loc[changed, "outcome"].map({"lost": "timing"})
    return {**tables, "deals": deals}


@pytest.mark.parametrize("broken", [None, "swap", "stop"])
def test_outcomes_swapped_or_stopped_since_the_last_retrain_are_called_broken(
    small_history, trained_small, champion_store, monkeypatch, broken
):
    """bench_quarterly found it: a retrain's evaluation quarter ends model.maturity_days before --as-of, so
    outcomes swapped in the feed since the last retrain never reached the gate's test window, and the
    challenger was promoted (exit 0) while the backtest read AUC 0.17; a feed that stopped left the backtest
    nothing to read, and the challenger was promoted too. Either now makes the verdict "evidence looks
    broken" (exit code 7)."""
    import dataclasses

    from pipelines import train as train_module
    from pipelines.cli import gate_exit_code
    from pipelines.registry import gate_decision

    as_of, backtest_days = pd.Timestamp("2026-10-01"), 90
    tables = small_history.tables()
    if broken:
        tables = outcomes_changed_since(
            tables, str((as_of - pd.Timedelta(days=backtest_days)).date()), broken
        )
    passed: dict = {}

    def train(*args, **kwargs):  # the gate's verdict is train's: see what it is handed
        passed.update(kwargs)
        return dataclasses.replace(trained_small, run_id=None, version=None)

    monkeypatch.setattr(train_module, "run_train", train)
    cfg = load_config(overrides=["model.bootstrap_rounds=20", "registry.model_card=false"])
    rcfg = RetrainConfig(backtest_days=backtest_days)
    result = run_retrain(tables, cfg, rcfg, as_of, card=False)
    said = passed["evidence_broken"]
    if broken == "stop":
        assert result.backtest is None and "the outcome feed looks stopped" in said
        assert "0 deals closed in the 90 days from 2026-07-03 to 2026-10-01" in said and "--force" in said
    elif broken is None:
        assert result.backtest.n_leads > 100 and said == "" and result.backtest.auc > 0.6
        return
    else:
        assert result.backtest.n_leads > 100 and result.backtest.auc < 0.4
        assert "the champion (version 1) had AUC" in said and "(its backtest)" in said
        assert "the newest outcomes look broken" in said and '--force "reason"' in said
    decision = gate_decision(dataclasses.replace(trained_small, evidence_broken=said), cfg)
    assert decision.status == "evidence_broken" and decision.reasons[-1] == said
    assert gate_exit_code(decision) == exit_codes.EVIDENCE_BROKEN
    assert decision.forced("checked the feed").promote  # --force still overrides


# ------------------------------------------------------------------------------------------------------
# A simulated year over a drifting market
# ------------------------------------------------------------------------------------------------------

SHIFT = "2025-07-01"
YEAR = GeneratorConfig(
    accounts=3000,  # the checks below hold with margin; a training's time grows with the history (was 4000)
    months=36,
    seed=11,
    end="2026-11-01",
    shift_from=SHIFT,
    shift_industry_effect={"manufacturing": 2.0},  # a non-target industry starts converting
    shift_source_effect={"event": -2.0},  # and the event channel stops converting ...
)
INITIAL = "2025-11-01"  # the first champion: evaluated on 2025Q2, before the shift
# Evaluated on 2025Q3, 2025Q4 and 2026Q2: the quarter between is left out (one training less; the checks below
# see a refusal and promotions without it).
RETRAINS = ("2026-02-01", "2026-05-01", "2026-11-01")
COMMAND_RETRAIN = 1  # this one goes through `retrain_command`, from files, as the CLI would


def channel_dies(tables: dict[str, pd.DataFrame], source: str, since: str, share: float, seed: int = 0):
    """... and dries up: `share` of the channel's leads that arrive, or would have become a deal, on or
    after `since` never come (with their activities and deals)."""
    leads, deals = tables["leads"], tables["deals"]
    deal_created = leads["lead_id"].map(deals.drop_duplicates("lead_id").set_index("lead_id")["created_at"])
    late = (leads["created_at"] >= pd.Timestamp(since)) | (deal_created >= pd.Timestamp(since))
    rng = np.random.default_rng(seed)
    gone = set(
        leads.loc[(leads["lead_source"] == source) & late & (rng.random(len(leads)) < share), "lead_id"]
    )
    return {
        "accounts": tables["accounts"],
        "leads": leads[~leads["lead_id"].isin(gone)].reset_index(drop=True),
        "activities": tables["activities"][~tables["activities"]["lead_id"].isin(gone)].reset_index(
            drop=True
        ),
        "deals": deals[~deals["lead_id"].isin(gone)].reset_index(drop=True),
    }


@dataclass
class Year:
    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    initial: RetrainResult
    retrains: list[RetrainResult | None]  # None for the one run through the command
    command_exit: int
    command_output: str
    cards: Path
    data: Path


@pytest.fixture(scope="module")
def year(tmp_path_factory, empty_mlflow_db):
    """An initial champion and three quarterly retrains over a market that shifts on 2025-07-01.

    The timeline follows from the maturity rule (120 days): a retrain as of A is evaluated on the latest
    quarter ending by A - 120 days, so the retrain of 2026-02-01 is the first whose evaluation quarter
    (2025Q3) is after the shift, and the challenger of 2026-11-01 is the first (of these) with
    post-shift deals in its training window (trailing_quarters=4 so that they weigh in sooner). Nothing is
    made worse on purpose: whether a challenger is promoted is the gate's own verdict on the intervals
    (challengers trained before the shift could be learnt are about as good as the champion).
    """
    folder = tmp_path_factory.mktemp("year")
    store = new_store(empty_mlflow_db, folder / "mlflow")  # a copy of the session's migrated empty store
    history = generate_history(YEAR)
    tables = channel_dies(history.tables(), "event", SHIFT, share=0.95)
    data = folder / "crm"
    write_tables(tables, data)
    # No card at each training (rendering it is most of a training's time): the retrain's own card, with its
    # findings, is still written for the first retrain after the shift; the card at training has its tests.
    cfg = load_config(overrides=["model.bootstrap_rounds=20", "registry.model_card=false"])
    rcfg = RetrainConfig(trailing_quarters=4, trigger="simulated year")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store)
        mp.setenv("USER", "test-suite")
        initial = run_retrain(tables, cfg, rcfg, INITIAL, truth=history.truth, card=False)
        retrains, exit_code, output = [], None, ""
        for k, as_of in enumerate(RETRAINS):
            if k == COMMAND_RETRAIN:
                exit_code, output = _via_command(data, as_of)
                retrains.append(None)
                continue
            first_after_shift = k == 0
            retrains.append(
                run_retrain(
                    tables,
                    cfg,
                    rcfg,
                    as_of,
                    truth=history.truth,
                    out_dir=folder / "cards" if first_after_shift else None,
                    card=first_after_shift,
                )
            )
        yield Year(tables, history.truth, initial, retrains, exit_code, output, folder / "cards", data)


def _via_command(data: Path, as_of: str) -> tuple[int, str]:
    fast = ["--set", "model.bootstrap_rounds=20", "--set", "registry.model_card=false"]
    return retrain_command(data, as_of, *fast, "--trailing-quarters", "4", "--no-card")


def _auc(result: RetrainResult, model: str) -> float:
    return float(result.train.evaluation.comparison.set_index("model").loc[model, "roc_auc"])


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_year_has_promotions_and_refusals_each_recorded_with_reasons(year):
    history = promotion_history("leadscore")
    assert history["version"].tolist() == [4, 3, 2, 1]  # newest first
    assert set(history["decision"]) <= {"promoted", "refused", "evidence_broken"}
    assert (history["reasons"].str.len() > 0).all() and (history["metrics"].str.len() > 0).all()
    assert history["evidence"].str.contains('"low"').all()  # every verdict keeps its intervals
    assert "first model" in history.loc[history["version"] == 1, "reasons"].item()
    refused = history[history["decision"] != "promoted"]
    assert (
        refused["reasons"].str.contains("beyond the noise|look broken|no evidence").all()
    )  # names the check
    client = MlflowClient()
    champion = client.get_model_version_by_alias("leadscore", "champion").version
    assert history.loc[history["decision"] == "promoted", "version"].max() == int(champion)
    tags = client.get_model_version("leadscore", "3").tags
    assert (
        tags["retrain.as_of"] == RETRAINS[COMMAND_RETRAIN] and tags["retrain.evaluation_quarter"] == "2025Q4"
    )
    assert tags["gate.trigger"] == "leadscore retrain by test-suite"  # the command's default trigger
    assert set(history["as_of"]) == {INITIAL, *RETRAINS}
    assert year.command_exit == (
        exit_codes.OK if tags["gate.decision"] == "promoted" else exit_codes.NOT_PROMOTED
    )


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_first_retrain_after_the_shift_names_the_shifted_inputs(year):
    first = year.retrains[0]
    assert first.windows.evaluation_quarter == "2025Q3" and first.champion_version == "1"
    drift = first.drift
    assert "lead_source" in drift.moved  # the event channel dried up: the mix of leads moved
    assert "industry" in drift.shifted  # manufacturing converts: the champion under-predicts it
    manufacturing = drift.segments.query("feature == 'industry' and value == 'manufacturing'").iloc[0]
    assert manufacturing["win_rate"] > manufacturing["predicted"] + 0.15
    score = drift.table.set_index("feature").loc["score"]
    assert 0 <= score["psi"] < 10 and score["status"] in ("stable", "watch", "moved")
    before = year.initial  # no champion yet: no drift, no backtest
    assert before.drift is None and before.backtest is None and before.promoted


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_new_champion_beats_the_old_one_on_the_new_quarter(year):
    last = year.retrains[-1]
    promoted = [r for r in year.retrains if r is not None and r.promoted]
    assert promoted and any(_auc(r, "model") > _auc(r, "champion") for r in promoted)
    # The champion at the end of the year against the one from before the shift, on the year's last quarter.
    test = last.train.data.frame.iloc[last.train.split.test]
    y = last.train.data.y[last.train.split.test]
    old = load_scorer("models:/leadscore/1")
    new = load_scorer("models:/leadscore@champion")
    old_auc = roc_auc(y, old.model.predict_proba(test))
    new_auc = roc_auc(y, new.model.predict_proba(test))
    assert new_auc > old_auc + 0.015, (new_auc, old_auc)  # seen: 0.749 against 0.726


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_backtest_checks_the_live_model_on_leads_that_closed_since(year):
    backtest = year.retrains[0].backtest
    assert backtest.model_version == "1"
    assert backtest.scored_at == pd.Timestamp(RETRAINS[0]) - pd.Timedelta(days=90)
    assert backtest.table["grade"].tolist() == ["A", "B", "C", "D"]
    assert backtest.n_leads == backtest.table["leads"].sum() > 100
    assert backtest.a_beats_d is True and backtest.auc > 0.65
    assert backtest.table["promised_win_rate"].notna().all()  # the champion's own evaluation, beside


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_report_card_and_run_artifacts(year):
    first = year.retrains[0]
    report = (year.cards / REPORT_NAME).read_text()
    assert "2025Q3" in report and "lead_source" in report and "manufacturing" in report
    assert "## Backtest" in report and ("NOT promoted" in report or "promoted to champion" in report)
    assert {p.name for p in first.paths} >= {REPORT_NAME, "model_card.html", "model_card.md"}
    assert "Retrain as of 2026-02-01" in (year.cards / "model_card.md").read_text()
    client = MlflowClient()
    run = client.get_run(first.train.run_id)
    assert run.data.metrics["drift_features_moved"] >= 1 and "drift_psi_score" in run.data.metrics
    logged = {a.path for a in client.list_artifacts(first.train.run_id, "drift")}
    assert logged == {"drift/drift.csv", "drift/segments.csv"}
    tags = client.get_model_version("leadscore", first.version).tags
    assert "lead_source" in tags["drift.moved"] and "industry" in tags["drift.shifted"]
    assert tags["gate.trigger"] == "simulated year"


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_retrain_command_prints_the_comparison_and_the_verdict(year):
    out = year.command_output
    assert "Retrain as of 2026-05-01" in out and "2025Q4" in out
    assert "challenger" in out and "champion" in out and "Backtest" in out
    assert "promoted" in out


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_history_command_lists_every_version_with_its_decision(year, capsys):
    assert history_command("leadscore") == exit_codes.OK
    out = capsys.readouterr().out
    assert "4 versions" in out and "promoted" in out and "refused" in out
    for as_of in (INITIAL, *RETRAINS):
        assert as_of in out


@pytest.mark.slow  # a simulated year: four trainings over a 36-month history
def test_retrain_too_early_for_the_history_exits_with_not_enough_data(year):
    code, out = retrain_command(year.data, "2024-03-01", "--set", "model.bootstrap_rounds=20", "--no-card")
    assert code == exit_codes.NOT_ENOUGH_DATA
    assert "not enough data to retrain" in out and "Pick a later --as-of" in out
