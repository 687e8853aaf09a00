"""The promotion gate in the flow users live with: a model retrained every quarter on a history that grew.

Run: .venv/bin/python -m benchmarks.bench_quarterly [--seeds 0,1,...,9] [--accounts 2500]

bench_gate trains champion and challenger on one split of one history. Here each step is the command a
scheduler runs, in a subprocess, and its exit code is the verdict it acts on. Per seed, a 24-month synthetic
history (`leadscore generate`, ending 2026-10-01) and an MLflow store of its own:

1. version 1: `leadscore retrain --as-of 2026-04-01` (the first model, against its strongest baseline);
2. from a copy of that store each time, `leadscore retrain --as-of 2026-07-01` on:
   - next quarter: the same history, a quarter later (target: promoted);
   - outcomes shuffled since version 1: the deals closed after 2026-04-01 have their outcomes shuffled among
     them, as a broken join in the outcome feed would (target: never promoted);
   - outcomes swapped since version 1: won and lost exchanged for those deals, as a remapped deal stage
     would (target: never promoted);
   - lost deals no longer delivered since version 1: those deals that were lost are gone from the deals
     table, as a feed filtered to won deals would (target: never promoted);
   - no outcome written since version 1: those deals stay open, without a closing date, as a feed that
     stopped would leave them (target: never promoted);
   - intent features dropped: the same history with a configuration that leaves out every intent feature
     (target: never promoted);
3. better challenger: version 1 trained without the intent features, then the next quarter with all of
   them (target: promoted);
4. honest histories that look unusual, each with a version 1 of its own where its history differs before
   2026-04-01 (target: never "evidence broken", the verdict that stops a scheduler with an alert):
   - the win rate climbing, a segment starting to convert, seasonal demand (`generate --scenario
     base_rate_shift`, `concept_shift`, `seasonality`);
   - deals booked at quarter end: every close moved to its quarter's last day, as a business that books
     in batches writes them;
   - marketing paused since version 1: 95 % of the leads created after 2026-04-15 never arrive (with their
     activities and deals), so new leads and closes both fall.

Exit codes (README): 0 promoted, 6 refused by the gate, 7 evidence looks broken, 4 refused at training (no
learnable signal); anything else is an error and is printed. Prints Markdown: the verdicts per scenario, and
the AUC difference the gate measured (challenger minus champion, on the evaluation quarter).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from statistics import median
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd

from features.build import feature_groups
from features.config import FeatureConfig

ROOT = Path(__file__).resolve().parents[1]
FIRST, NEXT = "2026-04-01", "2026-07-01"
SCENARIOS = {
    "next quarter": "promoted",
    "outcomes shuffled since version 1": "never promoted",
    "outcomes swapped since version 1": "never promoted",
    "lost deals no longer delivered since version 1": "never promoted",
    "no outcome written since version 1": "never promoted",
    "intent features dropped": "never promoted",
    "better challenger (version 1 without intent)": "promoted",
    "win rate climbing (base_rate_shift)": "never evidence broken",
    "a segment starts converting (concept_shift)": "never evidence broken",
    "seasonal demand (seasonality)": "never evidence broken",
    "deals booked at quarter end": "never evidence broken",
    "marketing paused since version 1": "never evidence broken",
}
# Honest histories of the generator's own scenarios (`generate --scenario`), each with its version 1.
HONEST_SCENARIOS = {
    "win rate climbing (base_rate_shift)": "base_rate_shift",
    "a segment starts converting (concept_shift)": "concept_shift",
    "seasonal demand (seasonality)": "seasonality",
}
PAUSED_FROM = "2026-04-15"
# The feeds broken since version 1 (with_outcomes_changed's `how`).
BROKEN_FEEDS = {
    "outcomes shuffled since version 1": "shuffle",
    "outcomes swapped since version 1": "swap",
    "lost deals no longer delivered since version 1": "drop_lost",
    "no outcome written since version 1": "stop",
}
STATUS = {0: "promoted", 6: "refused", 7: "evidence broken", 4: "refused at training"}
DIFFERENCE = re.compile(
    r"AUC difference with the champion ([+-]\d\.\d+) \(interval ([+-]\d\.\d+) to ([+-]\d\.\d+)"
)


@dataclass
class Step:
    """One CLI run: its exit code, what the gate measured, and what it said when it failed."""

    exit_code: int
    difference: tuple[float, float, float] | None = None
    live: bool | None = None
    said: str = ""

    @property
    def status(self) -> str:
        return STATUS.get(self.exit_code, f"error (exit {self.exit_code})")


@dataclass
class Results:
    verdicts: dict[str, Counter] = field(default_factory=lambda: {name: Counter() for name in SCENARIOS})
    differences: dict[str, list[tuple[float, float, float]]] = field(
        default_factory=lambda: {name: [] for name in SCENARIOS}
    )
    live: dict[str, Counter] = field(default_factory=lambda: {name: Counter() for name in SCENARIOS})
    errors: list[str] = field(default_factory=list)


def cli_step(args: list[str], store: Path) -> Step:
    """Run `leadscore ARGS` with `store` as its tracking store and working folder."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, env=env, cwd=store
    )
    said = " ".join((done.stdout + done.stderr).split())  # the console wraps long lines
    found = DIFFERENCE.search(said)
    difference = tuple(float(v) for v in found.groups()) if found else None
    live = None
    if "was scored as it scores leads today" in said:
        live = True
    elif "its tested model" in said or "was scored as it was tested" in said:
        live = False
    return Step(done.returncode, difference, live, said)  # type: ignore[arg-type]


def retrain(data: Path, as_of: str, store: Path, sets: list[str], force: str | None = None) -> Step:
    """`leadscore retrain` as of `as_of`, with `--set` for each of `sets` and `--force` when given."""
    options = [item for value in ["model.lightgbm.num_threads=1", *sets] for item in ("--set", value)]
    if force:
        options += ["--force", force]
    return cli_step(["retrain", "--input", str(data), "--as-of", as_of, "--no-card", *options], store)


def with_outcomes_changed(data: Path, out: Path, since: str, how: str, seed: int) -> Path:
    """A copy of the CRM folder `data` whose deals closed after `since` have their outcomes shuffled among
    them ("shuffle"), won and lost exchanged ("swap"), the lost ones left out ("drop_lost"), or left open
    without a closing date ("stop")."""
    shutil.copytree(data, out)
    deals = pd.read_parquet(out / "deals.parquet")
    changed = deals["outcome"].isin(["won", "lost"]) & (deals["closed_at"] >= pd.Timestamp(since))
    if how == "stop":
        deals.loc[changed, ["outcome", "closed_at", "lost_reason"]] = ["open", pd.NaT, None]
        deals.to_parquet(out / "deals.parquet", index=False)
        return out
    if how == "drop_lost":
        deals[~(changed & (deals["outcome"] == "lost"))].to_parquet(out / "deals.parquet", index=False)
        return out
    outcomes = deals.loc[changed, "outcome"]
    if how == "shuffle":
        outcomes = pd.Series(
            np.random.default_rng(seed).permutation(outcomes.to_numpy()), index=outcomes.index
        )
    else:
        outcomes = outcomes.map({"won": "lost", "lost": "won"})
    deals.loc[changed, "outcome"] = outcomes
    deals.loc[changed, "lost_reason"] = outcomes.map({"lost": "timing"})
    deals.to_parquet(out / "deals.parquet", index=False)
    return out


def booked_at_quarter_end(data: Path, out: Path) -> Path:
    """A copy of the CRM folder `data` whose every close is written on its quarter's last day (at 18:00)."""
    shutil.copytree(data, out)
    deals = pd.read_parquet(out / "deals.parquet")
    closed = deals["closed_at"].notna()
    quarter_end = deals.loc[closed, "closed_at"].dt.to_period("Q").dt.end_time.dt.normalize()
    deals.loc[closed, "closed_at"] = quarter_end + pd.Timedelta(hours=18)
    deals.to_parquet(out / "deals.parquet", index=False)
    return out


def marketing_paused(data: Path, out: Path, since: str, kept: float, seed: int) -> Path:
    """A copy of the CRM folder `data` where only `kept` of the leads created after `since` arrive; the others'
    activities and deals are gone with them."""
    shutil.copytree(data, out)
    leads = pd.read_parquet(out / "leads.parquet")
    late = leads["created_at"] >= pd.Timestamp(since)
    dropped = late & (np.random.default_rng(seed).random(len(leads)) >= kept)
    gone = set(leads.loc[dropped, "lead_id"])
    leads[~dropped].to_parquet(out / "leads.parquet", index=False)
    for table in ("activities", "deals"):
        frame = pd.read_parquet(out / f"{table}.parquet")
        frame[~frame["lead_id"].isin(gone)].to_parquet(out / f"{table}.parquet", index=False)
    return out


def copy_store(store: Path, out: Path) -> Path:
    """A copy of the tracking store (database and artifacts) after version 1, for one scenario."""
    shutil.copytree(store, out)
    return out


def generate(folder: Path, out: Path, accounts: int, seed: int, scenario: str | None = None) -> Path:
    """`leadscore generate` of a 24-month history into `out` (the generator's scenario when given)."""
    args = ["generate", "--accounts", str(accounts), "--months", "24", "--seed", str(seed), "--out", str(out)]
    generated = cli_step([*args, *(["--scenario", scenario] if scenario else [])], folder)
    if generated.exit_code:
        raise RuntimeError(f"seed {seed}: generate failed: {generated.said[-400:]}")
    return out


def first_version(data: Path, store: Path, seed: int) -> Path:
    """A store holding version 1, `leadscore retrain --as-of FIRST` on `data` (installed with --force when
    the gate refuses it against its baseline: the next quarter is what is measured)."""
    store.mkdir()
    if retrain(data, FIRST, store, [], force="bench: version 1").exit_code != 0:
        raise RuntimeError(f"seed {seed}: version 1 on {data.name} could not be installed")
    return store


def run_seed(seed: int, accounts: int, folder: Path, results: Results, names: list[str]) -> None:
    """Every scenario of `names` on one seed's history: the histories and versions 1 it needs, then the
    retrain a quarter later, whose exit code is the verdict."""
    data = generate(folder, folder / "data", accounts, seed)
    intent = feature_groups(FeatureConfig())["intent"]
    no_intent = [f"features.exclude_features=[{','.join(intent)}]"]
    stores: dict[str, Path] = {}

    def first() -> Path:
        if "first" not in stores:
            stores["first"] = folder / "first"
            stores["first"].mkdir()
            if retrain(data, FIRST, stores["first"], []).exit_code != 0:
                raise RuntimeError(f"seed {seed}: version 1 was not promoted")
        return stores["first"]

    def weak() -> Path:
        store = folder / "first-without-intent"
        store.mkdir()
        # The gate refuses it against logistic regression on every feature: installed with --force, as a
        # team would install a model it chose for other reasons.
        if retrain(data, FIRST, store, no_intent, force="bench: a weaker champion").exit_code != 0:
            raise RuntimeError(f"seed {seed}: version 1 without intent could not be installed")
        return store

    def broken(how: str) -> tuple[Path, Path, list[str]]:
        return with_outcomes_changed(data, folder / how, FIRST, how, seed), first(), []

    def honest(scenario: str) -> tuple[Path, Path, list[str]]:
        history = generate(folder, folder / scenario, accounts, seed, scenario)
        return history, first_version(history, folder / f"first-{scenario}", seed), []

    def quarter_end() -> tuple[Path, Path, list[str]]:
        history = booked_at_quarter_end(data, folder / "quarter-end")
        return history, first_version(history, folder / "first-quarter-end", seed), []

    runs: dict[str, Callable[[], tuple[Path, Path, list[str]]]] = {
        "next quarter": lambda: (data, first(), []),
        **{name: partial(broken, how) for name, how in BROKEN_FEEDS.items()},
        "intent features dropped": lambda: (data, first(), no_intent),
        "better challenger (version 1 without intent)": lambda: (data, weak(), []),
        **{name: partial(honest, scenario) for name, scenario in HONEST_SCENARIOS.items()},
        "deals booked at quarter end": quarter_end,
        "marketing paused since version 1": lambda: (
            marketing_paused(data, folder / "paused", PAUSED_FROM, 0.05, seed),
            first(),
            [],
        ),
    }
    for i, name in enumerate(names):
        history, store, sets = runs[name]()
        step = retrain(history, NEXT, copy_store(store, folder / f"scenario-{i}"), sets)
        results.verdicts[name][step.status] += 1
        if step.difference:
            results.differences[name].append(step.difference)
        if step.live is not None:
            results.live[name]["live" if step.live else "tested"] += 1
        if step.status.startswith("error"):
            results.errors.append(f"seed {seed}, {name}: exit {step.exit_code}: {step.said[-300:]}")


def report(results: Results, seeds: list[int], accounts: int, seconds: float) -> str:
    lines = [
        f"{len(seeds)} seeds ({seeds[0]} to {seeds[-1]}), each a synthetic history of {accounts:,} accounts over "
        f"24 months; version 1 `leadscore retrain --as-of {FIRST}`, then `leadscore retrain --as-of {NEXT}` "
        "from a copy of its store; the verdict is the exit code; the gate's default settings.",
        "",
        "| scenario | target | promoted | refused | evidence broken | refused at training | errors | "
        "AUC difference, median (interval) | champion scored |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, target in SCENARIOS.items():
        if not sum(results.verdicts[name].values()):
            continue  # not asked (--scenarios)
        c = results.verdicts[name]
        errors = sum(n for status, n in c.items() if status.startswith("error"))
        diffs = results.differences[name]
        shown = "-"
        if diffs:
            shown = (
                f"{median(d[0] for d in diffs):+.3f} ({median(d[1] for d in diffs):+.3f} to "
                f"{median(d[2] for d in diffs):+.3f})"
            )
        live = ", ".join(f"{kind} {n}" for kind, n in sorted(results.live[name].items())) or "-"
        lines.append(
            f"| {name} | {target} | {c['promoted']} | {c['refused']} | {c['evidence broken']} | "
            f"{c['refused at training']} | {errors} | {shown} | {live} |"
        )
    lines += ["", f"Run time: {seconds:.0f} s."]
    lines += [f"- {error}" for error in results.errors]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9", help="generator seeds, comma-separated")
    parser.add_argument("--accounts", type=int, default=2500)
    parser.add_argument(
        "--scenarios",
        default="",
        help="only the scenarios whose name holds one of these words, comma-separated",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    words = [w.strip().lower() for w in args.scenarios.split(",") if w.strip()]
    names = [n for n in SCENARIOS if not words or any(w in n.lower() for w in words)]
    if not names:
        parser.error(f"--scenarios {args.scenarios!r} names none of: {', '.join(SCENARIOS)}")
    results = Results()
    began = time.perf_counter()
    for i, seed in enumerate(seeds):
        with TemporaryDirectory(prefix=f"bench_quarterly_{seed}_") as tmp:
            run_seed(seed, args.accounts, Path(tmp), results, names)
        print(
            f"bench_quarterly: seed {i + 1}/{len(seeds)} ({time.perf_counter() - began:.0f} s)",
            file=sys.stderr,
        )
    print(report(results, seeds, args.accounts, time.perf_counter() - began))


if __name__ == "__main__":
    main()
