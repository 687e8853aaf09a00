"""The README says what the code does: its settings, defaults, exit codes and command lines exist as written."""

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer

from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import path_digest
from pipelines.score import verify_published
from pipelines.settings import ConfigError, load_config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SECTIONS = (
    "model",
    "registry",
    "scoring",
    "queue",
    "crm_export",
    "retrain",
    "evaluate",
    "serving",
    "spark",
    "icp",
    "features",
    "input",
)
# a setting, never a call such as `model.predict(...)`
SETTING = re.compile(r"`((?:" + "|".join(SECTIONS) + r")(?:\.[a-z_0-9]+)+)(?![\w(])")
# "`scoring.trend_steady`, 0.05" or "`serving.max_text_chars` (1,000 characters)": a default stated in the text
STATED_DEFAULT = re.compile(
    r"`([a-z_]+(?:\.[a-z_0-9]+)+)`(?:,|\s+\()\s*([0-9][0-9,]*(?:\.[0-9]+)?)(\s%|\sMB)?"
)
# a `--set` override as shown: quoted or not
SET_OPTION = re.compile(r"--set\s+(?:'([^']+)'|\"([^\"]+)\"|([^\s`'\"]+))")
NO_MANIFEST = "no manifest; the files beside it are not a complete published run"
NOT_SETTINGS = {"model.seed.x"}  # the README's example of a --set path that is refused
CLI = typer.main.get_command(app)


def is_python_name(dotted: str) -> bool:
    """`features.text` or `features.build.build_features`: a module or a module's attribute, not a setting."""
    try:
        importlib.import_module(dotted)
        return True
    except ImportError:
        module, _, attribute = dotted.rpartition(".")
        try:
            return hasattr(importlib.import_module(module), attribute)
        except ImportError:
            return False


def setting_value(cfg: Any, dotted: str) -> Any:
    """The configuration's value at a dotted path; KeyError when there is none."""
    value = cfg
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif not isinstance(value, dict) and hasattr(value, part):
            value = getattr(value, part)
        else:
            raise KeyError(dotted)
    return value


def stated_number(text: str, unit: str | None) -> float:
    number = float(text.replace(",", ""))
    return {None: number, " %": number / 100, " MB": number * 2**20}[unit]


def command_lines(text: str) -> list[str]:
    """Every `leadscore ...` command line a text shows, in a code block or inline."""
    lines = re.findall(r"leadscore ((?:spec )?[a-z]+(?: [^`\n]*)?)", text)
    return [line.split("#")[0].strip() for line in lines]


def help_texts() -> list[str]:
    """The help of `leadscore` and of every command, where the examples are."""
    commands = list(CLI.commands.values())  # type: ignore[attr-defined]
    commands += [c for g in commands if hasattr(g, "commands") for c in g.commands.values()]
    return [CLI.help or ""] + [command.help or "" for command in commands]


def cli_command(words: list[str]) -> Any:
    """The click command a command line names (`spec draft` included), or None for prose."""
    command = CLI.commands.get(words[0])  # type: ignore[attr-defined]
    if hasattr(command, "commands") and len(words) > 1:
        command = command.commands.get(words[1])
    return command


def test_every_setting_the_readme_names_exists():
    cfg = load_config()
    names = {name for name in set(SETTING.findall(README)) - NOT_SETTINGS if not is_python_name(name)}
    assert len(names) > 40
    missing = []
    for name in sorted(names):
        try:
            setting_value(cfg, name)
        except KeyError:
            missing.append(name)
    assert not missing, f"README names settings the configuration does not have: {missing}"


def test_every_default_the_readme_states_is_the_configurations():
    cfg = load_config()
    stated = [(m.group(1), m.group(2), m.group(3)) for m in STATED_DEFAULT.finditer(README)]
    checked = 0
    for name, number, unit in stated:
        try:
            value = setting_value(cfg, name)
        except KeyError:
            continue
        assert value == pytest.approx(stated_number(number, unit)), (name, number, value)
        checked += 1
    assert checked >= 15


def test_every_command_line_in_the_readme_and_the_help_uses_options_its_command_has():
    lines = [line for text in [README, *help_texts()] for line in command_lines(text)]
    assert len(lines) > 60
    wrong = []
    for line in lines:
        words = line.split()
        command = cli_command(words)
        if command is None:
            continue
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        wrong += [(line, flag) for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line) if flag not in known]
    assert not wrong, wrong


def test_the_exit_code_table_is_exit_codes_py():
    table = dict(re.findall(r"^\| (\d) \| ([^|]+) \|", README, flags=re.MULTILINE))
    codes = {
        exit_codes.OK: "done",
        exit_codes.FAILED: "unexpected error",
        exit_codes.USAGE: "bad command line",
        exit_codes.BAD_INPUT: "input missing",
        exit_codes.NOT_ENOUGH_DATA: "not enough won and lost deals",
        exit_codes.QUARANTINE_OVER_LIMIT: "finished, but more rows",
        exit_codes.NOT_PROMOTED: "not promoted",
        exit_codes.EVIDENCE_BROKEN: "champion collapsed",
    }
    assert sorted(int(code) for code in table) == sorted(codes)
    for code, words in codes.items():
        assert words in table[str(code)], (code, table[str(code)])


def test_every_python_name_and_file_the_readme_points_to_exists():
    root = Path(__file__).resolve().parents[1]
    names = set(re.findall(r"`((?:features|models|pipelines)\.[a-z_]+\.[A-Za-z_]+)", README))
    names -= {f"features.{key}" for key in ("exclude_features", "region_by_country", "windows_days")}
    missing = []
    for name in sorted(names):
        module, attribute = name.rsplit(".", 1)
        if not hasattr(importlib.import_module(module), attribute):
            missing.append(name)
    paths = set(
        re.findall(
            r"`((?:features|models|pipelines|benchmarks|tests|notebooks|mlflow)/[\w/.-]*\.\w+)`", README
        )
    )
    paths.discard("mlflow/mlflow.db")  # the default store, created by the first run (git-ignored)
    missing += sorted(path for path in paths if not (root / path).exists())
    assert len(names) >= 10 and len(paths) >= 10
    assert not missing, f"README points to what is not there: {missing}"


def test_a_copied_config_without_its_icp_file_names_the_fix(tmp_path):
    copied = tmp_path / "my.yaml"
    copied.write_text((Path(__file__).resolve().parents[1] / "pipelines/defaults/leadscore.yaml").read_text())
    with pytest.raises(
        ConfigError, match=r"icp_file icp.yaml is read beside it.*copy pipelines/defaults/icp.yaml"
    ):
        load_config(copied)
    (tmp_path / "icp.yaml").write_text(
        (Path(__file__).resolve().parents[1] / "pipelines/defaults/icp.yaml").read_text()
    )
    assert load_config(copied).icp == load_config().icp


def test_verify_published_takes_the_path_as_text(tmp_path):
    """README: `pipelines.score.verify_published(path)`; a path given as text raised AttributeError."""
    scores = tmp_path / "scores.parquet"
    assert verify_published(str(scores)) == [f"{tmp_path / 'scores.manifest.json'}: " + NO_MANIFEST]
    scores.write_bytes(b"x")
    (tmp_path / "scores.manifest.json").write_text(
        json.dumps({"files": {"scores": {"file": "scores.parquet", "sha256": path_digest(scores)}}})
    )
    assert verify_published(str(scores)) == verify_published(scores) == []


def test_every_set_override_the_readme_and_the_help_show_loads():
    """`--set 'input.date_formats.deals.closed_at=%d/%m/%Y %H:%M'` and the others, as a user would copy them."""
    texts = [README, *help_texts()]
    shown = [next(g for g in m.groups() if g) for text in texts for m in SET_OPTION.finditer(text)]
    assert len(shown) >= 5
    for override in shown:
        load_config(overrides=[override])  # a ConfigError names the override


def test_the_readme_names_every_score_column_and_counts_them():
    """The score table's columns (models/score_table.py) are the README's: a column added there is told here."""
    from models.score_table import SCORE_COLUMNS

    missing = [column for column in SCORE_COLUMNS if f"`{column}`" not in README]
    assert not missing, f"README does not name the score columns {missing}"
    stated = re.findall(r"The (\d+) output columns|one row per lead \((\d+) columns\)", README)
    assert len(stated) == 2 and {int(n) for pair in stated for n in pair if n} == {len(SCORE_COLUMNS)}


def test_the_readme_online_answer_has_the_score_columns_in_order():
    """The JSON answer shown under "Online scoring" is a score row: the columns of ScoreTable, in its order."""
    from models.score_table import SCORE_COLUMNS

    answer = re.search(r'```json\n(\{\n  "predictions".*?)```', README, flags=re.DOTALL)
    assert answer is not None
    (row,) = json.loads(answer.group(1))["predictions"]
    assert tuple(row) == SCORE_COLUMNS


def paragraph(start: str) -> str:
    """The README paragraph that starts with `start` (up to the next blank line), on one line."""
    at = README.index(start)
    return " ".join(README[at : README.index("\n\n", at)].split())


def test_the_countries_the_readme_names_are_read_as_it_says():
    """ "**Countries** may be ...": every name it gives reads as a country, `Atlantis` as none, the placeholders
    as missing, and the regions it names ("Austria in `europe`") are the default map's."""
    from features.countries import REGION_COUNTRIES, alpha2_countries, region_by_country

    text = paragraph("**Countries**")
    shown = [
        v
        for v in re.findall(r"`([^`]+)`", text)
        if "_" not in v and not v.startswith("features.") and v not in REGION_COUNTRIES
    ]
    codes, invalid = alpha2_countries(pd.Series(shown, dtype=object))
    read = dict(zip(shown, zip(codes, invalid, strict=True), strict=True))
    assert len(shown) >= 12
    assert read.pop("Atlantis")[1]
    for placeholder in ("n/a", "unknown", "-", "Select", "(blank)", "#N/A"):
        code, bad = read.pop(placeholder)
        assert pd.isna(code) and not bad, placeholder
    assert all(isinstance(code, str) and len(code) == 2 for code, _ in read.values()), read
    regions = re.findall(r"(\w+) in `(\w+)`", text)
    assert len(regions) == 2
    for country, region in regions:
        (code,), _ = alpha2_countries(pd.Series([country]))
        assert region_by_country()[code] == region, country


def test_the_zoned_time_the_readme_shows_is_read_by_the_format_it_names():
    from features.dates import check_format, parse_timestamps

    found = re.search(r"with a zone's name \(`([^`]+)`\).*?`(%[^`]+)`", README, flags=re.DOTALL)
    assert found is not None
    value, fmt = found.groups()
    times, bad = parse_timestamps(pd.Series([value]), check_format(fmt))
    assert not bad.any() and times[0] == pd.Timestamp(value.removesuffix(" UTC"))


def test_the_crm_table_values_the_readme_shows_are_read_as_it_says():
    """The "Your data" table: the email and website examples, the tool separators and the lead sources."""
    from features.build import build_features, scoring_snapshots
    from features.config import FeatureConfig, ICPConfig
    from features.fit import company_domain, email_address
    from features.vocab import LEAD_SOURCES
    from tests.pipelines.test_hostile_sweep_14 import AS_OF, _crm

    email = re.search(r"`email` \(`([^`]+)` and `([^`]+)` are read as `([^`]+)`\)", README)
    assert email is not None
    assert email_address(email[1].lower()) == email_address(email[2].lower()) == email[3]
    named = re.search(
        r"are read as `[^`]+`\) \(so is `([^`]+)`: an `@` in a display name is no address\)", README
    )
    assert named is not None and email_address(named[1].lower()) == email[3]
    website = re.search(
        r"`domain` \(a website, `([^`]+)`, an address `([^`]+)` or `([^`]+)`, is its domain", README
    )
    assert website is not None and {company_domain(written.lower()) for written in website.groups()} == {
        "acme.com"
    }
    separators = re.search(r"`tech_stack` \(tools separated by ((?:`[^`]+`,? )+)or line breaks\)", README)
    sources = re.search(r"`lead_source` \(((?:`[a-z_]+`, )+)in any case.*?in the plural: `(\w+)`", README)
    assert separators is not None and sources is not None
    assert set(re.findall(r"`([a-z_]+)`", sources[1])) == set(LEAD_SOURCES) - {"other"}
    stacks = [f"HubSpot{s}Salesforce" for s in [*re.findall(r"`([^`]+)`", separators[1]), "\n", "\r\n"]]
    tables = _crm(stacks)
    tables["leads"]["lead_source"] = sources[2]
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    assert list(features["tech_stack_size"]) == [2] * len(stacks)
    assert set(features["lead_source"]) == {sources[2].lower().removesuffix("s")}


def test_the_report_footer_lines_the_readme_names_are_skipped():
    from pipelines.io import FOOTER_MOST_LINES, TOTAL_LINE

    text = paragraph("`spec check` is an export's `validate`")
    footer = re.search(
        r"So are the few lines \((\d+) at most\).*?says so \(((?:`[^`]+`, )+)whatever", text, re.DOTALL
    )
    assert footer is not None and int(footer[1]) == FOOTER_MOST_LINES
    for line in re.findall(r"`([^`]+)`", footer[2]):
        assert TOTAL_LINE.fullmatch(line), line


def test_true_or_false_where_the_readme_says_a_number_belongs_is_refused():
    example = re.search(r"`((?:scoring|model)\.[a-z_]+): (yes|no|on|off)` would read as", README)
    assert example is not None
    with pytest.raises(ConfigError, match=rf"{re.escape(example[1])}: a number, not true or false"):
        load_config(overrides=[f"{example[1]}={example[2]}"])
