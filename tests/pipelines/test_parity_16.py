"""Parity sweep 16: hostile inputs the in-memory path handles, scored in parts (pipelines/stream.py) and on Spark
(pipelines/spark_job.py), give the in-memory path's scores, quarantine and accounting."""

import numpy as np
import pandas as pd

from features.synthetic import GeneratorConfig, generate_history
from pipelines.io import write_tables
from pipelines.score import run_score
from pipelines.stream import OtherLength, child_parts, run_score_streaming

AS_OF = pd.Timestamp("2026-10-01")


def salesforce_tables(activity_length: int) -> dict[str, pd.DataFrame]:
    """A small history whose leads (and deals) carry 18-character Salesforce ids and whose activities carry
    them in `activity_length` characters; one activity names a lead that is not there."""
    tables = generate_history(GeneratorConfig(accounts=40, months=12, seed=5)).tables()
    ids = {old: f"00Q5g00000{k:05d}AAB" for k, old in enumerate(tables["leads"]["lead_id"])}
    activities = tables["activities"].assign(
        lead_id=tables["activities"]["lead_id"].map(ids).str.slice(0, activity_length)
    )
    activities.loc[0, "lead_id"] = "00Q5g9999999999"
    return {
        **tables,
        "leads": tables["leads"].assign(lead_id=tables["leads"]["lead_id"].map(ids)),
        "deals": tables["deals"].assign(lead_id=tables["deals"]["lead_id"].map(ids)),
        "activities": activities,
    }


def test_an_activity_with_its_leads_id_in_the_other_length_goes_to_its_leads_part():
    part_of_lead = pd.Series([0, 1, 2], index=["00Q5g0000000001AAB", "00Q5g0000000002", "L7"])
    keys = np.array(["00Q5g0000000001", "00Q5g0000000002AAB", "L7", "00Q5g0000000009"], dtype=object)
    parts = child_parts(keys, part_of_lead, OtherLength.of(part_of_lead), 3)
    assert parts[:3].tolist() == [0, 1, 2]
    assert 0 <= parts[3] < 3  # an unknown lead: a part of its own, hashed


def test_salesforce_ids_of_the_other_length_are_named_so_in_parts_as_in_memory(tmp_path, small_scorer):
    # Activities written with 15-character ids of leads written with 18: in memory each is 'lead id of other
    # length' (export every table with the 18-character ids); scored in parts, an activity whose 15-character
    # id hashed to another part than its lead's read 'references unknown lead' (the sentence without the fix).
    tables = salesforce_tables(15)
    folder = tmp_path / "crm"
    write_tables(tables, folder, "parquet")
    in_memory = run_score(small_scorer, tables, AS_OF, None, reasons=False)
    run_score_streaming(
        small_scorer, folder, AS_OF, tmp_path / "scores.parquet", chunk_size=20, reasons=False
    )
    streamed = pd.read_csv(tmp_path / "scores.quarantine.csv", dtype=str, keep_default_na=False)
    expected = in_memory.quarantine.astype(str)
    assert (expected["check"] == "lead id of other length").sum() == len(tables["activities"]) - 1
    assert streamed["check"].tolist() == expected["check"].tolist()
    assert streamed["row"].tolist() == expected["row"].tolist()


def test_features_outside_training_are_judged_on_every_part_as_in_memory(
    tmp_path, small_scorer, small_history
):
    # Leads created a year earlier than their activities say (a migrated CRM's creation dates): in memory
    # 'features outside training's range in the N leads scored'; in parts the first part alone was judged
    # ('in the 45 leads checked (a sample of those scored)', its own shares). Now every part's leads are.
    tables = generate_history(GeneratorConfig(accounts=80, months=12, seed=9)).tables()
    leads = tables["leads"].assign(created_at=tables["leads"]["created_at"] - pd.Timedelta(days=365))
    tables = {**tables, "leads": leads}
    folder = tmp_path / "crm"
    write_tables(tables, folder, "parquet")
    in_memory = run_score(small_scorer, tables, AS_OF, None, reasons=False)
    assert any("outside training's range in the" in w and "leads scored" in w for w in in_memory.warnings), (
        in_memory.warnings,
        in_memory.accounting,
    )
    streamed = run_score_streaming(
        small_scorer, folder, AS_OF, tmp_path / "scores.parquet", chunk_size=40, reasons=False
    )
    assert streamed.warnings == in_memory.warnings
