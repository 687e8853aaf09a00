"""Reading an export the spec describes wrongly: the sentence names the file, the setting and the value."""

import pytest

from pipelines.io import InputError
from pipelines.spec import read_export
from tests.features.crm_exports import hubspot_contacts_export


def test_a_semicolon_export_read_with_commas_names_the_delimiter_it_uses(tmp_path):
    path = tmp_path / "contacts.csv"
    hubspot_contacts_export(n=50).to_csv(path, index=False, sep=";")
    with pytest.raises(InputError, match=r"set delimiter in the source spec .*it looks like delimiter: ';'"):
        read_export(path, delimiter=",")


def test_a_cp1252_export_read_as_utf8_names_the_encoding_it_uses(tmp_path):
    path = tmp_path / "contacts.csv"
    frame = hubspot_contacts_export(n=50)
    frame["Company Name"] = "Société Générale"
    frame.to_csv(path, index=False, encoding="cp1252")
    with pytest.raises(InputError, match=r"not readable as utf-8 .*it looks like encoding: 'cp1252'"):
        read_export(path, encoding="utf-8")
    assert read_export(path, encoding="cp1252")["Company Name"].iloc[0] == "Société Générale"


def test_an_unknown_source_spec_names_the_shipped_ones_and_how_to_draft_one():
    from pipelines.settings import ConfigError, load_source_spec

    with pytest.raises(
        ConfigError, match=r"nospec: no such spec file.*hubspot_contacts.*x_education.*spec draft"
    ):
        load_source_spec("nospec")
