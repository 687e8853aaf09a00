"""Today's call list: the latest scores cut to the reps' capacity, with an exploration slice.

A score-ordered list only ever calls the leads the model already likes, so the next retrain never learns
whether the leads it ranked low were right to be low. The exploration slice spends a small share of the
capacity on leads drawn at random from below the cut (never a disqualified one) and flags them, with the
chance each had of being drawn, so their outcomes can be read without bias later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

QUEUE_COLUMNS = (
    "call_order",
    "day",
    "rep",
    "lead_id",
    "score",
    "grade",
    "fit_tier",
    "exploration",
    "exploration_chance",
    "reasons",
    "scores_as_of",
    "model_name",
    "model_version",
)


class QueueConfig(BaseModel):
    """How the call list is built (`queue:` in the run configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exploration_share: float = Field(0.05, ge=0, le=0.5, allow_inf_nan=False)  # of the capacity; 0: off
    seed: int = Field(0, ge=0)  # with the scores' date, fixes which leads the exploration slice draws
    # routed to senior reps first when there are any; a grade not in A-D (a typo, "a") would route nothing
    senior_grades: tuple[Literal["A", "B", "C", "D"], ...] = ("A", "B")


class QueueError(ValueError):
    """The call list cannot be built as asked; the message names the setting and the fix."""


class NoCallableLeads(QueueError):
    """Every lead in the scores is disqualified: the data or the ICP rules, not the command line, to fix."""


@dataclass(frozen=True)
class Capacity:
    """Who calls, and how much: `reps` reps (of whom `senior_reps` senior) making `per_rep` calls a day."""

    reps: int
    per_rep: int
    days: int = 1
    senior_reps: int = 0

    @property
    def calls(self) -> int:
        return self.reps * self.per_rep * self.days

    def check(self) -> None:
        """Raise QueueError on a capacity that cannot make a plan."""
        for name, value in (("--reps", self.reps), ("--per-rep", self.per_rep), ("--days", self.days)):
            if value < 1:
                raise QueueError(f"{name} is {value}: give at least 1")
        if not 0 <= self.senior_reps <= self.reps:
            raise QueueError(
                f"--senior-reps is {self.senior_reps}: give a number from 0 to --reps ({self.reps})"
            )


@dataclass(frozen=True)
class ExpectedWins:
    """Expected wins (sums of calibrated scores) of the plan and of two lists of the same length."""

    plan: float
    score_ordered: float
    random: float

    @property
    def exploration_cost(self) -> float:
        """Expected wins the exploration slice gives up against the plain score-ordered list."""
        return self.score_ordered - self.plan


@dataclass(frozen=True)
class CallPlan:
    """The call list and what it is expected to bring."""

    calls: pd.DataFrame  # QUEUE_COLUMNS, one row per call, in calling order
    expected: ExpectedWins
    callable_leads: int  # open leads not disqualified
    disqualified_leads: int


def exploration_size(calls: int, share: float) -> int:
    """Calls given to exploration: the share of the capacity, rounded half up (0 when the share is 0)."""
    return int(np.floor(calls * share + 0.5))


def callable_leads(scores: pd.DataFrame) -> pd.DataFrame:
    """The leads the guardrail lets anyone call, best first (rank_score, then lead_id for ties)."""
    kept = scores.loc[~scores["disqualified"].astype(bool)]
    order = np.lexsort((kept["lead_id"].astype("str").to_numpy(), -kept["rank_score"].to_numpy(dtype=float)))
    return kept.iloc[order].reset_index(drop=True)


def check_capacity_fits(capacity: Capacity, callable_count: int, disqualified: int) -> None:
    """Raise QueueError when there are fewer leads to call than calls to make (or none at all)."""
    if callable_count == 0:
        raise NoCallableLeads(
            f"no lead can be called: all {disqualified:,} leads in the scores are disqualified by the ICP "
            "guardrail; check the scores file or the ICP rules"
        )
    if capacity.calls > callable_count:
        per_rep = callable_count // (capacity.reps * capacity.days)
        fix = f"lower --per-rep to {per_rep} or fewer" if per_rep >= 1 else "lower --reps or --days"
        raise QueueError(
            f"--reps {capacity.reps} x --per-rep {capacity.per_rep} x --days {capacity.days} makes "
            f"{capacity.calls:,} calls, but only {callable_count:,} open leads can be called "
            f"({disqualified:,} more are disqualified): {fix}"
        )


def draw_exploration(below_cut: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Positions (0-based, below the cut) of `size` leads drawn uniformly without replacement."""
    return np.sort(rng.choice(below_cut, size=size, replace=False)) if size else np.array([], dtype=int)


def interleave(ranked: np.ndarray, explored: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One calling order: the explored leads at random places among the ranked ones (not left to the end of
    the day, where they would be the first calls skipped; not evenly spaced, which would hand them all to the
    same rep)."""
    total = len(ranked) + len(explored)
    slots = np.zeros(total, dtype=bool)
    slots[rng.choice(total, size=len(explored), replace=False)] = True
    order = np.empty(total, dtype=int)
    order[~slots], order[slots] = ranked, explored
    return order


def assign_reps(grades: pd.Series, capacity: Capacity, senior_grades: tuple[str, ...]) -> pd.DataFrame:
    """Rep and day of each call, in calling order.

    Senior reps (if any) take the senior grades first, best first, up to their capacity, then the next calls
    in order; the other reps take the rest. Within a group, calls go round the reps, so each day every rep has
    a share of that day's best leads.
    """
    senior_calls = capacity.senior_reps * capacity.per_rep * capacity.days
    senior_first = grades.isin(senior_grades).to_numpy()
    order = np.argsort(~senior_first, kind="stable")  # senior grades first, keeping the calling order
    to_senior = np.zeros(len(grades), dtype=bool)
    to_senior[order[:senior_calls]] = True
    rep = np.empty(len(grades), dtype=object)
    day = np.zeros(len(grades), dtype=int)
    groups = [
        (to_senior, capacity.senior_reps, "senior"),
        (~to_senior, capacity.reps - capacity.senior_reps, "rep"),
    ]
    for member, reps, label in groups:
        positions = np.flatnonzero(member)
        if not len(positions):
            continue
        slot = np.arange(len(positions))
        rep[positions] = [f"{label} {k + 1}" for k in slot % reps]
        day[positions] = slot // (reps * capacity.per_rep) + 1
    return pd.DataFrame({"day": day, "rep": rep})


def plan_calls(scores: pd.DataFrame, capacity: Capacity, cfg: QueueConfig) -> CallPlan:
    """Today's call list from one scoring run's output (the score table)."""
    capacity.check()
    leads = callable_leads(scores)
    disqualified = len(scores) - len(leads)
    check_capacity_fits(capacity, len(leads), disqualified)
    explore = exploration_size(capacity.calls, cfg.exploration_share)
    cut = capacity.calls - explore
    rng = np.random.default_rng([cfg.seed, _day_number(scores)])
    explored = cut + draw_exploration(len(leads) - cut, explore, rng)
    chosen = interleave(np.arange(cut), explored, rng)
    calls = leads.iloc[chosen].reset_index(drop=True)
    is_explored = np.isin(chosen, explored)
    chance = explore / (len(leads) - cut) if explore else 0.0
    routed = assign_reps(calls["grade"].astype("str"), capacity, cfg.senior_grades)
    table = pd.DataFrame(
        {
            "call_order": np.arange(1, len(calls) + 1),
            "day": routed["day"],
            "rep": routed["rep"],
            "lead_id": calls["lead_id"],
            "score": calls["score"],
            "grade": calls["grade"],
            "fit_tier": calls["fit_tier"],
            "exploration": is_explored,
            "exploration_chance": np.where(is_explored, chance, np.nan),
            "reasons": calls["reasons"],
            "scores_as_of": calls["as_of"],
            "model_name": calls["model_name"],
            "model_version": calls["model_version"],
        }
    )
    table = table.sort_values(["day", "call_order"], kind="stable").reset_index(drop=True)
    table["call_order"] = np.arange(1, len(table) + 1)
    probabilities = leads["score"].to_numpy(dtype=float)
    expected = ExpectedWins(
        plan=float(calls["score"].sum()),
        score_ordered=float(probabilities[: capacity.calls].sum()),
        random=float(probabilities.mean() * capacity.calls),
    )
    return CallPlan(table[list(QUEUE_COLUMNS)], expected, len(leads), disqualified)


def exploration_outcomes(calls: pd.DataFrame, won: pd.Series) -> pd.DataFrame:
    """Win rate of the explored and of the ranked calls whose outcome is known.

    `won` maps lead_id to 1 (won) or 0 (lost); leads without an outcome yet are left out. The explored leads'
    rate is what the model's low ranks are worth; the expected rate (their mean score) says whether the model
    was right to rank them low.
    """
    known = calls.assign(won=calls["lead_id"].map(won)).dropna(subset=["won"])
    rows = []
    for explored, label in ((True, "exploration"), (False, "ranked")):
        part = known.loc[known["exploration"].astype(bool) == explored]
        rows.append(
            {
                "calls": label,
                "with_outcome": len(part),
                "won": int(part["won"].sum()),
                "win_rate": part["won"].mean() if len(part) else np.nan,
                "expected_win_rate": part["score"].mean() if len(part) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _day_number(scores: pd.DataFrame) -> int:
    """The scores' date as a day number, so each day's slice draws other leads (0 without dates)."""
    times = pd.to_datetime(scores["as_of"], errors="coerce").dropna()
    return int(times.max().value // 86_400_000_000_000) if len(times) else 0
