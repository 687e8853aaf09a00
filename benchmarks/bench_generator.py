"""Synthetic CRM history: generation speed and the oracle AUC of the demo data.

Run: .venv/bin/python -m benchmarks.bench_generator
"""

from __future__ import annotations

import time

import numpy as np

from features.synthetic import GeneratorConfig, generate_history
from models.evaluate import oracle_auc

RUNS = 3


def _median_seconds(cfg: GeneratorConfig) -> tuple[float, int, int]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        history = generate_history(cfg)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), len(history.leads), len(history.activities)


def main() -> str:
    lines = [
        "| data | leads | activities | median seconds | leads/s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, cfg in (
        ("demo (8,000 accounts, 24 months)", GeneratorConfig()),
        ("50k leads (16,700 accounts, 12 months)", GeneratorConfig(accounts=16_700, months=12)),
    ):
        seconds, leads, activities = _median_seconds(cfg)
        lines.append(f"| {label} | {leads:,} | {activities:,} | {seconds:.2f} | {leads / seconds:,.0f} |")
    demo = generate_history(GeneratorConfig())
    deals = demo.deals.merge(demo.truth, on=["deal_id", "lead_id"])
    closed = deals[deals["outcome"] != "open"]
    won = (closed["outcome"] == "won").to_numpy(dtype=int)
    lines += [
        "",
        f"Demo data: {len(closed):,} closed deals, {won.mean():.1%} won; oracle AUC (true probabilities, all closed "
        f"deals) {oracle_auc(won, closed['true_probability'].to_numpy()):.3f}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
