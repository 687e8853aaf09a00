"""The model card of a flat export says what counts as won, lost and open, in its spec's words."""

from types import SimpleNamespace

from models.card.data import export_outcome_words
from pipelines.settings import load_source_spec


def test_the_card_names_the_label_its_values_and_the_leaky_columns_left_out():
    text = export_outcome_words(SimpleNamespace(spec=load_source_spec("salesforce_leads")))
    assert "its 'Lead Status' is 'Closed - Converted' and as lost when it is 'Closed - Not Converted'" in text
    assert "leads still 'Open - Not Contacted' or 'Working - Contacted' are scored, never learnt from" in text
    assert "'Converted Date'" in text and "'Rating'" in text


def test_a_spec_without_lost_values_says_every_other_value_is_lost():
    spec = load_source_spec("salesforce_leads").model_copy(update={"negative_labels": (), "open_labels": ()})
    text = export_outcome_words(SimpleNamespace(spec=spec))
    assert "as lost otherwise." in text and "never learnt from" not in text


def test_crm_tables_have_no_export_outcome():
    assert export_outcome_words(SimpleNamespace()) == ""
