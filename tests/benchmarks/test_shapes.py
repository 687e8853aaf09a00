"""bench_shapes' generators write the public data sets' columns, seeded."""

from benchmarks.bench_shapes import pipeline_tables, shoppers_export


def test_the_shape_generators_write_the_public_columns_and_repeat_themselves_for_a_seed():
    sessions = shoppers_export(3, rows=400)
    assert len(sessions) == 400 and sessions.columns[-1] == "Revenue"
    assert set(sessions["Revenue"]) == {"TRUE", "FALSE"} and sessions.duplicated().any()
    pipeline, accounts, teams = pipeline_tables(3, rows=300)
    assert list(pipeline.columns) == [
        "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date",
        "close_value",
    ]  # fmt: skip
    assert set(pipeline["deal_stage"]) == {"Won", "Lost", "Engaging", "Prospecting"}
    assert pipeline.loc[pipeline["deal_stage"] == "Prospecting", "engage_date"].eq("").all()
    assert set(pipeline["account"]) - {""} <= set(accounts["account"])
    assert set(pipeline["sales_agent"]) <= set(teams["sales_agent"])
    assert shoppers_export(3, rows=400).equals(sessions) and pipeline_tables(3, rows=300)[0].equals(pipeline)
