"""The data contract's cost per call: features.contracts.validate_tables against a bare pandera check.

Run: .venv/bin/python -m benchmarks.bench_validate [--repeats 20]

Validation runs on every streamed part, every Spark part and every batch run, so its fixed cost per call
matters as much as its cost per row. Two inputs from the synthetic history (300 accounts, 12 months, seed 9,
with planted dirty rows): one lead with its account and activities, and the whole history. For each, the
best of `--repeats` wall times of validate_tables (coercion, the contract's checks, cross-table references,
the quarantine) and, as the reference measured in the same run, of validating the same tables as read with
the public pandera schemas (features.contracts.table_schema, lazily, no coercion and no quarantine: what a
bare pandera check of the tables costs). Prints Markdown; the ratio is the number to compare across machines.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable

import pandas as pd
from pandera.errors import SchemaErrors

from features.contracts import TABLES, table_schema, validate_tables
from features.synthetic import GeneratorConfig, generate_history


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    work()  # warm: imports and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_pandera(tables: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        # The dirty rows fail: the reference is the check's cost, not its verdict.
        with contextlib.suppress(SchemaErrors):
            table_schema(name).validate(tables[name], lazy=True)


def one_lead(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    lead = tables["leads"].iloc[:1]
    return {
        "accounts": tables["accounts"][tables["accounts"]["account_id"].isin(lead["account_id"])],
        "leads": lead,
        "activities": tables["activities"][tables["activities"]["lead_id"].isin(lead["lead_id"])],
        "deals": tables["deals"].iloc[:0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    history = generate_history(GeneratorConfig(accounts=300, months=12, seed=9, dirty_rows=3)).tables()
    print("| input | rows (accounts / leads / activities / deals) | validate_tables | bare pandera | ratio |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, tables in (("one lead", one_lead(history)), ("300 accounts", history)):
        ours = best_seconds(lambda t=tables: validate_tables(t), args.repeats)
        bare = best_seconds(lambda t=tables: bare_pandera(t), args.repeats)
        rows = " / ".join(f"{len(tables[name]):,}" for name in TABLES)
        print(f"| {label} | {rows} | {ours * 1000:.1f} ms | {bare * 1000:.1f} ms | {ours / bare:.2f} |")


if __name__ == "__main__":
    main()
