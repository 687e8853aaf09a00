"""Ninth hostile sweep, part b: online and in-process scoring after the signature change (every export column
typed Any, CRM ids and numbers Any). MLflow no longer checks the types, so each test is one class of value a
pandas frame, Spark or a JSON body carries that the scorer's own row checks read wrongly: scored with a wrong
value (exit 0, HTTP 200) or a traceback (HTTP 500)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from features.flat import build_flat_features
from models.flat_scorer import checked_request
from models.lead_input import LeadInputError
from pipelines.settings import load_source_spec
from tests.features.test_flat import x_education_fixture
from tests.pipelines.exports import numbered_calls_spec

AS_OF = pd.Timestamp("2026-10-01")


@pytest.fixture(scope="module")
def x_education():
    spec = load_source_spec("x_education")
    return spec, x_education_fixture(12).drop(columns=[spec.label_column])


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.to_datetime(["2026-01-01"] * 12)),
        pd.Series(pd.to_datetime(["2026-01-01"] * 12)).dt.tz_localize("UTC"),
        pd.Series(pd.to_timedelta([5] * 12, unit="s")),
        pd.Series(pd.period_range("2026-01", periods=12, freq="M")),
        pd.Series([3 + 2j] * 12),
    ],
    ids=["naive time", "aware time", "duration", "period", "complex"],
)
def test_a_time_or_complex_number_in_a_number_column_is_refused_not_read_as_nanoseconds(x_education, column):
    """A frame whose column of numbers holds times (a datetime64 column: a Parquet file's, a frame built by
    hand) was scored with each time read as its nanoseconds since 1970 (1.8e18 visits, HTTP 200), a complex
    number as its real part. Batch quarantines such a cell; in process the row is refused naming the field."""
    spec, rows = x_education
    with pytest.raises(LeadInputError, match="row 0, field 'TotalVisits'.*not a number.*rule: is_number"):
        checked_request(rows.assign(TotalVisits=column.to_numpy()), spec, AS_OF, None)


def test_a_number_column_of_missing_times_reads_as_not_given_not_minus_nine_quintillion(x_education):
    """A column of NaT (pd.NaT cells, which pandas and MLflow type datetime64) is a number not given: it was
    read as -9,223,372,036,854,775,808 visits, scored and given as a reason."""
    spec, rows = x_education
    rows = rows.assign(TotalVisits=pd.Series([pd.NaT] * len(rows), dtype="datetime64[ns]"))
    checked = checked_request(rows, spec, AS_OF, None)
    features = build_flat_features(checked, spec)[0]
    visits = features[spec.feature_name("TotalVisits")]
    assert visits.isna().all()


def test_a_json_integer_beyond_a_float_is_refused_naming_the_field(x_education):
    """JSON has no limit on a number's digits: 10**400 in a number column raised pandas' OverflowError (HTTP
    500); it is no finite number, as batch reads the same digits from a CSV."""
    spec, rows = x_education
    big = pd.Series([10**400] + [1] * (len(rows) - 1), dtype=object)
    with pytest.raises(LeadInputError, match="row 0, field 'TotalVisits'.*not a number.*rule: is_number"):
        checked_request(rows.assign(TotalVisits=big), spec, AS_OF, None)


@pytest.mark.parametrize("first", [1e20, float("inf")], ids=["1e20", "inf"])
def test_an_id_column_of_floats_beyond_int64_is_read_as_written_not_a_traceback(x_education, first):
    """An id column of floats holding 1e20 or inf (a JSON body's 1e20, a Parquet float column) raised
    "cannot safely cast non-equivalent float64 to int64" (HTTP 500) where whole floats are read as integers;
    such an id stays the text batch reads from a CSV of the same values."""
    spec, rows = x_education
    ids = [first] + [float(i) for i in range(2, len(rows) + 1)]
    checked = checked_request(rows.assign(**{spec.id_column: ids}), spec, AS_OF, None)
    assert str(checked[spec.id_column].iloc[0]) in ("1e+20", "inf")


class _ExportModel:
    """The parts of a loaded flat-export pyfunc that pipelines.serve.answer reads before predict."""

    metadata = SimpleNamespace(get_input_schema=lambda: None)

    def unwrap_python_model(self) -> SimpleNamespace:
        return SimpleNamespace(typed_by_signature=True)

    def predict(self, frame: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return pd.DataFrame({"lead_id": frame["Prospect ID"].astype("str"), "score": 0.5})


@pytest.mark.parametrize(
    ("body", "field", "what"),
    [
        (
            '{"dataframe_records": [{"Prospect ID": "7", "Lead Origin": "API\\ud800"}]}',
            "'Lead Origin'",
            "value",
        ),
        (
            '{"dataframe_records": [{"Prospect ID": "7"}, {"Prospect ID": "\\udfff"}]}',
            "'Prospect ID'",
            "value",
        ),
        (
            '{"dataframe_split": {"columns": ["Prospect ID", "\\ud800"], "data": [["7", 1]]}}',
            "'\\ud800'",
            "field name",
        ),
    ],
    ids=["text", "id of row 1", "field name"],
)
def test_a_lone_surrogate_in_an_export_row_sent_online_is_a_400_naming_the_row_and_field(body, field, what):
    """JSON can carry a lone surrogate ("\\ud800"), which is no text: for an export's rows, building the frame
    raised UnicodeEncodeError and `leadscore serve` answered 500 (the CRM rows' check already said 400)."""
    from pipelines.serve import answer

    status, text = answer(_ExportModel(), body.encode(), "application/json")
    assert status == 400, text
    message = json.loads(text)["message"]
    assert f"field {field}: the {what} is not valid Unicode text" in message and "(rule: text)" in message
    assert (
        answer(_ExportModel(), b'{"dataframe_records": [{"Prospect ID": "7"}]}', "application/json")[0] == 200
    )


@pytest.fixture(scope="module")
def numbered_spec():
    """An export without ids (a bank's calls): leadscore numbers its rows into 'row' (id_from_row)."""
    return numbered_calls_spec()


def test_a_numbered_exports_row_sent_as_7_7_0_or_text_is_the_row_batch_numbers_7(numbered_spec):
    """Batch names an id_from_row export's lead by its row number, "7". Online callers send the number as
    JSON gives it: "7.0", " 7", "007" and Decimal 7.0 came back as lead_id "7.0", " 7", ..., ids batch never
    gives, so the caller's join of scores to rows missed the lead."""
    from decimal import Decimal

    rows = pd.DataFrame(
        {"row": pd.Series([7, 8.0, "9.0", " 10 ", "011", Decimal("12.0")], dtype=object), "job": "admin."}
    )
    checked = checked_request(rows.assign(campaign=1), numbered_spec, AS_OF, None)
    assert checked["row"].tolist() == ["7", "8", "9", "10", "11", "12"]


@pytest.mark.parametrize("value", [0, -1, 7.5, "x1", True, "1e3", "N/A"])
def test_a_numbered_exports_row_that_is_no_row_number_is_refused(numbered_spec, value):
    """0, -1, 7.5, "x1" or true was scored as the lead of that 'row' (HTTP 200): no row of the file has it."""
    rows = pd.DataFrame({"row": pd.Series([3, value], dtype=object), "job": "admin.", "campaign": 1})
    with pytest.raises(
        LeadInputError, match=r"row 1, field 'row': .* is not a row number .*\(rule: row number\)"
    ):
        checked_request(rows, numbered_spec, AS_OF, None)
    missing = pd.DataFrame({"row": [None, ""], "job": "admin.", "campaign": 1})
    with pytest.raises(LeadInputError, match="row 0, field 'row': row is missing"):
        checked_request(missing, numbered_spec, AS_OF, None)


def test_crm_lead_rows_of_bytes_read_as_their_utf8_text_not_their_python_repr():
    """A binary column (Spark's BinaryType, a Parquet file's, a frame of bytes) reached the CRM scorer as
    str(b"L-1") = "b'L-1'": the lead came back as lead_id "b'L-1'", an industry b"software" scored as an
    unknown industry "b'software'" (HTTP 200, exit 0). Bytes are their UTF-8 text, as an export's rows read
    them; bytes that are no UTF-8 are refused naming the row and field."""
    from models.lead_input import check_lead_rows

    rows = pd.DataFrame(
        {
            "lead_id": [b"L-1", bytearray(b"L-2")],
            "email": [b"a@example.com", "b@example.com"],
            "industry": [b"software", None],
            "activities": [
                b'[{"activity_type": "demo_request", "occurred_at": "2026-09-30T08:00:00"}]',
                None,
            ],
        }
    )
    checked = check_lead_rows(rows)
    assert checked["lead_id"].tolist() == ["L-1", "L-2"]
    assert checked["industry"].tolist() == ["software", None]
    assert checked["activities"][0].startswith('[{"activity_type"')
    with pytest.raises(LeadInputError, match="row 1, field 'industry': bytes that are not UTF-8 text"):
        check_lead_rows(rows.assign(industry=[b"software", b"\xff\xfe"]))


def test_export_rows_of_bytes_that_are_no_utf8_are_refused_naming_the_field(x_education):
    """pandas reads an export row's bytes as UTF-8 text (b"API" is API, as batch reads it); bytes that are no
    UTF-8 raised UnicodeDecodeError out of predict (a traceback in process, a failed Spark task)."""
    spec, rows = x_education
    cells = pd.Series([b"API"] * len(rows), dtype=object)
    assert (
        checked_request(rows.assign(**{"Lead Origin": cells}), spec, AS_OF, None)["Lead Origin"][0] == b"API"
    )
    cells[2] = b"\xff\xfe"
    with pytest.raises(LeadInputError, match="row 2, field 'Lead Origin': bytes that are not UTF-8 text"):
        checked_request(rows.assign(**{"Lead Origin": cells}), spec, AS_OF, None)


def test_export_rows_in_process_without_a_column_the_model_reads_are_refused_as_batch_refuses_the_file(
    x_education,
):
    """In process and on Spark, a frame whose header spells a column otherwise ("total time spent on
    website", a trailing space: a re-export, a Spark column renamed) lost that column to MLflow before the
    scorer saw it, and every lead was scored without it ("time on website: not given", exit 0), where batch
    refuses the export (exit 3) and leadscore serve the field (400). A frame without a column the model reads
    is refused naming it; JSON records leave out a field they have no value for, so the server and a
    records request still read such a field as null."""
    from models.flat_scorer import with_fields_left_out

    spec, rows = x_education
    lost = rows.drop(columns=["Total Time Spent on Website"])  # what MLflow hands the scorer
    with pytest.raises(LeadInputError, match="field 'Total Time Spent on Website': the rows have no column"):
        checked_request(lost, spec, AS_OF, None)
    records = json.loads(lost.head(2).to_json(orient="records"))
    read = checked_request(with_fields_left_out(records, spec), spec, AS_OF, None)
    assert read["Total Time Spent on Website"].isna().all() and len(read) == 2


def test_the_server_reads_an_export_field_every_record_leaves_out_as_null():
    """leadscore serve builds the frame of a request's records: a field of the signature (typed Any) that no
    record holds is added as null, so the scorer, which refuses a frame without the column, scores the lead
    with that value missing, as documented for JSON callers."""
    from mlflow.types.schema import AnyType, ColSpec, Schema

    from pipelines.serve import with_fields_left_out

    schema = Schema([ColSpec(AnyType(), "Prospect ID", required=True), ColSpec(AnyType(), "TotalVisits")])
    model = SimpleNamespace(metadata=SimpleNamespace(get_input_schema=lambda: schema))
    frame = with_fields_left_out([{"Prospect ID": "7"}], model)
    assert frame.columns.tolist() == ["Prospect ID", "TotalVisits"] and frame["TotalVisits"].isna().all()


def test_a_crm_id_sent_as_a_float_beyond_int64_reads_as_batch_reads_the_same_column():
    """A lead_id 1e20 or 1e300 (JSON's float, a float column) came back online as its 21 or 301 digits, where
    the batch contract reads the same float column as "1e+20" (its cast to integers raised a TypeError
    before): the same lead under two ids. A whole float within int64 is still its digits ("12")."""
    from features.contracts import whole_floats_as_ints
    from models.lead_input import check_lead_rows

    ids = [1e300, 1e20, 12.0]
    online = check_lead_rows([{"lead_id": i, "email": "a@example.com"} for i in ids])["lead_id"].tolist()
    assert online == ["1e+300", "1e+20", "12"]
    assert whole_floats_as_ints(pd.Series(ids)).astype("str").tolist()[:2] == online[:2]
