"""Score trend: how many leads move between two monthly runs per steady threshold, and what the trend costs.

Run: .venv/bin/python -m benchmarks.bench_trend [--leads 1000000]

1. The test suite's small synthetic history (2,500 accounts, 18 months) is trained on once (fast config, no
   registry) and scored as of 2026-09-01 and 2026-10-01; the second run's leads per trend (models.trend) for
   scoring.trend_steady 0.01, 0.02 and 0.05.
2. with_trend on `--leads` made-up leads against a previous run holding 90 % of them: the seconds it adds to
   a scoring run of that size (one Arrow look-up of the ids, vectorised columns). Prints Markdown.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from models.trend import trend_counts, with_trend


def monthly_moves() -> list[str]:
    from features.synthetic import GeneratorConfig, generate_history
    from pipelines.score import run_score
    from pipelines.settings import load_config
    from pipelines.train import run_train

    history = generate_history(GeneratorConfig(accounts=2500, months=18, seed=5))
    cfg = load_config(overrides=["model.bootstrap_rounds=20", "registry.model_card=false"])
    scorer = run_train(history.tables(), cfg, register=False).scorer
    runs = {
        day: run_score(scorer, history.tables(), pd.Timestamp(day), None, reasons=False).scores
        for day in ("2026-09-01", "2026-10-01")
    }
    before, now = runs["2026-09-01"], runs["2026-10-01"]
    lines = [
        f"{len(now):,} leads scored as of 2026-10-01 against {len(before):,} as of 2026-09-01",
        "",
        "| steady | rising | falling | steady | new | grade up | grade down |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for steady in (0.01, 0.02, 0.05):
        counts = trend_counts(with_trend(now, before[["lead_id", "score", "grade"]], steady))["leads"]
        lines.append(f"| {steady} | " + " | ".join(f"{n:,}" for n in counts) + " |")
    return lines


def cost(leads: int) -> str:
    rng = np.random.default_rng(0)
    ids = pd.Series([f"L{i:08d}" for i in range(leads)], dtype="str")
    grades = pd.Series(np.array(list("ABCD"))[rng.integers(0, 4, leads)], dtype="str")
    now = pd.DataFrame({"lead_id": ids, "score": rng.random(leads), "grade": grades})
    previous = now.sample(frac=0.9, random_state=1).assign(
        score=lambda f: np.clip(f["score"] + rng.normal(0, 0.05, len(f)), 0, 1)
    )
    start = time.perf_counter()
    with_trend(now, previous, 0.05)
    return f"with_trend on {leads:,} leads: {time.perf_counter() - start:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    args = parser.parse_args()
    print("\n".join(monthly_moves()))
    print()
    print(cost(args.leads))


if __name__ == "__main__":
    main()
