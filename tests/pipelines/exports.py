"""Export specs shared by the pipeline tests."""

from __future__ import annotations

from features.flat import ExportSpec


def numbered_calls_spec() -> ExportSpec:
    """An export without ids (a bank's calls): leadscore numbers its rows into 'row' (id_from_row)."""
    return ExportSpec(
        name="calls",
        id_column="row",
        id_from_row=True,
        label_column="y",
        positive_labels=("yes",),
        fit_columns={"job": "categorical"},
        intent_columns=("campaign",),
    )
