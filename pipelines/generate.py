"""Job: write a synthetic CRM history to a folder or a database."""

from __future__ import annotations

from pathlib import Path

from features.synthetic import GeneratorConfig, SyntheticHistory, generate_history
from features.vocab import TABLES
from pipelines.io import OutputError
from pipelines.locations import describe_location, is_database_url, write_tables_output

TRUTH = "truth"  # the table only generate writes: beside it, the CRM tables are an earlier generate's


def run_generate(cfg: GeneratorConfig, out: str | Path, fmt: str = "parquet") -> SyntheticHistory:
    """Generate the history for `cfg`; write the four tables plus `truth` (true probabilities) to a folder or URL."""
    refuse_to_replace_a_crm(out)
    history = generate_history(cfg)
    write_tables_output(out, {**history.tables(), TRUTH: history.truth}, fmt)
    return history


def refuse_to_replace_a_crm(out: str | Path) -> None:
    """OutputError when `out` holds CRM tables an earlier generate did not write (no truth table beside them):
    `generate --out "$LEADSCORE_DB"` dropped the CRM's own accounts, leads, activities and deals and wrote
    synthetic ones in their place, exit 0."""
    found = _tables_at(out)
    crm = [name for name in TABLES if name in found]
    if crm and TRUTH not in found:
        raise OutputError(
            f"{describe_location(out)} holds CRM tables ({', '.join(crm)}) that generate did not write (no "
            f"{TRUTH} table beside them); generate replaces them with synthetic ones: give --out a new folder "
            "or database"
        )


def _tables_at(out: str | Path) -> set[str]:
    if is_database_url(out):
        from pipelines.db import existing_tables

        return existing_tables(str(out), (*TABLES, TRUTH))
    folder = Path(out)
    return (
        {p.stem for p in folder.glob("*") if p.suffix in (".parquet", ".csv")} if folder.is_dir() else set()
    )
