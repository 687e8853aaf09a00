"""An ICP whose rules call most of the customers won bad leads stops training; the spec drafter proposes the
market where the won leads are.

A spec drafted for an export of Indian leads (X Education's shape) mapped its Country column under the
configuration's served regions (North America, Europe): 69 % of the won leads were disqualified as out of
market, left out of training and graded D in scoring, with exit 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.config import ICPConfig
from features.contracts import ContractError
from features.flat import closed_rows
from features.icp import won_disqualified_sentence
from features.spec_draft import market_proposal
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import CrmSource, ExportSource
from tests.features.test_flat import x_education_fixture

runner = CliRunner()


def one_line(text: str) -> str:
    return " ".join(text.split())


def guarded(outcomes: list[str], reasons: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"outcome": outcomes, "disqualified": [bool(r) for r in reasons], "disqualify_reasons": reasons}
    )


def test_training_stops_only_when_more_than_the_share_of_won_leads_is_disqualified():
    won_out = ["outside_geography"] * 6 + [""] * 4
    frame = guarded(["won"] * 10 + ["lost"] * 10, won_out + ["free_email"] * 10)
    sentence = one_line(won_disqualified_sentence(frame, ICPConfig(), "the configuration") or "")
    assert "disqualifies 6 of the 10 won leads (60%), above icp.max_won_disqualified_share (50%)" in sentence
    assert "6 of them for outside_geography (outside the served geography)" in sentence
    assert "set icp.served_countries and icp.served_regions in the configuration to the market" in sentence
    assert "--set icp.max_won_disqualified_share=1 to train anyway" in sentence
    half = guarded(["won"] * 10 + ["lost"] * 10, ["free_email"] * 5 + [""] * 5 + ["competitor"] * 10)
    assert won_disqualified_sentence(half, ICPConfig(), "the configuration") is None  # lost rows do not count
    assert (
        won_disqualified_sentence(frame, ICPConfig(max_won_disqualified_share=1), "the configuration") is None
    )


def test_the_rule_disqualifying_most_won_leads_is_loosened_until_they_are_under_the_share():
    icp = ICPConfig()
    geography = pd.Series(["outside_geography"] * 8 + ["", ""])
    countries = pd.Series(["IN"] * 6 + ["AE", "BR", "US", "US"])
    assert market_proposal(geography, countries, icp, 0.1) == {"served_countries": ["IN", "AE", "BR"]}
    # a country holding less than min_share is not called the market, unless needed and enough
    assert market_proposal(geography, countries, icp, 0.2) == {"served_countries": ["IN"]}
    mixed = pd.Series(
        ["free_email"] * 4 + ["free_email;outside_geography"] * 2 + ["wrong_persona"] * 2 + ["", ""]
    )
    assert market_proposal(mixed, countries, icp, 0.1) == {"disqualify_free_email": False}
    assert market_proposal(mixed, countries, ICPConfig(max_won_disqualified_share=0.1), 0.1) == {
        "disqualify_free_email": False,
        "excluded_personas": [],
        "served_countries": ["IN"],
    }
    assert market_proposal(pd.Series(["competitor"] * 8 + ["", ""]), countries, icp, 0.1) == {}
    assert market_proposal(pd.Series(["free_email"] * 5 + [""] * 5), countries, icp, 0.1) == {}


def indian_export(n: int = 300) -> pd.DataFrame:
    frame = x_education_fixture(n)
    frame["Country"] = np.where(np.arange(n) % 10 < 8, "India", "United States")
    return frame


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("market")
    export = folder / "Leads.csv"
    indian_export().to_csv(export, index=False)
    spec = folder / "leads.yaml"
    result = runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(spec)])
    assert result.exit_code == 0, result.output
    return export, spec, result.output


def test_the_draft_proposes_the_countries_of_the_won_leads_and_its_spec_trains(drafted):
    export, spec_path, output = drafted
    assert "icp settings {'served_countries': ['IN']} proposed because" in one_line(output)
    spec = load_source_spec(str(spec_path))
    assert spec.icp_columns["country"] == "Country" and spec.icp["served_countries"] == ["IN"]
    rows, _ = closed_rows(pd.read_csv(export), spec)
    data = ExportSource(rows, spec).training_data(load_config(), None)
    assert data.excluded["outside_geography"] == 0 and len(data.frame) == len(rows)


def test_an_export_spec_whose_geography_leaves_out_the_won_leads_exits_3_naming_the_setting(
    drafted, tmp_path
):
    export, spec_path, _ = drafted
    without_market = tmp_path / "no_market.yaml"
    text = spec_path.read_text()
    without_market.write_text(text[: text.index("\nicp:")] + "\n")
    result = runner.invoke(app, ["train", "--input", str(export), "--source-spec", str(without_market)])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    said = one_line(result.output)
    assert "the ICP guardrail disqualifies" in said and "for outside_geography" in said
    assert "set icp.served_countries and icp.served_regions in the icp: section of spec" in said


def test_crm_tables_under_an_icp_serving_elsewhere_stop_training_naming_the_setting(small_history):
    cfg = load_config(overrides=["icp.served_regions=[middle_east_africa]"])
    with pytest.raises(ContractError, match=r"for outside_geography .*in the configuration"):
        CrmSource(small_history.tables()).training_data(cfg, None)


def test_a_consumer_export_whose_customers_write_from_free_mailboxes_is_drafted_to_keep_them(tmp_path):
    frame = indian_export()
    frame["Country"] = "United States"
    frame["Email"] = [f"buyer{i}@gmail.com" for i in range(len(frame))]
    export = tmp_path / "Leads.csv"
    frame.to_csv(export, index=False)
    spec_path = tmp_path / "b2c.yaml"
    result = runner.invoke(app, ["spec", "draft", "--input", str(export), "--out", str(spec_path)])
    assert result.exit_code == 0, result.output
    spec = load_source_spec(str(spec_path))
    assert spec.icp_columns.get("email") == "Email" and spec.icp == {"disqualify_free_email": False}
    rows, _ = closed_rows(frame, spec)
    assert ExportSource(rows, spec).training_data(load_config(), None).excluded["total"] == 0


def test_every_reason_has_its_fix_in_the_sentence():
    from features.icp import REASON_FIXES
    from features.vocab import DISQUALIFY_REASONS

    assert set(REASON_FIXES) == set(DISQUALIFY_REASONS)
    for code in DISQUALIFY_REASONS:
        frame = guarded(["won"] * 4, [code] * 3 + [""])
        sentence = won_disqualified_sentence(frame, ICPConfig(), "the configuration") or ""
        assert (
            f"3 of them for {code}" in sentence
            and REASON_FIXES[code].format(where="the configuration") in sentence
        )
