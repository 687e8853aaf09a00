"""Job: serve the champion online: MLflow's scoring app, behind a body-size cap, one uvicorn worker per core.

`leadscore serve` downloads the artifact once, then runs uvicorn on `create_app` (an import string, so that
several worker processes can each build the app). /ping, /health and /version are answered by MLflow's own
app (`mlflow.pyfunc.scoring_server.init(model)`); POST /invocations by `Invocations`, which takes the same
JSON (`dataframe_records` or `dataframe_split`, and `params`) and answers the same `{"predictions": [...]}`,
but checks the request with the lead input contract and answers every client error with a 4xx whose message
names the row, the field and the rule (never a stack trace, never an email address). `BodyLimit` refuses a
body over `serving.max_body_bytes` with 413 before reading it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.utils.proto_json_utils import NumpyEncoder

# Imported before any model is loaded, so the server runs this installation's code (as batch scoring does),
# whatever copy of it an artifact carries.
from features.flat import misspelt_names
from models.flat_scorer import FlatScorer  # noqa: F401 - see above
from models.lead_input import LeadInputError, repeated_key, shown, without_emails
from models.scorer import Scorer, score_records
from pipelines.settings import ServingConfig, tracking_uri
from pipelines.stopping import Stopped, hangup_ends_the_server

MODEL_ENV = "LEADSCORE_SERVE_MODEL"  # the downloaded artifact's folder, for every worker
SETTINGS_ENV = "LEADSCORE_SERVE_SETTINGS"  # the ServingConfig as JSON, for every worker
RECORD_FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
_logger = logging.getLogger("leadscore.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ServeError(ValueError):
    """The server cannot start (no such model, say); the message says why and what to do."""


def default_workers() -> int:
    """One worker process per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def serve_command(model_uri: str, host: str, port: int, workers: int | None = None) -> list[str]:
    """The `leadscore serve` command line, in this environment."""
    command = [sys.executable, "-m", "pipelines.cli", "serve", "--model", model_uri, "--host", host]
    command += ["--port", str(port)]
    return command + (["--workers", str(workers)] if workers else [])


def serve_environment() -> dict[str, str]:
    """The tracking URI made explicit, and the virtualenv's bin on PATH."""
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking_uri()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def download_model(model_uri: str, folder: str) -> str:
    """The artifact's local folder (downloaded once, for all workers); ServeError when there is none."""
    from mlflow.exceptions import MlflowException

    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    try:
        return mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=folder)
    except (MlflowException, OSError) as error:
        raise ServeError(
            f"no model at {model_uri} in the tracking store {tracking_uri()} ({error.__class__.__name__}): "
            "train one with `leadscore train`, or pass --model with a registered version, e.g. "
            "models:/leadscore/1"
        ) from None


def check_listen(host: str, port: int) -> None:
    """ServeError naming the address when the server could not listen there (a port in use, a host that is
    not this machine's): uvicorn ended in an OSError traceback, after the model was downloaded."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as error:  # socket.gaierror too
        raise ServeError(
            f"cannot listen on {host}:{port} ({error.strerror or error}); give another --port (or stop what "
            "uses it), or a --host of this machine"
        ) from None


def run_serve(
    model_uri: str,
    host: str,
    port: int,
    workers: int | None,
    serving: ServingConfig | None = None,
    loaded: Callable[[Scorer], None] | None = None,
) -> None:
    """Serve until stopped (SIGINT or SIGTERM): uvicorn with `workers` processes (default: serving.workers,
    else one per core). `loaded` is handed the model once it is loaded, before the workers start."""
    import uvicorn

    from pipelines.tracking import load_scorer

    serving = serving or ServingConfig()
    workers = workers or serving.workers or default_workers()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tempfile.TemporaryDirectory(prefix="leadscore-serve-") as folder:
        os.environ[MODEL_ENV] = download_model(model_uri, folder)
        # Loaded once here: a worker that cannot load it dies, and uvicorn's parent then waits forever.
        scorer = load_scorer(model_uri, os.environ[MODEL_ENV])
        if loaded is not None:
            loaded(scorer)
        os.environ[SETTINGS_ENV] = serving.model_dump_json()
        # uvicorn shuts down on SIGINT or SIGTERM, then raises the signal again: the way a server ends (exit 0,
        # as with several workers), not a run stopped midway; one worker had been killed by it, leaving this
        # folder and its copy of the model behind.
        with contextlib.suppress(Stopped), hangup_ends_the_server():
            uvicorn.run(
                "pipelines.serve:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                access_log=False,
                timeout_keep_alive=serving.keep_alive_seconds,
                timeout_worker_healthcheck=serving.healthcheck_seconds,
            )


def create_app() -> Any:
    """The ASGI app of one worker, from the environment `run_serve` prepared."""
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.pyfunc import load_model
    from mlflow.pyfunc.scoring_server import init

    from pipelines.tracking import mlflow_warnings_shown

    settings = ServingConfig.model_validate_json(os.environ.get(SETTINGS_ENV) or "{}")
    model = load_model(os.environ[MODEL_ENV], suppress_warnings=not mlflow_warnings_shown())
    model.unwrap_python_model().max_text_chars = settings.max_text_chars
    mlflow_app = init(model)  # /ping, /health and /version; its /invocations is never reached
    invocations = Invocations(mlflow_app, model, float(MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()))
    return BodyLimit(invocations, settings.max_body_bytes)


class Invocations:
    """ASGI: POST /invocations answered here, every other request by MLflow's app. The body (BodyLimit has
    capped it) is scored on this worker's one scoring thread (requests queue in arrival order; the event
    loop stays free for /ping). Answering here, not as a route of MLflow's FastAPI app, spares each request
    that app's middleware, a large share of the cost of scoring one lead."""

    def __init__(self, app: Any, model: Any, timeout_seconds: float) -> None:
        self.app, self.model, self.timeout = app, model, timeout_seconds
        self.scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadscore-scoring")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/invocations" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        import asyncio

        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        refused = refused_query(scope.get("query_string") or b"")
        if refused:
            await _send_json(send, *refused)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
        work = asyncio.get_running_loop().run_in_executor(
            self.scoring, answer, self.model, b"".join(chunks), content_type
        )
        try:
            status, text = await asyncio.wait_for(work, self.timeout)
        except TimeoutError:
            status, text = _error(
                504,
                f"scoring took longer than {self.timeout:.0f} s (MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT): "
                "send fewer leads per request",
                "TIMEOUT",
            )
        await _send_json(send, status, text)


def refused_query(query: bytes) -> tuple[int, str] | None:
    """400 for a query string on /invocations (None without one): nothing reads it, so `?as_of=2026-10-01`
    was ignored and the leads scored as of the request's arrival, HTTP 200."""
    if not query:
        return None
    return _error(
        400,
        f"query string {shown(query.decode('latin-1'))}: /invocations reads no query parameters; send them "
        'in the JSON body, e.g. {"dataframe_records": [...], "params": {"as_of": "2026-10-01"}} '
        "(rule: JSON body)",
    )


def _error(status: int, message: str, code: str = "BAD_REQUEST") -> tuple[int, str]:
    return status, json.dumps({"error_code": code, "message": without_emails(message)})


def answer(model: Any, body: bytes, content_type: str) -> tuple[int, str]:
    """HTTP status and JSON text for one /invocations body: predictions, or an error that names the row,
    the field and the rule. Never raises."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import predictions_to_json

    if content_type.split(";")[0].strip().lower() != "application/json":
        return _error(
            415,
            f"content type {content_type or 'none'!r} is not accepted: send application/json with "
            "dataframe_records (see the README) (rule: JSON body)",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    try:
        records, params = request_rows(body)
        python_model = model.unwrap_python_model()
        if python_model.typed_by_signature:  # a flat export's columns, typed by the signature as MLflow does
            check_column_names(records, model)
            check_unicode(records)
            frame = whole_numbers_as_doubles(with_fields_left_out(records, model), model)
            scores = model.predict(frame, params=params)
        else:  # records in, records out: no frame to build (and take apart) for one lead
            scores = score_records(python_model.score_columns(records, params))
    except LeadInputError as error:
        return _error(400, str(error))
    except MlflowException as error:
        if error.get_http_status_code() >= 500:
            _logger.exception("scoring failed")
            return _internal_error()
        return _error(error.get_http_status_code(), error.message)
    except Exception:  # a bug, not the client's input: the log gets the traceback, the client a sentence
        _logger.exception("scoring failed")
        return _internal_error()
    if isinstance(scores, list):
        return 200, predictions_text(scores)
    if not isinstance(scores, pd.DataFrame):
        result = StringIO()
        predictions_to_json(scores, result)
        return 200, result.getvalue()
    return 200, predictions_json(scores)


def check_column_names(records: list[dict[str, Any]], model: Any) -> None:
    """LeadInputError for a field that spells one of the export's columns in another case, blanks or
    punctuation ("lead source" for "Lead Source"): MLflow drops a field its signature does not name, so the
    lead would be scored without that column, where batch scoring refuses the file (exit 3)."""
    schema = model.metadata.get_input_schema()
    if schema is None:
        return
    names = [column.name for column in schema.inputs]
    for row, record in enumerate(records):  # a loop over the leads of one request
        misspelt = misspelt_names(record, names)
        if misspelt:
            given, column = next(iter(misspelt.items()))
            raise LeadInputError(
                f"row {row}, field {shown(given)}: the model reads the export's column {column!r}, and names "
                "are matched exactly, so this field would be dropped and the lead scored without it; send it "
                f"as {column!r} (rule: known fields only)"
            )


def check_unicode(records: list[dict[str, Any]]) -> None:
    """LeadInputError for a field name or text value holding a lone surrogate ("\\ud800": JSON can carry one,
    no text is made of it): building the frame raised UnicodeEncodeError, an HTTP 500."""
    for row, record in enumerate(records):  # a loop over the leads of one request
        for name, value in record.items():
            for text in (name, value):
                if isinstance(text, str) and not text.isascii() and not _encodes(text):
                    what = "field name" if text is name else "value"
                    raise LeadInputError(
                        f"row {row}, field {shown(name)}: the {what} is not valid Unicode text (a lone "
                        "surrogate such as \\ud800); send it as UTF-8 text (rule: text)"
                    )


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def with_fields_left_out(records: list[dict[str, Any]], model: Any) -> pd.DataFrame:
    """The records as a frame, a field of the signature that every record leaves out as null (typed Any: the
    scorer refuses a frame without a column it reads, which in process is a column MLflow dropped)."""
    from mlflow.types.schema import AnyType

    frame = pd.DataFrame.from_records(records)
    schema = model.metadata.get_input_schema()
    if schema is None:
        return frame
    absent = [
        c.name
        for c in schema.inputs
        if c.name not in frame.columns and isinstance(getattr(c, "type", None), AnyType)
    ]
    return frame.assign(**dict.fromkeys(absent, None)) if absent else frame


def whole_numbers_as_doubles(frame: pd.DataFrame, model: Any) -> pd.DataFrame:
    """The request's columns of whole numbers as the signature types them: doubles where it asks for doubles
    (JSON has one number type, JavaScript sends 3.0 as 3, and MLflow refuses int64 for a double: "can not
    safely convert", a 400 for a valid lead), and their text where it asks for text (an export whose ids are
    numbers, e.g. 660737, has them as text), for versions logged before 2026-12-07: since then an export's
    columns are typed Any (pipelines.tracking.with_columns_read_by_the_scorer) and left as sent."""
    from mlflow.types import DataType

    schema = model.metadata.get_input_schema()
    if schema is None:
        return frame
    kinds = {c.name: getattr(c, "type", None) for c in schema.inputs}
    whole = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])]
    doubles = [c for c in whole if kinds.get(c) == DataType.double]
    texts = [c for c in whole if kinds.get(c) == DataType.string]
    if doubles:
        frame = frame.astype(dict.fromkeys(doubles, "float64"))
    if texts:
        frame = frame.assign(**{c: frame[c].astype("str").astype(object) for c in texts})
    return frame


def predictions_json(scores: pd.DataFrame) -> str:
    """`{"predictions": [...]}` as MLflow's predictions_to_json writes it for a frame, at half the cost
    (one conversion of the frame to Python values, not pandas' to_dict), with null for a missing number."""
    columns = [str(c) for c in scores.columns]
    rows = scores.to_numpy(dtype=object).tolist()
    return _predictions_dump([{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows])


def predictions_text(records: list[dict[str, object]]) -> str:
    """`{"predictions": records}` as JSON, a missing or infinite number as null: MLflow writes NaN, which is
    not JSON (a browser's JSON.parse refuses the whole answer), e.g. a new lead's previous_score."""
    return _predictions_dump([{c: _json_value(v) for c, v in record.items()} for record in records])


def _json_value(value: object) -> object:
    """None for pandas' NA and for a number that is not finite; the value otherwise."""
    if value is pd.NA or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return None
    return value


def _predictions_dump(records: list[dict[str, object]]) -> str:
    return json.dumps({"predictions": records}, cls=NumpyEncoder, allow_nan=False)


def _internal_error() -> tuple[int, str]:
    return _error(
        500,
        "the server failed to score this request (not a problem with your input); the server log has the details",
        "INTERNAL_ERROR",
    )


GZIP_MAGIC = b"\x1f\x8b"


def request_rows(body: bytes) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The lead rows (records) and params of a JSON body; LeadInputError naming what is wrong."""
    try:
        payload = json.loads(body, object_pairs_hook=_unique_fields, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = (
            f" at line {error.lineno}, column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        if body[:2] == GZIP_MAGIC:  # a client that compresses its requests: no server reads them here
            reason = "it is gzip-compressed; send the JSON uncompressed, without Content-Encoding: gzip"
        raise LeadInputError(f"body: not valid JSON{where} ({reason}) (rule: JSON body)") from None
    except RecursionError:
        raise LeadInputError("body: nested too deeply to be lead rows (rule: JSON body)") from None
    if not isinstance(payload, dict):
        raise LeadInputError(
            'body: must be a JSON object such as {"dataframe_records": [...], "params": {...}} (rule: JSON body)'
        )
    formats = [k for k in payload if k in RECORD_FORMATS]
    unknown = [k for k in payload if k not in (*RECORD_FORMATS, "params")]
    if unknown or len(formats) != 1:
        what = f"unknown key(s) {', '.join(shown(k) for k in unknown)}" if unknown else "no lead rows"
        if len(formats) > 1:
            what = f"more than one of {', '.join(formats)}"
        raise LeadInputError(
            f"body: {what}; send the leads as dataframe_records (or dataframe_split) and, optionally, params "
            "(rule: known fields only)"
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise LeadInputError(
            'params: must be a JSON object such as {"as_of": "2026-10-01"} (rule: JSON body)'
        )
    return _records(formats[0], payload[formats[0]]), params


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; one that names a field twice is refused (json.loads kept the last silently, so
    {"lead_id": "L-1", "lead_id": "L-2"} was scored as L-2)."""
    twice = repeated_key(pairs)
    if twice is not None:
        raise LeadInputError(
            f"body: the field {shown(twice)} is written twice in one JSON object (rule: JSON body)"
        )
    return dict(pairs)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are no JSON (Python reads them; NaN then passed as a missing value)."""
    raise LeadInputError(f"body: {name} is not JSON; leave the field out or send null (rule: JSON body)")


def _records(key: str, data: Any) -> list[dict[str, Any]]:
    if key == "dataframe_split":
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("columns"), list)
            or not isinstance(data.get("data"), list)
        ):
            raise LeadInputError('dataframe_split: must hold "columns" and "data" lists (rule: JSON body)')
        columns = data["columns"]
        if not all(isinstance(c, str) for c in columns):
            raise LeadInputError("dataframe_split: columns must be field names (rule: JSON body)")
        twice = repeated_key([(column, None) for column in columns])
        if twice is not None:  # each row kept the column's last value silently, as a field written twice did
            raise LeadInputError(
                f"dataframe_split: the column {shown(twice)} is listed twice; each field is one column "
                "(rule: JSON body)"
            )
        records = []
        for row, values in enumerate(data["data"]):
            if not isinstance(values, list) or len(values) != len(columns):
                raise LeadInputError(
                    f"row {row}: must be a list of {len(columns)} values, one per column (rule: JSON body)"
                )
            records.append(dict(zip(columns, values, strict=True)))
    else:
        records = data
    if not isinstance(records, list) or not records:
        raise LeadInputError(f"{key}: must be a non-empty JSON list of lead rows (rule: JSON body)")
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            raise LeadInputError(f"row {row}: must be a JSON object of fields (rule: JSON body)")
    return records


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 before it is read (on its
    Content-Length), or as soon as its streamed bytes pass the cap; what is left of it is then discarded by
    the server, never buffered."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            size = int(length) if length.isdigit() else None
            if size is None:
                await _send_json(send, *_error(400, "Content-Length is not a number of bytes (rule: HTTP)"))
            elif size > self.max_bytes:
                await _send_json(send, *self._too_large(size))
            else:
                await self.app(scope, receive, send)
            return
        # No Content-Length (a chunked body): read it here, up to the cap, and hand it on in one piece.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await _send_json(send, *self._too_large(None))
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self, size: int | None) -> tuple[int, str]:
        said = f"is {size:,} bytes" if size is not None else f"is over {self.max_bytes:,} bytes"
        return _error(
            413,
            f"body: the request {said}; this server accepts at most {self.max_bytes:,} bytes (setting "
            "serving.max_body_bytes): send fewer leads per request (rule: serving.max_body_bytes)",
            "REQUEST_TOO_LARGE",
        )


async def _send_json(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
