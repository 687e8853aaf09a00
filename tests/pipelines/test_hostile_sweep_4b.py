"""Fourth hostile sweep: configuration, command line, online requests, registry and outputs.

Every case here once gave a wrong answer with exit 0 (a setting that silently meant something else) or a
traceback; now it is one sentence naming the setting (or file, row, field) and the fix, with the README's code.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from features.config import FeatureConfig, ICPConfig
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.settings import ConfigError, load_config


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "model:\n  seed: 1\n  seed: 2\n",
            "line 3, column 3: the key 'seed' is written twice in one mapping",
        ),
        (
            "scoring:\n  chunk_size: 5\nscoring:\n  positive_reasons: 1\n",
            "line 3, column 1: the key 'scoring' is written twice in one mapping",
        ),
    ],
)
def test_a_key_written_twice_is_refused_not_won_by_the_last(tmp_path, text, said):
    """PyYAML lets the last of two equal keys win: the first `scoring:` section was dropped without a word."""
    config = tmp_path / "run.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=f"run.yaml: not valid YAML: {said}"):
        load_config(config)


def test_anchors_and_merge_keys_still_read(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "scoring:\n  <<: {chunk_size: 7}\n  positive_reasons: 1\nqueue:\n  senior_grades: &s [A]\n"
    )
    cfg = load_config(config)
    assert (cfg.scoring.chunk_size, cfg.scoring.positive_reasons, cfg.queue.senior_grades) == (7, 1, ("A",))


def test_an_icp_file_that_is_not_a_path_is_named_not_a_traceback(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("icp_file: [a, b]\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: setting icp_file: expected the path of a YAML file"):
        load_config(config)


@pytest.mark.parametrize(
    ("override", "said"),
    [
        # NaN compares false with everything: a weight, range or cut point holding it matched nothing
        (
            "icp.criterion_weights.industry=.nan",
            "icp.criterion_weights.industry: Input should be a finite number",
        ),
        (
            "icp.criterion_weights.industry=.inf",
            "icp.criterion_weights.industry: Input should be a finite number",
        ),
        ("icp.revenue_range=[.nan, 1e9]", "revenue_range holds NaN"),
        (
            "features.activity_weights.demo_request={weight: nan, half_life_days: 30}",
            "Input should be a finite",
        ),
        ("features.revenue_band_edges=[0, .nan, 1e7]", "revenue_band_edges holds NaN"),
        # out of order, the bands (found by binary search) put leads in the wrong band
        ("features.employee_band_edges=[50, 10, 200]", "employee_band_edges must be increasing cut points"),
        # a window twice gave two features one name (the model then refused its own input: a traceback)
        ("features.windows_days=[30, 30, 90]", "windows_days must be whole days >= 1, each once"),
        ("features.windows_days=[-7, 30, 90]", "windows_days must be whole days >= 1, each once"),
        ("features.windows_days=[7, 30]", "model.points.window_days 90 is not one of features.windows_days"),
        (
            "features.inactive_after_days=-5",
            "features.inactive_after_days: Input should be greater than or equal",
        ),
        # a country or region that is none never matched: its leads were disqualified as outside geography
        (
            "icp.served_countries=[XX, Atlantis]",
            "served_countries names ['XX', 'Atlantis'], which are no countries",
        ),
        (
            "icp.served_regions=[north_amercia]",
            "icp.served_regions names ['north_amercia'], a region no country",
        ),
        ("features.region_by_country={XX: europe}", "region_by_country names ['XX'], which are no countries"),
        # a typo in the leak audit's exclusion excluded nothing: the leaky feature stayed in the model
        (
            "features.exclude_features=[industri]",
            "features.exclude_features names ['industri'], which are no",
        ),
        # MLflow refused these at registration, after the whole training: a traceback
        ("registry.model_name=a/b", "registry.model_name: String should match pattern"),
        ("registry.model_name=''", "registry.model_name: String should have at least 1 character"),
        ("registry.experiment=''", "registry.experiment: String should have at least 1 character"),
        # a grade that is none routed nothing to the senior reps
        ("queue.senior_grades=[a, b]", "queue.senior_grades.0: Input should be 'A', 'B', 'C' or 'D'"),
    ],
)
def test_a_setting_that_would_silently_mean_something_else_is_refused_naming_it(override, said):
    with pytest.raises(ConfigError) as caught:
        load_config(overrides=[override])
    message = str(caught.value)
    assert said in message, message
    assert f"--set {override}" in message and "\n" not in message and "Value error" not in message


def test_countries_in_the_icp_are_read_as_the_data_contract_reads_them():
    cfg = load_config(
        overrides=[
            "icp.served_countries=[USA, Deutschland, uk]",
            "features.region_by_country={usa: north_america}",
            "icp.served_regions=[north_america]",
        ]
    )
    assert cfg.icp.served_countries == ("US", "DE", "GB")
    assert cfg.features.region_by_country == {"US": "north_america"}
    assert ICPConfig().served_countries == () and FeatureConfig().region_by_country["US"] == "north_america"


def test_the_shipped_configuration_and_its_explicit_defaults_still_load():
    shipped = load_config()
    assert shipped == load_config(overrides=["features.exclude_features=[month_of_year]"]).model_copy(
        update={"features": shipped.features}
    )
    assert shipped.queue.senior_grades == ("A", "B") and shipped.icp.served_regions == (
        "north_america",
        "europe",
    )


@pytest.fixture(scope="module")
def tiny_crm(tmp_path_factory):
    from features.synthetic import GeneratorConfig, generate_history

    folder = tmp_path_factory.mktemp("tiny-crm")
    for name, frame in generate_history(GeneratorConfig(accounts=120, months=8, seed=3)).tables().items():
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


def test_an_extra_rule_on_a_feature_that_does_not_exist_exits_3_naming_it(tiny_crm, mlflow_store):
    """The guardrail's ValueError ended training in a traceback (exit 1)."""
    rule = "icp.extra_rules=[{name: big, feature: employees, op: '>', value: 3}]"
    result = CliRunner().invoke(app, ["train", "--input", str(tiny_crm), "--set", rule])
    said = one_line(result.output)
    assert result.exit_code == exit_codes.BAD_INPUT, said
    assert "setting icp.extra_rules: the ICP guardrail needs columns ['employees'] (rule 'big' reads" in said
    assert "'employee_count'" in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("model.seed.x=3", "--set model.seed.x=3: model.seed is a value (42), not a section with settings"),
        (
            "evaluate.contenders.0=leadscore",
            "--set evaluate.contenders.0=leadscore: evaluate.contenders is a value",
        ),
        ("model..seed=3", "--set model..seed=3: 'model..seed' is no setting; write section.key=value"),
        ("=3", "--set =3: '' is no setting"),
    ],
)
def test_an_override_path_through_a_value_or_with_an_empty_part_is_named(override, said):
    """Setting below a number or a list ended in a TypeError traceback; `model..seed` blamed the shipped file."""
    with pytest.raises(ConfigError) as caught:
        load_config(overrides=[override])
    assert said in str(caught.value)
    result = CliRunner().invoke(app, ["validate", "--input", "nowhere", "--set", override])
    assert result.exit_code == exit_codes.BAD_INPUT and said in one_line(result.output), result.output


# --- command line ---------------------------------------------------------------------------------------


def test_an_output_that_is_an_input_table_is_a_bad_command_line_and_the_input_is_kept(tmp_path, tiny_crm):
    """`score --output crm/leads.csv` wrote the scores over the leads table, exit 0."""
    import shutil

    crm = tmp_path / "crm"
    shutil.copytree(tiny_crm, crm)
    before = {path.name: path.read_bytes() for path in crm.iterdir()}
    scores = tmp_path / "scores.parquet"
    scores.write_bytes(b"not read")
    runs = {
        "--output": [
            "score",
            "--input",
            str(crm),
            "--as-of",
            "2026-01-01",
            "--output",
            str(crm / "leads.parquet"),
        ],
        "--quarantine": ["validate", "--input", str(crm), "--quarantine", str(crm / "deals.csv")],
        "--out": [
            "spec",
            "draft",
            "--input",
            str(crm / "leads.parquet"),
            "--out",
            str(crm / "leads.parquet"),
        ],
    }
    queue = ["queue", "--scores", str(scores), "--reps", "1", "--per-rep", "1", "--output", str(scores)]
    for option, args in [*runs.items(), ("--output", queue)]:
        result = CliRunner().invoke(app, [*args, "--overwrite"] if args[0] == "spec" else args)
        said = one_line(result.output)
        assert result.exit_code == exit_codes.USAGE, said
        assert (
            f"Invalid value for {option}" in said and "would replace" in said and "write it elsewhere" in said
        )
    assert {path.name: path.read_bytes() for path in crm.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--accounts", "0"],
            "Invalid value for --accounts: Input should be greater than or equal to 1 (found 0)",
        ),
        (["--end", "someday"], "Invalid value for --end: 'someday' is not a date"),
        (["--format", "xlsx"], "Invalid value for --format: 'xlsx' is no table format"),
    ],
)
def test_generate_with_a_bad_option_is_a_bad_command_line_not_a_traceback(tmp_path, args, said):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "g"), *args])
    assert result.exit_code == exit_codes.USAGE and said in one_line(result.output), result.output


def test_a_configuration_that_is_a_folder_or_not_text_is_named(tmp_path):
    binary = tmp_path / "run.yaml"
    binary.write_bytes(b"\xff\xfe\x00model")
    for path, reason in [(tmp_path, "Is a directory"), (binary, "not UTF-8 text")]:
        with pytest.raises(
            ConfigError, match=f"cannot read the configuration \\({reason}\\); give a YAML file"
        ):
            load_config(path)


def test_serve_on_a_port_in_use_is_a_bad_command_line_before_the_model_loads(mlflow_store, monkeypatch):
    """uvicorn ended in an OSError traceback (after downloading the model)."""
    import socket

    import pipelines.registry

    monkeypatch.setattr(pipelines.registry, "resolve_version", lambda uri: None)  # as if a champion existed
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    said = one_line(result.output)
    assert result.exit_code == exit_codes.USAGE, said
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in said


# --- the ICP on real features ----------------------------------------------------------------------------


def test_a_lead_without_a_country_is_not_disqualified_as_outside_the_geography():
    """The fit features write a missing country as "unknown", which the guardrail read as a country outside
    the geography: every lead without a country (or with "n/a") was disqualified, in batch and online alike,
    though icp.yaml and the README say such a lead is kept."""
    from features.build import build_features, scoring_snapshots
    from features.contracts import validate_tables
    from features.icp import icp_columns
    from features.synthetic import GeneratorConfig, generate_history

    cfg = load_config()
    tables = generate_history(GeneratorConfig(accounts=12, months=6, seed=1)).tables()
    accounts = tables["accounts"]
    accounts["country"] = accounts["country"].astype("object")
    accounts.loc[:, "country"] = ["", "n/a", None, "Brazil"] * 3
    valid = validate_tables(tables).valid
    leads = valid["leads"].merge(valid["accounts"][["account_id", "country"]], on="account_id")
    out = icp_columns(
        build_features(valid, scoring_snapshots(leads, "2026-09-01"), cfg.features, cfg.icp), cfg.icp
    )
    outside = ["outside_geography" in reasons for reasons in out["disqualify_reasons"]]
    assert outside == (leads["country"] == "BR").tolist() and any(outside) and not all(outside)


# --- online requests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "said"),
    [
        # json.loads kept the last of two equal keys: the row was scored as L-2, or with the second email
        (
            b'{"dataframe_records": [{"lead_id": "L-1", "lead_id": "L-2", "email": "a@b.com"}]}',
            "body: the field 'lead_id' is written twice in one JSON object (rule: JSON body)",
        ),
        (
            b'{"dataframe_records": [{"lead_id": "L-1", "email": "a@b.com"}], "params": {"as_of": "2026-10-01", '
            b'"as_of": "2025-01-01"}}',
            "body: the field 'as_of' is written twice",
        ),
        # Python reads NaN, which is no JSON, and passed it on as a missing number
        (
            b'{"dataframe_records": [{"lead_id": "L-1", "email": "a@b.com", "employee_count": NaN}]}',
            "body: NaN is not JSON; leave the field out or send null (rule: JSON body)",
        ),
    ],
)
def test_a_request_body_that_is_not_plain_json_is_refused_naming_the_field(body, said):
    from models.lead_input import LeadInputError
    from pipelines.serve import request_rows

    with pytest.raises(LeadInputError) as caught:
        request_rows(body)
    assert said in str(caught.value) and str(caught.value).endswith("(rule: JSON body)")


def test_a_plain_json_body_still_reads():
    from pipelines.serve import request_rows

    rows, params = request_rows(b'{"dataframe_records": [{"lead_id": "L-1", "email": null}], "params": {}}')
    assert rows == [{"lead_id": "L-1", "email": None}] and params == {}


# --- registry ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("garbage://x", "UnsupportedModelRegistryStoreURIException"),
        ("sqlite:///{tmp}/scores.csv", "file is not a database"),
    ],
)
@pytest.mark.parametrize(
    "command", [["score", "--as-of", "2026-01-01", "--output", "s.parquet"], ["history"]]
)
def test_a_tracking_uri_that_is_no_store_exits_3_naming_it(tmp_path, monkeypatch, uri, said, command):
    """MLflow's exception reached the user as a traceback (exit 1)."""
    (tmp_path / "scores.csv").write_text("lead_id,score\nL-1,0.5\n")
    uri = uri.format(tmp=tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    args = [*command[:1], "--input", str(tmp_path), *command[1:]] if command[0] == "score" else command
    result = CliRunner().invoke(app, args)
    text = one_line(result.output)
    assert result.exit_code == exit_codes.BAD_INPUT, text
    assert f"the tracking store {uri} (MLFLOW_TRACKING_URI) cannot be used" in text and said in text
    assert "Traceback" not in text


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_history_with_a_limit_below_one_is_a_bad_command_line(mlflow_store, limit):
    """--limit -1 showed every version but the oldest (pandas' head(-1)) under a title counting them all."""
    result = CliRunner().invoke(app, ["history", "--limit", limit])
    assert result.exit_code == exit_codes.USAGE and "--limit" in result.output, result.output


@pytest.mark.parametrize(
    ("activities", "said"),
    [
        (
            '[{"activity_type": "blog", "activity_type": "demo_request", "occurred_at": "2026-09-01"}]',
            "row 0, field 'activities': an item names 'activity_type' twice (rule: JSON list)",
        ),
        ('[{"activity_type": "blog", "occurred_at": NaN}]', "row 0, field 'activities': NaN is not JSON"),
    ],
)
def test_an_activities_list_that_is_not_plain_json_is_refused(activities, said):
    from models.lead_input import LeadInputError, _activity_items

    with pytest.raises(LeadInputError) as caught:
        _activity_items(0, activities)
    assert said in str(caught.value)
    assert _activity_items(0, '[{"activity_type": "blog", "occurred_at": "2026-09-01"}]')[0][1] == "blog"


def test_an_icp_file_beside_an_icp_section_is_refused_not_ignored(tmp_path):
    (tmp_path / "my_icp.yaml").write_text("served_countries: [AU]\n")
    config = tmp_path / "run.yaml"
    config.write_text("icp_file: my_icp.yaml\nicp:\n  served_countries: [SG]\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: both icp_file \(my_icp\.yaml\) and an icp: section"):
        load_config(config)
    config.write_text("icp_file: my_icp.yaml\n")
    assert load_config(config).icp.served_countries == ("AU",)


def test_an_as_of_with_an_offset_is_the_utc_time_and_an_old_manifest_with_one_is_compared(tmp_path):
    """`score --as-of 2026-01-01T00:00:00+05:00` wrote the offset into the manifest, and the next run into
    that folder ended in a TypeError (offset vs naive times) looking for the previous run."""
    import json

    import pandas as pd

    from pipelines.cli import _as_of
    from pipelines.score_job import latest_run_beside

    assert _as_of("2026-01-01T00:00:00+05:00") == pd.Timestamp("2025-12-31T19:00:00")
    assert _as_of("2026-01-01") == pd.Timestamp("2026-01-01")
    for name, when in [("old", "2026-01-01T00:00:00+05:00"), ("new", "2026-01-02T00:00:00")]:
        (tmp_path / f"{name}.parquet").write_bytes(b"")
        files = {"scores": {"file": f"{name}.parquet"}}
        manifest = {"as_of": when, "model_name": "leadscore", "files": files}
        (tmp_path / f"{name}.manifest.json").write_text(json.dumps(manifest))
    output = tmp_path / "next.parquet"
    assert (
        latest_run_beside(output, "leadscore", pd.Timestamp("2026-01-01T12:00:00"))
        == tmp_path / "old.parquet"
    )
    assert (
        latest_run_beside(output, "leadscore", _as_of("2026-01-03T00:00:00+01:00"))
        == tmp_path / "new.parquet"
    )
