"""A bad setting is one sentence naming where it came from (a --set override or the file), the setting, what
is wrong and the value found; never pydantic's report."""

import pytest
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app
from pipelines.settings import DEFAULTS_DIR, ConfigError, load_config, load_source_spec


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("model.seed=abc", "--set model.seed=abc: setting model.seed: Input should be a valid integer"),
        ("evaluate.contenders=[leadscore, xgboost]", "setting evaluate.contenders.1: Input should be"),
        (
            "model.nonsense=3",
            "--set model.nonsense=3: setting model.nonsense: Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_override_is_named_as_the_override(override, said):
    with pytest.raises(ConfigError) as caught:
        load_config(overrides=[override])
    message = str(caught.value)
    assert said in message and "\n" not in message and "errors.pydantic.dev" not in message
    assert "leadscore.yaml" not in message  # the shipped file is not to blame


def test_a_bad_value_in_a_config_file_names_the_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("model:\n  min_won: -3\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: setting model\.min_won: .*\(found -3\)"):
        load_config(config)


def test_the_cli_says_it_in_one_sentence_with_the_bad_input_code(tmp_path):
    result = CliRunner().invoke(app, ["train", "--input", str(tmp_path), "--set", "model.seed=abc"])
    assert result.exit_code == exit_codes.BAD_INPUT
    assert "--set model.seed=abc: setting model.seed" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_broken_yaml_file_or_spec_is_one_sentence_naming_the_file_line_and_field(tmp_path):
    """PyYAML's report ran over five lines with "<unicode string>"; pydantic's over several with a URL."""
    from pipelines.settings import load_source_spec

    broken = tmp_path / "broken.yaml"
    broken.write_text("model:\n  seed: [7\n")
    with pytest.raises(ConfigError) as error:
        load_config(broken)
    said = str(error.value)
    assert said.startswith(f"{broken}: not valid YAML: line 3, column 1: ") and "\n" not in said
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: x\nid_column: a\nlabel_column: b\npositive_labels: [1]\nfit_columns: {c: weird}\nbogus: 3\n"
    )
    with pytest.raises(ConfigError) as error:
        load_source_spec(str(spec))
    said = str(error.value)
    assert "\n" not in said and "https://" not in said
    assert (
        "fit_columns.c: Input should be 'categorical' or 'numeric'" in said and "bogus: Extra inputs" in said
    )


def test_a_set_of_one_entry_of_a_default_map_changes_that_entry_only(tmp_path):
    """`--set features.region_by_country.AQ=europe` replaced the default map (every inhabited country) with that
    one entry: every other country in the region "other", outside the served geography, disqualified with
    exit 0. The README: any single value can be overridden with --set. A map given whole still replaces it."""
    default = load_config().features
    regions = load_config(overrides=["features.region_by_country.AQ=europe"]).features.region_by_country
    assert regions == {**default.region_by_country, "AQ": "europe"}
    weights = load_config(overrides=["features.activity_weights.blog.weight=2"]).features.activity_weights
    assert (
        weights["blog"].weight == 2
        and weights["blog"].half_life_days == default.activity_weights["blog"].half_life_days
    )
    assert {k: w for k, w in weights.items() if k != "blog"} == {
        k: w for k, w in default.activity_weights.items() if k != "blog"
    }
    whole = "features.region_by_country={US: north_america, DE: europe}"
    assert load_config(overrides=[whole]).features.region_by_country == {
        "US": "north_america",
        "DE": "europe",
    }
    written = tmp_path / "my.yaml"
    written.write_text(f"icp_file: {DEFAULTS_DIR / 'icp.yaml'}\n")  # no features: section at all
    assert (
        load_config(written, ["features.region_by_country.AQ=europe"]).features.region_by_country == regions
    )


@pytest.mark.parametrize("written", ["max_won_disqualified_share: yes", "employee_range: [on, 1000]"])
def test_true_or_false_where_a_spec_icp_setting_reads_a_number_is_refused(tmp_path, written):
    """A spec's icp: section, as the configuration's ICP: `max_won_disqualified_share: yes` was read as 1 (the
    guardrail allowed to disqualify every won lead), exit 0, where the same setting in the configuration stops."""
    shipped = (DEFAULTS_DIR.parent / "specs" / "x_education.yaml").read_text()
    spec = tmp_path / "x.yaml"
    spec.write_text(shipped.replace("icp:\n", f"icp:\n  {written}\n", 1))
    setting = "icp." + written.split(":")[0]
    with pytest.raises(
        ConfigError, match=rf"{spec}: invalid source spec: {setting}.*: a number, not true or false"
    ):
        load_source_spec(str(spec))
    spec.write_text(shipped)
    assert load_source_spec(str(spec)).icp == {"served_countries": ["IN"], "served_regions": []}
