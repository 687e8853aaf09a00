"""One artifact everywhere: in-process, batch and the online endpoint give the same scores and reasons."""

import json
import math
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import scoring_snapshots
from models.lead_input import tables_to_lead_rows
from pipelines.score import run_score
from pipelines.serve import serve_command, serve_environment
from pipelines.tracking import load_scorer
from tests.conftest import point_mlflow_at

AS_OF = pd.Timestamp("2026-10-01")
URI = "models:/leadscore@champion"
COMPARED = [
    "lead_id",
    "score",
    "grade",
    "fit_tier",
    "intent_band",
    "disqualified",
    "disqualify_reasons",
    "reasons",
]


@pytest.fixture(scope="module")
def store(shared_champion_store):
    """The session's shared store holding a champion (tests/conftest.py), for this module; only read here."""
    with pytest.MonkeyPatch.context() as patch:
        point_mlflow_at(shared_champion_store.uri, patch)
        yield shared_champion_store.uri
    shared_champion_store.check_unchanged()


@pytest.fixture(scope="module")
def champion(store):
    return load_scorer(URI)


@pytest.fixture(scope="module")
def sample_leads(small_history):
    """Busy open leads that are not duplicates (online, a lead is scored alone and cannot see its twins)."""
    tables = small_history.tables()
    busy = tables["activities"]["lead_id"].value_counts().index
    emails = tables["leads"].set_index("lead_id")["email"]
    unique = set(emails[~emails.duplicated(keep=False)].index)
    deals = tables["deals"]
    closed = set(deals.loc[deals["outcome"] != "open", "lead_id"])
    return [lead for lead in busy if lead in unique and lead not in closed][:25]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(champion):
    port = _free_port()
    proc = subprocess.Popen(
        serve_command(URI, "127.0.0.1", port, 1),
        env=serve_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=1)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the model server did not start within 90 s")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def _post_raw(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _post(url: str, body: dict) -> tuple[int, dict]:
    status, text = _post_raw(url, json.dumps(body).encode())
    return status, json.loads(text)


def _records(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records"))


def _in_process(champion, rows):
    from models.artifact import LeadScoreModel

    model = LeadScoreModel()
    model.scorer = champion
    return model.predict(None, rows, params={"as_of": str(AS_OF)})


def test_batch_online_and_in_process_give_identical_scores(small_history, champion, server, sample_leads):
    tables = small_history.tables()
    rows = tables_to_lead_rows(tables, sample_leads)
    local = _in_process(champion, rows).set_index("lead_id").sort_index()
    status, answer = _post(server, {"dataframe_records": _records(rows), "params": {"as_of": str(AS_OF)}})
    assert status == 200
    online = pd.DataFrame(answer["predictions"]).set_index("lead_id").sort_index()
    batch = run_score(champion, tables, AS_OF, None).scores.set_index("lead_id").loc[local.index]
    for other in (online, batch):
        np.testing.assert_allclose(other["score"].to_numpy(float), local["score"].to_numpy(float), rtol=1e-9)
        for column in COMPARED[2:]:
            assert other[column].astype(str).tolist() == local[column].astype(str).tolist(), column
    assert (online["model_version"] == "1").all() and (local["model_version"] == "1").all()


def test_a_request_without_as_of_is_scored_as_of_now(small_history, champion, sample_leads):
    import mlflow

    assert mlflow.models.get_model_info(URI).signature.params.to_dict()[0]["default"] == ""
    rows = tables_to_lead_rows(small_history.tables(), sample_leads[:2])
    before = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    scored = mlflow.pyfunc.load_model(URI).predict(rows)
    after = pd.Timestamp.now(tz="UTC").tz_localize(None)
    assert ((pd.to_datetime(scored["as_of"]) >= before) & (pd.to_datetime(scored["as_of"]) <= after)).all()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"activities": '[{"activity_type": "chat", "occurred_at": "2026-09-01"}]'}, "activities"),
        ({"activities": "not json"}, "activities"),
        ({"employee_count": "many"}, "employee_count"),
        ({"lead_created_at": "yesterday-ish"}, "lead_created_at"),
    ],
)
def test_malformed_request_gets_400_naming_the_field(small_history, server, sample_leads, change, field):
    record = {**_records(tables_to_lead_rows(small_history.tables(), sample_leads[:1]))[0], **change}
    status, answer = _post(server, {"dataframe_records": [record]})
    assert status == 400
    assert field in answer["message"]


def test_missing_required_field_gets_400(small_history, server, sample_leads):
    record = _records(tables_to_lead_rows(small_history.tables(), sample_leads[:1]))[0]
    del record["email"]
    status, answer = _post(server, {"dataframe_records": [record]})
    assert status == 400 and "email" in answer["message"]


def test_more_pricing_page_visits_raise_the_score_and_name_the_pricing_page(
    small_history, champion, sample_leads
):
    tables = small_history.tables()
    lead = sample_leads[-1]
    base = tables_to_lead_rows(tables, [lead])
    activities = json.loads(base.loc[0, "activities"])
    scores, texts = [], []
    for visits in (0, 3, 6):
        extra = [
            {"activity_type": "pricing_page", "occurred_at": f"2026-09-{25 + k % 5:02d}T10:00:00"}
            for k in range(visits)
        ]
        rows = base.assign(activities=json.dumps(activities + extra))
        out = _in_process(champion, rows).iloc[0]
        scores.append(out["score"])
        texts.append(out["reasons_positive"])
    assert scores[0] < min(scores[1], scores[2])
    # the new visits are named among the positives (pricing and demo requests are one reason concept)
    assert "pricing page" not in texts[0] or "in the last 7 days" not in texts[0]
    assert "visited the pricing page 3 times in the last 7 days" in texts[1]
    assert "visited the pricing page 6 times in the last 7 days" in texts[2]


def test_scoring_snapshots_match_the_artifact_path(small_history, champion, sample_leads):
    """The batch path (tables) and the online path (lead rows) build the same feature rows."""
    from models.lead_input import check_lead_rows, lead_rows_to_tables

    tables = small_history.tables()
    rows = check_lead_rows(tables_to_lead_rows(tables, sample_leads))
    online_tables, snapshots = lead_rows_to_tables(rows, AS_OF)  # named arrays, not frames
    online = champion.feature_frame(online_tables, snapshots).set_index("lead_id").sort_index()
    leads = tables["leads"][tables["leads"]["lead_id"].isin(sample_leads)]
    batch = champion.feature_frame(tables, scoring_snapshots(leads, AS_OF)).set_index("lead_id").sort_index()
    names = champion.model.feature_names
    pd.testing.assert_frame_equal(online[names], batch[names], check_dtype=False, rtol=1e-9)


KILL_MID_WRITE = """
import os, pickle, signal, sys
from pathlib import Path
import pyarrow.parquet as pq
import pipelines.tracking
from pipelines.cli import app

# The champion, unpickled from the file the test wrote (what is tested is the write, not loading from MLflow).
champion = pickle.loads(Path(sys.argv[1]).read_bytes())
pipelines.tracking.load_scorer = lambda uri: champion

original_init, original_write = pq.ParquetWriter.__init__, pq.ParquetWriter.write_table

def remember_path(self, where, *args, **kwargs):
    self.leadscore_path = str(where)
    original_init(self, where, *args, **kwargs)

def write_then_die(self, table, *args, **kwargs):
    original_write(self, table, *args, **kwargs)
    if ".scores.parquet." in self.leadscore_path:  # the final output's temporary file, partly written
        os.kill(os.getpid(), signal.SIGKILL)

pq.ParquetWriter.__init__, pq.ParquetWriter.write_table = remember_path, write_then_die
sys.argv = ["leadscore", *sys.argv[2:]]
app()
"""


@pytest.mark.slow  # a `leadscore score` process, killed
def test_killed_batch_run_leaves_no_partial_output(tmp_path, champion, store):
    """SIGKILL in the middle of writing the scores: no output file; the next run cleans up and succeeds.

    A small history of its own (300 accounts): what is tested is the write, not the amount scored. Only the
    killed run needs a process of its own, and it reads the champion from a pickle rather than through MLflow;
    the next run is the same command line in this process, with the model from the store."""
    from typer.testing import CliRunner

    from features.synthetic import GeneratorConfig, generate_history
    from pipelines.cli import app
    from pipelines.io import write_tables

    data = tmp_path / "crm"
    write_tables(generate_history(GeneratorConfig(accounts=300, months=6)).tables(), data)
    output = tmp_path / "scores.parquet"
    args = ["score", "--input", str(data), "--as-of", "2026-10-01", "--output", str(output), "--model", URI]
    scorer = tmp_path / "champion.pkl"
    scorer.write_bytes(pickle.dumps(champion))
    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_WRITE, str(scorer), *args], capture_output=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the killed run's temporary file
    finished = CliRunner().invoke(app, args)
    assert finished.exit_code == 0, finished.output
    assert len(pd.read_parquet(output)) > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


EMAIL = "maria.lopez@acme-analytics.com"
LEAD = {
    "lead_id": "L-1001",
    "email": EMAIL,
    "job_title": "VP of Sales",
    "lead_source": "referral",
    "lead_created_at": "2026-08-03T09:12:00",
    "account_id": "ACC-77",
    "domain": "acme-analytics.com",
    "industry": "software",
    "employee_count": 420,
    "annual_revenue": 38000000,
    "country": "US",
    "tech_stack": "salesforce;segment;snowflake",
    "account_created_at": "2012-01-01T00:00:00",
    "account_founded_year": None,  # a frame in process holds every field that feeds the score, null or not
    "activities": json.dumps(
        [
            {"activity_type": "pricing_page", "occurred_at": "2026-09-28T10:02:00"},
            {"activity_type": "demo_request", "occurred_at": "2026-09-30T08:15:00"},
        ]
    ),
}
ON_TIME = {"as_of": "2026-10-01"}


def _activity(when: str) -> str:
    return json.dumps([{"activity_type": "blog", "occurred_at": when}])


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"dataframe_records": [LEAD], "params": {"as_of": "3000-01-01"}}, ["params", "'as_of'", "rule: "]),
        (
            {"dataframe_records": [LEAD], "params": {"as_of": "banana"}},
            ["params", "'as_of'", "parse(datetime)"],
        ),
        (
            {"dataframe_records": [{**LEAD, "activities": _activity("3000-01-01")}], "params": ON_TIME},
            ["row 0", "activities[0].occurred_at", "rule: "],
        ),
        (
            {"dataframe_records": [{**LEAD, "activities": _activity("2100-01-01")}], "params": ON_TIME},
            ["row 0", "activities[0].occurred_at", "not in the future"],
        ),
        (
            {"dataframe_records": [{**LEAD, "activities": "[" * 20_000 + "]" * 20_000}], "params": ON_TIME},
            ["row 0", "'activities'", "nested too deeply"],
        ),
        (
            {"dataframe_records": [LEAD, {**LEAD, "lead_id": "L-2", "employee_cnt": 12}], "params": ON_TIME},
            ["row 1", "'employee_cnt'", "unknown field", "known fields only"],
        ),
        (
            {"dataframe_records": [{**LEAD, "employee_count": -5}], "params": ON_TIME},
            ["row 0", "'employee_count'", "ge(1)"],
        ),
        (
            {"dataframe_records": [{**LEAD, "email": "maria.lopez at acme"}], "params": ON_TIME},
            ["row 0", "'email'", "contains('@')"],
        ),
        (
            {"dataframe_records": [{**LEAD, "job_title": "VP " * 100_000}], "params": ON_TIME},
            ["row 0", "'job_title'", "serving.max_text_chars"],
        ),
        (
            {"dataframe_records": [{**LEAD, "job_title": {"who": EMAIL}}], "params": ON_TIME},
            ["row 0", "'job_title'", "must be text"],
        ),
        (
            {"dataframe_records": [LEAD], "params": {"as_off": "2026-10-01"}},
            ["params", "'as_off'", "unknown"],
        ),
        ({"dataframe_recs": [LEAD]}, ["body", "unknown key(s) 'dataframe_recs'"]),
    ],
)
def test_every_bad_request_gets_400_naming_row_field_and_rule(server, body, names):
    status, text = _post_raw(server, json.dumps(body).encode())
    assert status == 400, text
    message = json.loads(text)["message"]
    for name in names:
        assert name in message, (name, message)
    assert "Traceback" not in text and 'File "' not in text
    assert EMAIL not in text and "maria" not in text


def test_a_deeply_nested_body_gets_400(server):
    status, text = _post_raw(server, b'{"dataframe_records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert status == 400 and "nested too deeply" in json.loads(text)["message"]
    status, text = _post_raw(server, b'{"dataframe_records": [')
    assert status == 400 and "not valid JSON" in json.loads(text)["message"]


def test_a_body_over_the_cap_gets_413_at_once_and_the_server_keeps_serving(server):
    import http.client

    port = int(server.rsplit(":", 1)[1])
    big = json.dumps({"dataframe_records": [{**LEAD, "job_title": "x" * 5_000_000}]}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    connection.request("POST", "/invocations", body=big, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    text = response.read().decode()
    assert response.status == 413 and time.perf_counter() - start < 5
    assert "serving.max_body_bytes" in json.loads(text)["message"] and "maria" not in text
    # the same connection goes on (the rest of the body was discarded, not read into memory)
    small = json.dumps({"dataframe_records": [LEAD], "params": ON_TIME}).encode()
    connection.request("POST", "/invocations", body=small, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["predictions"][0]["lead_id"] == "L-1001"
    # a chunked body (no Content-Length) is cut off at the cap too
    chunks = (b"x" * 1_000_000 for _ in range(5))
    connection.request(
        "POST", "/invocations", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    response = connection.getresponse()
    assert response.status == 413 and "serving.max_body_bytes" in response.read().decode()
    connection.close()
    assert urllib.request.urlopen(f"{server}/ping", timeout=5).status == 200


def test_a_row_as_of_is_honoured(server, champion):
    rows = [{**LEAD, "as_of": "2026-09-29T00:00:00"}, {**LEAD, "lead_id": "L-1002"}]
    status, answer = _post(server, {"dataframe_records": rows, "params": ON_TIME})
    assert status == 200, answer
    online = pd.DataFrame(answer["predictions"])
    assert online["as_of"].tolist() == ["2026-09-29T00:00:00", "2026-10-01T00:00:00"]
    # the first row is scored as of its own as_of: as a request with that as_of for every row
    expected = _in_process(champion, pd.DataFrame([LEAD]).assign(as_of="2026-09-29T00:00:00"))
    assert online.loc[0, "score"] == pytest.approx(expected.loc[0, "score"], rel=1e-9)
    assert online.loc[0, "score"] != pytest.approx(online.loc[1, "score"], rel=1e-6)  # the demo request: 9-30


def test_ping_health_and_version_answer_as_mlflow_does(server):
    import mlflow

    for path in ("/ping", "/health"):
        assert urllib.request.urlopen(f"{server}{path}", timeout=5).status == 200
    assert urllib.request.urlopen(f"{server}/version", timeout=5).read().decode() == mlflow.__version__


def test_a_failure_inside_the_server_is_500_with_a_sentence_not_a_traceback():
    from pipelines.serve import answer

    class Broken:
        def unwrap_python_model(self):
            return self

        def predict(self, context, rows, params=None):
            raise KeyError("grade")

    body = json.dumps({"dataframe_records": [LEAD]}).encode()
    status, text = answer(Broken(), body, "application/json")
    assert status == 500 and "server log" in json.loads(text)["message"]
    assert "Traceback" not in text and "grade" not in text and EMAIL not in text
    status, text = answer(Broken(), b"a,b", "text/csv")
    assert status == 415 and "application/json" in json.loads(text)["message"]


def test_the_artifact_examples_are_made_up_not_training_rows(small_history, champion):
    import mlflow

    folder = mlflow.artifacts.download_artifacts(URI)
    tables = small_history.tables()
    real = set(tables["leads"]["email"]) | set(tables["leads"]["lead_id"]) | set(tables["accounts"]["domain"])
    for name in ("input_example.json", "serving_input_example.json"):
        text = Path(folder, name).read_text()
        assert "example.com" in text
        assert not [value for value in real if isinstance(value, str) and value in text], name


@pytest.mark.parametrize("reasons", [True, False])
def test_the_server_writes_the_json_mlflow_writes(champion, reasons):
    """The server scores records without building frames and writes its own JSON: the same text as MLflow's
    predictions_to_json of the artifact's predict."""
    from io import StringIO

    from mlflow.pyfunc.scoring_server import predictions_to_json
    from mlflow.utils.proto_json_utils import NumpyEncoder

    from models.artifact import LeadScoreModel
    from models.scorer import score_records
    from pipelines.serve import predictions_json, predictions_text

    model = LeadScoreModel()
    model.scorer = champion
    rows = [LEAD, {"lead_id": "L-2", "email": "sam@example.org"}, {**LEAD, "lead_id": "L-3"}]
    params = {"as_of": "2026-10-01", "reasons": reasons}
    # Records leave out a field they have no value for; a frame holds every field, null where none.
    scores = model.predict(None, pd.DataFrame(rows, columns=list(LEAD)), params=params)
    expected = StringIO()
    predictions_to_json(scores, expected)
    records = score_records(model.score_columns(rows, params))
    assert json.dumps({"predictions": records}, cls=NumpyEncoder) == expected.getvalue()
    # The same values, with null where MLflow writes NaN (not JSON): the unknown lead's previous score
    assert "NaN" in expected.getvalue() and "NaN" not in predictions_json(scores)
    assert predictions_text(records) == predictions_json(scores)
    mlflow_values = [
        {c: None if isinstance(v, float) and math.isnan(v) else v for c, v in row.items()}
        for row in json.loads(expected.getvalue())["predictions"]
    ]
    assert json.loads(predictions_json(scores))["predictions"] == mlflow_values


def test_serve_without_a_model_exits_3_with_a_sentence(mlflow_store):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["serve", "--model", "models:/leadscore@champion", "--port", "0"])
    assert result.exit_code == 3, result.output
    said = " ".join(result.output.split())
    assert "models:/leadscore@champion" in said and "has no version of model 'leadscore'" in said
    result = CliRunner().invoke(app, ["serve", "--set", "serving.max_body_bytes=0"])
    assert result.exit_code == 3 and "max_body_bytes" in result.output


def test_a_flat_export_example_holds_no_row_of_the_export():
    from pipelines.tracking import example_export_rows

    export = pd.DataFrame(
        {
            "Lead Number": np.arange(100, 160),
            "Prospect Email": [f"person{i}@corp{i}.com" for i in range(60)],
            "Lead Source": ["Google"] * 40 + ["Referral"] * 20,
            "TotalVisits": np.arange(60, dtype=float),
            "Converted": np.arange(60) % 2,
        }
    )
    columns = ["Lead Number", "Prospect Email", "Lead Source", "TotalVisits"]
    example = example_export_rows(export, columns, "Lead Number")
    assert example["Lead Number"].tolist() == [1.0, 2.0]  # made up, typed as the export's ids
    assert example["Prospect Email"].tolist()[0] == "example"  # no value shared by 10 rows: none shown
    assert example["Lead Source"].tolist()[0] == "Google"  # a category shared by many rows
    assert example["TotalVisits"].tolist()[0] == 29.0  # the median (29.5), whole as the column's numbers are
    assert example.iloc[1].drop("Lead Number").isna().all()


def test_dataframe_split_and_records_give_the_same_answer(champion):
    from models.artifact import LeadScoreModel
    from pipelines.serve import answer

    class Served:  # what the server holds: the pyfunc model, unwrapped to ours
        def __init__(self, python_model):
            self.python_model = python_model

        def unwrap_python_model(self):
            return self.python_model

    model = LeadScoreModel()
    model.scorer = champion
    records = [LEAD, {"lead_id": "L-2", "email": "sam@example.org"}]
    columns = list(LEAD)
    split = {"columns": columns, "data": [[row.get(c) for c in columns] for row in records]}
    by_records = answer(
        Served(model),
        json.dumps({"dataframe_records": records, "params": ON_TIME}).encode(),
        "application/json",
    )
    by_split = answer(
        Served(model), json.dumps({"dataframe_split": split, "params": ON_TIME}).encode(), "application/json"
    )
    assert by_records[0] == 200 and by_records == by_split
    short = {"columns": columns, "data": [[1, 2]]}
    status, text = answer(Served(model), json.dumps({"dataframe_split": short}).encode(), "application/json")
    assert status == 400 and "row 0" in json.loads(text)["message"]


def test_an_export_field_spelt_in_another_case_is_refused_not_dropped():
    """MLflow drops a field the signature does not name: "lead source" for the export's "Lead Source" once
    scored the lead without its source (200), where batch refuses such a header (exit 3)."""
    from mlflow.types import ColSpec, Schema

    from pipelines.serve import answer

    class Metadata:
        def get_input_schema(self):
            return Schema([ColSpec("string", "Lead ID"), ColSpec("string", "Lead Source")])

    class Export:  # a flat export's served model: typed by its signature
        typed_by_signature = True
        metadata = Metadata()
        scored: list = []

        def unwrap_python_model(self):
            return self

        def predict(self, frame, params=None):
            self.scored.append(frame)
            return pd.DataFrame({"lead_id": frame["Lead ID"], "score": 0.5})

    model = Export()
    good = {"Lead ID": "7", "Lead Source": "Google", "Notes": "a field the model does not read"}
    status, _ = answer(model, json.dumps({"dataframe_records": [good]}).encode(), "application/json")
    assert status == 200 and len(model.scored) == 1
    misspelt = {"Lead ID": "8", "lead source": "Google"}
    status, text = answer(
        model, json.dumps({"dataframe_records": [good, misspelt]}).encode(), "application/json"
    )
    message = json.loads(text)["message"]
    assert status == 400 and "row 1, field 'lead source'" in message and "'Lead Source'" in message
    assert len(model.scored) == 1
