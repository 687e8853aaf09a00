"""False alarms and false silences of the checks that call an outcome feed broken: a retrain's stopped closes
and backtest collapse (exit 7), train's stopped-feed warning and score's stopped-closes warning."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models.monitoring import backtest_of, closes_stopped
from models.promotion import ChampionRecord, GateRules, backtest_collapse
from pipelines.io import InputError
from pipelines.retrain import check_history_reaches, run_retrain
from pipelines.settings import RetrainConfig, load_config

AS_OF = pd.Timestamp("2026-10-01")  # small_history runs up to this date


def retrain_verdict(tables, as_of, trained_small, monkeypatch) -> tuple:
    """run_retrain with run_train replaced: the retrain's result and the `evidence_broken` it hands the gate."""
    from pipelines import train as train_module

    passed: dict = {}

    def train(*args, **kwargs):
        passed.update(kwargs)
        return dataclasses.replace(trained_small, run_id=None, version=None)

    monkeypatch.setattr(train_module, "run_train", train)
    cfg = load_config(overrides=["model.bootstrap_rounds=20", "registry.model_card=false"])
    result = run_retrain(tables, cfg, RetrainConfig(backtest_days=90), pd.Timestamp(as_of), card=False)
    return result, passed["evidence_broken"]


def without_leads_since(tables: dict[str, pd.DataFrame], since: str) -> dict[str, pd.DataFrame]:
    """Marketing paused: no lead created on or after `since` (nor its activities and deals)."""
    leads = tables["leads"]
    gone = set(leads.loc[leads["created_at"] >= pd.Timestamp(since), "lead_id"])
    return {name: t[~t["lead_id"].isin(gone)] if "lead_id" in t else t for name, t in tables.items()}


# ------------------------------------------------------------------------------------------------------
# Closes that stop with the leads: the pipeline drained, or the copy is older than --as-of
# ------------------------------------------------------------------------------------------------------


def _closes(days: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(
        {"outcome": ["won", "lost"] * (len(days) // 2), "closed_at": days[: len(days) // 2 * 2]}
    )


def test_closes_that_fell_with_the_new_leads_are_no_stopped_feed():
    """A company that paused marketing drains its pipeline: closes fall under a tenth while no lead (or a
    tenth as many) arrives. It was called a stopped outcome feed (retrain exit 7, train's warning)."""
    as_of, scored_at = pd.Timestamp("2026-07-01"), pd.Timestamp("2026-04-02")
    deals = _closes(pd.date_range("2026-01-05", "2026-03-30", periods=60))
    stopped_leads = pd.Series(pd.date_range("2025-10-01", "2026-01-31", periods=300))
    assert closes_stopped(deals, scored_at, as_of, 40, created=stopped_leads) is None
    fewer_leads = pd.concat([stopped_leads, pd.Series(pd.date_range("2026-04-05", "2026-06-20", periods=5))])
    assert closes_stopped(deals, scored_at, as_of, 40, created=fewer_leads) is None
    # leads still arriving as before while closes stop: the feed
    going_on = pd.Series(pd.date_range("2025-10-01", "2026-06-30", periods=900))
    said = closes_stopped(deals, scored_at, as_of, 40, created=going_on)
    assert said is not None and "the outcome feed looks stopped" in said


def test_retrain_after_a_marketing_pause_is_not_called_broken(
    small_history, trained_small, champion_store, monkeypatch
):
    """No lead since 2026-01-01: the last open deals close by July, so 12 closes in the backtest's 90 days
    against 135 before. The verdict was "evidence looks broken" (exit 7: the outcome feed looks stopped)."""
    result, said = retrain_verdict(
        without_leads_since(small_history.tables(), "2026-01-01"), AS_OF, trained_small, monkeypatch
    )
    assert said == "" and result.backtest is not None


def test_retrain_on_a_copy_older_than_as_of_is_refused_as_input(
    small_history, trained_small, champion_store, monkeypatch
):
    """A stale export (history to 2026-09-30, --as-of 2027-01-15) was called a stopped outcome feed with exit 7
    ('check the deals table'): leads, activities and closes all end there. Now exit 3, naming the newest
    event and the --as-of that fits it; a retrain whose backtest still reads part of the history goes on."""
    with pytest.raises(InputError) as refused:
        retrain_verdict(small_history.tables(), "2027-01-15", trained_small, monkeypatch)
    said = str(refused.value)
    assert "newest lead, activity, deal or close is from 2026-09-30, 106 days before --as-of" in said
    assert "export them again, or pass --as-of 2026-10-01" in said and "feed looks stopped" not in said


def test_a_first_retrain_on_a_copy_older_than_as_of_is_refused_too(small_history, mlflow_store):
    """Without a champion the stale copy went on: its evaluation quarter held deals whose outcomes the copy
    never saw. The same refusal now comes before any window is counted."""
    with pytest.raises(InputError, match="newest lead, activity, deal or close is from 2026-09-30"):
        run_retrain(small_history.tables(), load_config(), RetrainConfig(), "2027-01-15", card=False)


def test_check_history_reaches_the_backtest():
    tables = {
        "leads": pd.DataFrame({"created_at": pd.to_datetime(["2026-01-02", "2026-03-01"])}),
        "activities": pd.DataFrame({"occurred_at": pd.to_datetime(["2026-04-10"])}),
        "deals": pd.DataFrame({"created_at": pd.to_datetime(["2026-01-03"]), "closed_at": [pd.NaT]}),
    }
    check_history_reaches(tables, pd.Timestamp("2026-04-01"), pd.Timestamp("2026-06-30"))  # an activity
    with pytest.raises(InputError, match="is from 2026-04-10.*pass --as-of 2026-04-11"):
        check_history_reaches(tables, pd.Timestamp("2026-05-01"), pd.Timestamp("2026-07-30"))


# ------------------------------------------------------------------------------------------------------
# The backtest's collapse check compares like with like
# ------------------------------------------------------------------------------------------------------


def test_backtest_collapse_leaves_disqualified_leads_out_as_the_registered_auc_did():
    """The champion's registered AUC is on qualified deals (training leaves ICP-disqualified ones out); the
    backtest's collapse check read every lead, disqualified ones with their raw scores. A market where
    disqualified leads (a competitor, a country not served) look good and always lose pulled the AUC down:
    the qualified leads ranked well apart read as AUC 0.46, "the newest outcomes look broken" (exit 7)."""
    rng = np.random.default_rng(0)
    n_qualified, n_disqualified = 200, 150
    won = rng.random(n_qualified) < 0.4
    qualified_score = np.clip(np.where(won, 0.55, 0.3) + rng.normal(0, 0.05, n_qualified), 0.01, 0.99)
    ids = [f"L{i}" for i in range(n_qualified + n_disqualified)]
    scores = pd.DataFrame(
        {
            "lead_id": ids,
            "grade": ["B"] * n_qualified + ["D"] * n_disqualified,
            "score": np.r_[qualified_score, np.full(n_disqualified, 0.8)],
            "disqualified": [False] * n_qualified + [True] * n_disqualified,
        }
    )
    deals = pd.DataFrame(
        {
            "lead_id": ids,
            "outcome": np.r_[np.where(won, "won", "lost"), np.full(n_disqualified, "lost")],
            "closed_at": pd.Timestamp("2026-08-01"),
        }
    )
    scored_at = pd.Timestamp("2026-07-01")
    backtest = backtest_of(scores, deals, scored_at, AS_OF, "1")
    assert backtest.n_leads == 350 and backtest.auc < 0.7  # the report's backtest still shows every lead
    champion = ChampionRecord("1", 0.80, 0.76, 0.84)
    rules = GateRules(bootstrap_rounds=50)
    assert backtest_collapse(backtest.outcomes, backtest.scores, champion, rules, scored_at) is None
    assert len(backtest.outcomes) == n_qualified
    swapped = backtest_collapse(1 - backtest.outcomes, backtest.scores, champion, rules, scored_at)
    assert (
        swapped is not None
        and "the 200 leads it scored as of 2026-07-01 whose deals closed since (ICP-q" in swapped
    )


# ------------------------------------------------------------------------------------------------------
# A business that books its deals at quarter end
# ------------------------------------------------------------------------------------------------------


def booked_at_quarter_end(
    days: int = 540, per_day: int = 10, end: str = "2026-10-01"
) -> dict[str, pd.DataFrame]:
    """Leads every day; every deal closed on the last day of its quarter (the books closed then)."""
    created = pd.Series(
        pd.date_range(pd.Timestamp(end) - pd.Timedelta(days=days), end, freq="D", inclusive="left")
    )
    created = created.repeat(per_day).reset_index(drop=True)
    closed = created.dt.to_period("Q").dt.end_time.dt.normalize() + pd.Timedelta(hours=17)
    closed = closed.where(closed < pd.Timestamp(end))
    outcome = np.where(closed.isna(), "open", np.where(np.arange(len(created)) % 3 == 0, "won", "lost"))
    deals = pd.DataFrame({"created_at": created, "closed_at": closed, "outcome": outcome})
    return {"leads": pd.DataFrame({"created_at": created}), "deals": deals}


@pytest.mark.parametrize("as_of", ["2026-09-29", "2026-09-30"])
def test_closes_booked_at_quarter_end_are_no_stopped_feed_on_the_quarters_last_days(as_of):
    """Retrain --as-of (or score) on the last days of a quarter, for a business whose deals close at quarter
    end: the backtest's 90 days hold no close, the 90 before one quarter's batch. Retrain said "the outcome
    feed looks stopped" (exit 7) and score warned the same; the history was as quiet every quarter. A batch
    missed by 40 days is still named by the retrain."""
    from models.coverage import stopped_closes

    tables, as_of = booked_at_quarter_end(), pd.Timestamp(as_of)
    scored_at = as_of - pd.Timedelta(days=90)
    assert (
        closes_stopped(tables["deals"], scored_at, as_of, 40, created=tables["leads"]["created_at"]) is None
    )
    assert stopped_closes(tables, as_of, 90) is None
    # the same business whose feed stopped after June's batch: quiet longer than ever before
    later = as_of + pd.Timedelta(days=40)
    later_tables = booked_at_quarter_end(days=580, end=str(later.date()))
    deals = later_tables["deals"]
    deals.loc[deals["closed_at"] > pd.Timestamp("2026-07-01"), ["closed_at", "outcome"]] = [pd.NaT, "open"]
    said = closes_stopped(
        deals, later - pd.Timedelta(days=90), later, 40, created=later_tables["leads"]["created_at"]
    )
    assert said is not None and "the newest close: 2026-06-30" in said
    # score judges chance on days with a close: one a quarter cannot make a missed batch unlikely enough
    assert stopped_closes(later_tables, later, 90) is None


# ------------------------------------------------------------------------------------------------------
# Outcomes spelled as the contract reads them
# ------------------------------------------------------------------------------------------------------


def test_outcomes_a_crm_writes_in_capitals_since_june_are_closes_to_the_retrains_checks(
    small_history, trained_small, champion_store, monkeypatch
):
    """The contract reads "WON" and "LOST" as won and lost, so training takes them; the retrain's stopped-feed
    check and backtest counted only "won" and "lost" as written. A CRM that writes capitals since 2026-06-01
    got "0 deals closed ... the outcome feed looks stopped" (exit 7) and no backtest."""
    tables = small_history.tables()
    deals = tables["deals"].copy()
    since = deals["closed_at"] >= pd.Timestamp("2026-06-01")
    deals.loc[since, "outcome"] = deals.loc[since, "outcome"].str.upper()
    result, said = retrain_verdict({**tables, "deals": deals}, AS_OF, trained_small, monkeypatch)
    plain, _ = retrain_verdict(tables, AS_OF, trained_small, monkeypatch)
    assert said == "" and result.backtest.n_leads == plain.backtest.n_leads > 100


# ------------------------------------------------------------------------------------------------------
# A history imported into the CRM with one closing date
# ------------------------------------------------------------------------------------------------------


def test_a_small_business_whose_past_deals_were_imported_on_one_day_is_no_stopped_feed():
    """400 past deals imported with one closing date, then a business of a few closes a quarter. Score's
    Poisson took the import for a rate (about 70 closes expected in 90 days) and warned of a stopped feed at
    its first quiet quarter; the retrain after an import into the backtest's window before called a normal
    quarter (20 closes against 420) a stopped feed (exit 7). Both now count days with a close."""
    from models.coverage import stopped_closes

    imported = [pd.Timestamp("2025-01-06 09:00")] * 400
    spread = pd.to_datetime(
        ["2025-02-10", "2025-03-20", "2025-05-02", "2025-06-11", "2025-07-30", "2025-09-03"]
    )
    later = pd.to_datetime(
        ["2025-10-15", "2025-11-20", "2026-01-08", "2026-02-17", "2026-03-23", "2026-06-10"]
    )
    closed = pd.Series([*imported, *spread, *later])
    deals = pd.DataFrame({"closed_at": closed, "outcome": ["won", "lost"] * (len(closed) // 2)})
    leads = pd.DataFrame({"created_at": pd.date_range("2025-01-06", "2026-09-30", freq="5D")})
    assert stopped_closes({"deals": deals, "leads": leads}, pd.Timestamp("2026-09-20"), 90) is None

    days = pd.date_range("2025-10-01", "2026-09-28", periods=80)
    closed = pd.Series([*days, *[pd.Timestamp("2026-05-04 10:00")] * 400])
    deals = pd.DataFrame({"closed_at": closed, "outcome": ["won", "lost"] * 240})
    created = pd.Series(pd.date_range("2025-10-01", "2026-09-30", freq="D"))
    as_of = pd.Timestamp("2026-10-01")
    assert closes_stopped(deals, as_of - pd.Timedelta(days=90), as_of, 40, created=created) is None


def test_score_says_nothing_of_the_outcome_feed_when_new_leads_fell_to_a_trickle():
    """Marketing paused: a few inbound leads a quarter, the pipeline drained, no close in 90 days. Score
    warned that the outcome feed looks stopped (it needed only one lead in the window)."""
    from models.coverage import stopped_closes

    closed = pd.Series(pd.date_range("2025-07-01", "2026-05-31", periods=600))
    deals = pd.DataFrame({"closed_at": closed, "outcome": ["won", "lost"] * 300})
    steady = pd.date_range("2025-06-01", "2026-04-30", periods=900)
    trickle = pd.Series([*steady, *pd.to_datetime(["2026-07-15", "2026-08-20", "2026-09-10"])])
    as_of = pd.Timestamp("2026-10-01")
    assert stopped_closes({"deals": deals, "leads": pd.DataFrame({"created_at": trickle})}, as_of, 90) is None
    arriving = pd.Series(pd.date_range("2025-06-01", "2026-09-30", periods=1200))
    assert stopped_closes({"deals": deals, "leads": pd.DataFrame({"created_at": arriving})}, as_of, 90) > 100
