"""Structured logs: JSON lines with ids, redaction of secrets, idempotent set-up."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider

from app.config import LoggingSettings
from app.telemetry.logging import configure_logging, redact
from app.telemetry.middleware import HttpInstrumentation

SECRETS = ["abc123secret", "s3cr3tcookie", "hunter2xyz", "AKIA12345", "dbpassw0rd"]


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        if getattr(handler, "_vigil_handler", False):
            root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_carries_trace_and_span_ids_inside_a_span(output: io.StringIO) -> None:
    configure_logging(LoggingSettings(format="json"), stream=output)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("vigil.test").info("inside %s", "span", extra={"site": "shop"})
    logging.getLogger("vigil.test").info("outside")
    inside, outside = lines(output)
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert inside["message"] == "inside span"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "vigil.test"
    assert inside["site"] == "shop"
    assert "ts" in inside
    assert "trace_id" not in outside


def test_request_id_is_in_handler_logs_and_in_the_access_log(output: io.StringIO) -> None:
    configure_logging(LoggingSettings(format="json", access_log="all"), stream=output)

    @get("/things/{thing_id:int}", sync_to_thread=False)
    def thing(thing_id: FromPath[int]) -> str:
        logging.getLogger("vigil.things").warning("looking at a thing")
        return "ok"

    inst = HttpInstrumentation(access_log="all")
    # logging_config=None: Litestar's default logging config would replace root handlers.
    with TestClient(inst.wrap(Litestar([thing], logging_config=None))) as client:  # type: ignore[arg-type]
        response = client.get("/things/42?token=zzz")
    request_id = response.headers["x-request-id"]
    records = [r for r in lines(output) if r["logger"] in ("vigil.things", "vigil.access")]
    handler_line, access_line = records
    assert handler_line["request_id"] == request_id
    assert access_line["request_id"] == request_id
    assert access_line["level"] == "INFO"
    assert access_line["method"] == "GET"
    assert access_line["route"] == "/things/{thing_id}"
    assert access_line["path"] == "/things/42"
    assert access_line["status"] == 200
    assert isinstance(access_line["duration_ms"], float)
    assert "zzz" not in output.getvalue()
    assert "?" not in str(access_line["path"])


def test_errors_mode_logs_only_server_errors_and_slow_requests(output: io.StringIO) -> None:
    configure_logging(LoggingSettings(format="json"), stream=output)  # access_log: errors

    @get("/fine", sync_to_thread=False)
    def fine() -> str:
        return "ok"

    @get("/broken", sync_to_thread=False)
    def broken() -> str:
        raise RuntimeError("boom")

    @get("/slow")
    async def slow() -> str:
        await asyncio.sleep(0.06)
        return "ok"

    inst = HttpInstrumentation(access_log="errors", slow_request_seconds=0.05)
    app = inst.wrap(Litestar([fine, broken, slow], logging_config=None))
    with TestClient(app) as client:  # type: ignore[arg-type]
        for path in ("/fine", "/broken", "/slow", "/missing"):
            client.get(path)
    logged = [r["path"] for r in lines(output) if r["logger"] == "vigil.access"]
    assert logged == ["/broken", "/slow"]


def test_secrets_in_messages_args_and_extras_never_reach_the_output(
    output: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(LoggingSettings(format="json"), stream=output)
    log = logging.getLogger("vigil.test")
    log.info("headers: Authorization: Bearer abc123secret")
    log.info("got %s and %s", "Cookie: session=s3cr3tcookie", "password=hunter2xyz")
    log.info("password=%s", "hunter2xyz")  # the secret spans the template and the argument
    log.info(
        "config",
        extra={"query": "api_key=AKIA12345", "dsn": "postgresql://vigil:dbpassw0rd@db/vigil"},
    )
    log.info(
        "nested",
        extra={"headers": {"Authorization": "Bearer abc123secret"}, "password": "hunter2xyz"},
    )
    try:
        raise ValueError("cannot connect to postgresql://vigil:dbpassw0rd@db/vigil")
    except ValueError:
        log.exception("db failed")
    raw = output.getvalue()
    for secret in SECRETS:
        assert secret not in raw, secret
    assert "postgresql://vigil:***@db/vigil" in raw
    # Messages are redacted for every handler, not only Vigil's (here pytest's).
    assert caplog.records
    for record in caplog.records:
        for secret in SECRETS:
            assert secret not in record.getMessage()


def test_secrets_are_redacted_in_text_format_too(output: io.StringIO) -> None:
    configure_logging(LoggingSettings(format="text"), stream=output)
    logging.getLogger("vigil.test").warning(
        "Authorization: Bearer abc123secret password=hunter2xyz apikey=AKIA12345"
    )
    raw = output.getvalue()
    assert "WARNING" in raw
    for secret in SECRETS:
        assert secret not in raw


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc", "Authorization: ***"),
        ("bearer abc.def-ghi", "bearer ***"),
        ("Set-Cookie: sid=1; HttpOnly", "Set-Cookie: ***"),
        ("token=abc&x=1", "token=***&x=1"),
        ('{"client_secret": "xyz"}', '{"client_secret": "***"}'),
        ("API-KEY=k1", "API-KEY=***"),
        ("postgresql+asyncpg://u:p4ss@h:5432/d", "postgresql+asyncpg://u:***@h:5432/d"),
        ("nothing to hide here", "nothing to hide here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_configuring_twice_keeps_one_handler(output: io.StringIO) -> None:
    configure_logging(LoggingSettings(format="json"), stream=output)
    configure_logging(LoggingSettings(format="json", level="WARNING"), stream=output)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_vigil_handler", False)]
    assert len(ours) == 1
    logging.getLogger("vigil.test").warning("once")
    logging.getLogger("vigil.test").info("filtered by level")
    assert [r["message"] for r in lines(output)] == ["once"]


def test_redacted_records_keep_their_args_for_formatters_that_read_them(
    output: io.StringIO,
) -> None:
    configure_logging(LoggingSettings(format="json"), stream=output)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("uvicorn.access.test")
    logger.disabled = False  # an earlier test's dictConfig may have disabled it
    logger.setLevel(logging.INFO)
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.info('%s - "%s %s"', "127.0.0.1:5000", "GET", "/x?token=abc123secret")
    finally:
        logger.removeHandler(keep)
    (record,) = seen
    assert record.args == ("127.0.0.1:5000", "GET", "/x?token=***")
    assert "abc123secret" not in output.getvalue()


def test_debug_level_keeps_loggers_that_print_sql_parameters_at_info(
    output: io.StringIO,
) -> None:
    sql = logging.getLogger("aiosqlite")
    try:
        configure_logging(LoggingSettings(format="json", level="DEBUG"), stream=output)
        sql.debug("executing ('SELECT ... WHERE id = ?', ('s3cr3tcookie',))")
        logging.getLogger("vigil.test").debug("debug is on")
        configure_logging(LoggingSettings(format="json", level="WARNING"), stream=output)
        sql.info("not at WARNING either")
    finally:
        sql.setLevel(logging.NOTSET)
    assert [r["message"] for r in lines(output)] == ["debug is on"]
