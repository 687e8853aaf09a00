"""Job: `leadscore queue`, today's call list from the latest published scores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from features.contracts import QUARANTINE_COLUMNS
from models.queue import CallPlan, Capacity, QueueConfig, exploration_size, plan_calls
from pipelines.io import InputError, for_spreadsheets, format_of, read_frame, write_frame
from pipelines.score import scores_from_csv, verify_published

NEEDED_COLUMNS = ("lead_id", "as_of", "score", "grade", "rank_score", "fit_tier", "disqualified", "reasons")


def read_scores(path: Path) -> pd.DataFrame:
    """A published scores file (checked against its manifest), with the columns the queue needs."""
    if not path.exists():
        raise InputError(f"{path}: no such scores file; run `leadscore score ... --output {path}` first")
    problems = verify_published(path)
    if problems:
        raise InputError(_not_scores(path) or f"{problems[0]}; score again to publish a complete run")
    scores = scores_from_csv(read_frame(path, ids=("lead_id",)))  # a CSV's reasons without their apostrophe
    missing = [c for c in NEEDED_COLUMNS if c not in scores.columns]
    if missing:
        raise InputError(f"{path}: not a leadscore scores file (no column {', '.join(missing)})")
    if scores.empty:
        raise InputError(f"{path}: the scores file holds no lead; there is nobody to call")
    return scores.assign(disqualified=scores["disqualified"].astype("str").str.lower().isin(["true", "1"]))


def _not_scores(path: Path) -> str:
    """What `path` is when it is a run's quarantine or manifest, or another quarantine, given as --scores by
    mistake (the sentence naming the scores file to give), else ''. Such a file was said to have 'no manifest',
    which does not tell what was given."""
    name = path.name
    for suffix, what in ((".quarantine.csv", "the quarantine"), (".manifest.json", "the manifest")):
        stem = name.removesuffix(suffix)
        if stem == name or stem.endswith(".failed-run"):
            continue
        manifest = path.with_name(f"{stem}.manifest.json")
        try:
            scores = json.loads(manifest.read_text())["files"]["scores"]["file"]
        except (OSError, ValueError, KeyError, TypeError):
            break
        return f"{path}: {what} of a published run, not its scores; give --scores {path.with_name(scores)}"
    if name.endswith(".quarantine.csv") or _has_quarantine_header(path):
        return (
            f"{path}: a quarantine file (the rows that broke the data contract), not scores; give --scores the "
            "file `leadscore score --output` wrote"
        )
    return ""


def _has_quarantine_header(path: Path) -> bool:
    if path.suffix.lower() != ".csv":
        return False
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return set(QUARANTINE_COLUMNS) <= set(header)


def run_queue(scores_path: Path, capacity: Capacity, cfg: QueueConfig, output: Path) -> CallPlan:
    """Read the scores, plan the calls, write the call list atomically."""
    plan = plan_calls(read_scores(scores_path), capacity, cfg)
    # A CSV call list is opened in a spreadsheet by the reps: its reasons start with + or -.
    write_frame(for_spreadsheets(plan.calls) if format_of(output) == "csv" else plan.calls, output)
    return plan


def expected_wins_table(plan: CallPlan) -> pd.DataFrame:
    """The plan's expected wins against a score-ordered list and a random list of the same length."""
    expected = plan.expected
    return pd.DataFrame(
        {
            "list": ["this plan", "score-ordered, no exploration", "random"],
            "expected_wins": [expected.plan, expected.score_ordered, expected.random],
        }
    )


def calls_by_rep(plan: CallPlan) -> pd.DataFrame:
    """Calls per rep and day, with the grades and the explored leads among them."""
    calls = plan.calls
    table = calls.groupby(["rep", "day"], sort=False).agg(
        calls=("lead_id", "size"),
        grade_a_b=("grade", lambda g: int(g.isin(["A", "B"]).sum())),
        exploration=("exploration", "sum"),
        expected_wins=("score", "sum"),
    )
    return table.reset_index()


def scores_sentence(calls: pd.DataFrame, today: pd.Timestamp) -> str:
    """Which scores the plan comes from and how old they are: a scheduled queue fed a stale scores file
    (yesterday's run failed) plans from leads as they were then, and only this line says so."""
    as_of = pd.Timestamp(calls["scores_as_of"].max()).tz_localize(None).normalize()
    age = (today.normalize() - as_of).days
    when = (
        "today" if age == 0 else f"{age:,} day{'s' if abs(age) != 1 else ''} {'ago' if age > 0 else 'ahead'}"
    )
    models = ", ".join(
        f"{name} version {version}"
        for name, version in calls[["model_name", "model_version"]].drop_duplicates().itertuples(index=False)
    )
    return f"From scores as of {as_of:%Y-%m-%d} ({when}), by {models}."


def no_exploration_sentence(calls: int, share: float) -> str:
    """Why no call explores: the share is 0, or its part of this few calls rounds to none (it read "Exploration
    is off (queue.exploration_share is 0)" of the default 0.05 on a list of 2 calls)."""
    if share == 0:
        return "Exploration is off (queue.exploration_share is 0): only the best-scored leads are called."
    fewest = math.ceil(0.5 / share)  # the fewest calls of which the share rounds to one (exploration_size)
    fewest += 1 if exploration_size(fewest, share) < 1 else -1 if exploration_size(fewest - 1, share) else 0
    return (
        f"No call explores: queue.exploration_share {share:g} of {calls:,} calls rounds to none (it takes "
        f"{fewest:,} calls or more); only the best-scored leads are called."
    )


def plan_sentences(plan: CallPlan, cfg: QueueConfig, today: pd.Timestamp | None = None) -> list[str]:
    """What the console says after the tables (`today`: the day the plan is made, for the scores' age)."""
    calls = plan.calls
    explored = int(calls["exploration"].sum())
    expected = plan.expected
    lines = [
        scores_sentence(calls, today if today is not None else pd.Timestamp.now("UTC").tz_localize(None)),
        f"{len(calls):,} calls planned from {plan.callable_leads:,} open leads that can be called "
        f"({plan.disqualified_leads:,} disqualified leads are never called).",
    ]
    if explored:
        chance = calls.loc[calls["exploration"], "exploration_chance"].iloc[0]
        lines.append(
            f"{explored} of the {len(calls):,} calls ({explored / len(calls):.0%}; queue.exploration_share "
            f"{cfg.exploration_share:g}) go to leads drawn at random from below the cut (each had a {chance:.1%} "
            "chance), flagged in the exploration column: their outcomes tell the next retrain what low scores "
            f"are worth. Cost: {expected.exploration_cost:.2f} expected wins."
        )
    else:
        lines.append(no_exploration_sentence(len(calls), cfg.exploration_share))
    if expected.random > 0:
        lines.append(f"The plan expects {expected.plan / expected.random:.1f}x the wins of a random list.")
    return lines
