"""A label value in none of an export spec's lists (a typo of the won stage, a stage added to the CRM) is
quarantined at scoring with the value and the fix, never scored as an open lead with exit 0; training refuses it
(exit 3) until the spec says what it is. Training rows keep their positions in the export."""

import pandas as pd
import pytest

from features.contracts import ContractError
from features.export_contract import check_export, quarantine_unknown_labels
from features.flat import closed_rows
from pipelines.score import run_score
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import ExportSource
from pipelines.train import run_train
from tests.conftest import FAST_OVERRIDES
from tests.features.crm_exports import hubspot_contacts_export

HUBSPOT = load_source_spec("hubspot_contacts")


def _with_stages(frame: pd.DataFrame, stages: dict[int, object]) -> pd.DataFrame:
    frame = frame.copy()
    for row, stage in stages.items():
        frame.loc[row, HUBSPOT.label_column] = stage
    return frame


def test_unknown_label_values_are_quarantined_with_the_value_and_the_fix():
    frame = _with_stages(hubspot_contacts_export(n=40), {3: "Customr", 7: "Churned", 9: None})
    valid, quarantine = quarantine_unknown_labels(*check_export(frame, HUBSPOT), HUBSPOT)
    labels = quarantine.loc[quarantine["check"] == "label_in_spec"]
    assert labels["row"].tolist() == [3, 7]
    assert labels["column"].unique().tolist() == [HUBSPOT.label_column]
    assert labels["key"].tolist() == frame.loc[[3, 7], HUBSPOT.id_column].astype(str).tolist()
    assert (
        "'Customr' is in none of positive_labels, negative_labels or open_labels" in labels["reason"].iloc[0]
    )
    assert "add it to the list it belongs to" in labels["reason"].iloc[1]
    assert 9 in valid.index  # no label at all: an open lead in a scoring export, not a broken row
    assert len(valid) + len(labels) == len(frame)


def test_a_spec_without_lost_values_has_no_unknown_labels():
    spec = HUBSPOT.model_copy(update={"negative_labels": ()})
    frame = _with_stages(hubspot_contacts_export(n=20), {2: "Churned"})
    _, quarantine = quarantine_unknown_labels(*check_export(frame, spec), spec)
    assert "label_in_spec" not in set(quarantine["check"])  # every value that is not won counts as lost


def test_scoring_quarantines_an_unknown_stage_instead_of_scoring_it_as_open():
    frame = hubspot_contacts_export(n=800)
    rows, _ = closed_rows(frame, HUBSPOT)
    trained = run_train(ExportSource(rows, HUBSPOT), load_config(overrides=FAST_OVERRIDES), register=False)
    open_rows = frame.index[frame[HUBSPOT.label_column].isin(HUBSPOT.open_labels)]
    typo = _with_stages(frame, {open_rows[0]: "Customer ", open_rows[1]: "Custommer"})
    source = ExportSource(typo, HUBSPOT)
    result = run_score(trained.scorer, source, source.default_as_of(), None)
    scored = set(result.scores["lead_id"].astype(str))
    ids = typo[HUBSPOT.id_column].astype(str)
    assert ids[open_rows[0]] not in scored  # "Customer " is won once trimmed: closed, not scored
    assert ids[open_rows[1]] not in scored
    assert ids[open_rows[1]] in set(result.quarantine["key"])
    assert ids[open_rows[2]] in scored
    assert result.leads.read == len(typo) and result.leads.quarantined == 1

    # training refuses the value until the spec lists it
    renamed = rows.copy()
    renamed.loc[renamed.index[:4], HUBSPOT.label_column] = "Closed Lost"
    with pytest.raises(ContractError, match="'Closed Lost' \\(4 rows\\)"):
        run_train(ExportSource(renamed, HUBSPOT), load_config(overrides=FAST_OVERRIDES), register=False)


def test_training_rows_are_numbered_as_in_the_export_so_the_champion_reads_the_same_leads():
    frame = hubspot_contacts_export(n=200)
    frame.index = frame.index * 3 + 11  # an index that is no position: a frame filtered or read in pieces
    frame["Number of Pageviews"] = frame["Number of Pageviews"].astype(object)
    frame.loc[frame.index[5], "Number of Pageviews"] = "lots"  # a closed or open row broken: kept in place
    source = ExportSource(frame, HUBSPOT)
    data = source.training_data(source.training_config(load_config()), None)
    positions = pd.RangeIndex(len(data.frame)).to_numpy()
    rows = source.rows_of(data, positions)
    assert rows[HUBSPOT.id_column].astype(str).tolist() == data.frame["lead_id"].tolist()
    for row in data.quarantine["row"]:
        assert frame.iloc[int(row)][HUBSPOT.id_column] == int(
            data.quarantine.loc[data.quarantine["row"] == row, "key"].iloc[0]
        )
