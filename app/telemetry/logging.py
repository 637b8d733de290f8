"""Structured logs: one JSON object (or one text line) per record, request and trace ids
attached, secrets redacted from every record that reaches the handler.

``configure_logging`` is idempotent: it replaces the handler it installed before and leaves
other handlers (pytest's, a host application's) alone.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TextIO

import msgspec
from opentelemetry import trace

from app.telemetry.middleware import ACCESS_LOGGER_NAME, request_id_var

__all__ = ["JsonFormatter", "RedactionFilter", "configure_logging", "redact"]

REDACTED = "***"
PARAMETER_LOGGERS = ("aiosqlite",)
"""Libraries whose DEBUG records print every statement with its bound parameters (session
ids, ping tokens): they are kept at INFO or above whatever ``telemetry.logging.level`` says."""
_JSON = msgspec.json.Encoder(enc_hook=str)  # anything it cannot encode is written as str()
_HANDLER_MARK = "_vigil_handler"

_SENSITIVE_NAME = (
    r"[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key"
    r"|private[_\-]?key|credentials?)[A-Za-z0-9_.\-]*"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Header lines: "Authorization: Bearer x", "Cookie: a=b; c=d", "Set-Cookie: ...".
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key)"
            r"([\"']?\s*[:=]\s*[\"']?)[^\r\n\"']*"
        ),
        r"\1\2" + REDACTED,
    ),
    # Bare credentials schemes: "Bearer abc.def", "Basic dXNlcjpw".
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 " + REDACTED),
    # key=value / "key": "value" where the key names a secret.
    (
        re.compile(r"(?i)\b(" + _SENSITIVE_NAME + r")([\"']?\s*[=:]\s*[\"']?)([^\s\"'&,;]+)"),
        r"\1\2" + REDACTED,
    ),
    # Passwords in URLs / DSNs: scheme://user:PASSWORD@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/\s@]*:)([^@\s/]+)@"), r"\1" + REDACTED + "@"),
)
_SENSITIVE_KEY_RE = re.compile(
    r"(?i)^(?:" + _SENSITIVE_NAME + r"|authorization|cookie|set-cookie)$"
)

# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "trace_id",
    "span_id",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


# Every pattern above needs one of these words: one scan skips the rest for clean text.
_MAY_HOLD_SECRET = re.compile(
    r"(?i)auth|cookie|api|bearer|basic|pass|pwd|secret|token|access|private|credential|://"
)


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``***``."""
    if _MAY_HOLD_SECRET.search(text) is None:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=4096)
def _is_sensitive_key(key: str) -> bool:
    return _SENSITIVE_KEY_RE.match(key) is not None


def _redact_value(key: str, value: Any) -> Any:
    if _is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    return value


def _redact_message(record: logging.LogRecord) -> None:
    """Redact ``record``'s message, keeping ``msg`` and ``args`` apart when possible.

    Formatters such as uvicorn's access formatter read ``record.args``, so arguments are
    redacted one by one; only when a secret spans the template and an argument (e.g.
    ``log.info("password=%s", pw)``) is the message replaced by its redacted text.
    """
    if getattr(record, "_vigil_msg_redacted", False):
        return
    record._vigil_msg_redacted = True
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is emitted
        return
    clean = redact(message)
    if clean == message:
        return
    if isinstance(record.args, tuple) and record.args and isinstance(record.msg, str):
        args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        try:
            if redact(record.msg % args) == record.msg % args:
                record.args = args
                return
        except Exception:  # noqa: S110 (fall through to replacing the whole message)
            pass
    record.msg = clean
    record.args = None


def _install_record_factory() -> None:
    """Redact message and arguments as records are created, for every handler in the process.

    (``extra`` fields are added after the factory runs; :class:`RedactionFilter` covers them.)
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_vigil_redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_message(record)
        return record

    redacting_factory._vigil_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


class RedactionFilter(logging.Filter):
    """Redacts the message, its arguments, ``extra`` fields and traceback of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_vigil_redacted", False):
            return True
        record._vigil_redacted = True
        _redact_message(record)
        fields = record.__dict__
        for key in fields.keys() - _STANDARD_ATTRS:
            if not key.startswith("_vigil"):
                fields[key] = _redact_value(key, fields[key])
        # Another handler may have cached the traceback text already: redact it either way.
        if record.exc_info or record.exc_text:
            record.exc_text = redact(
                record.exc_text or logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            )
        return True


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``trace_id`` and ``span_id`` from the current context."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, ids, then extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "trace_id", "span_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        fields = record.__dict__
        for key in [k for k in fields if k not in _STANDARD_ATTRS]:
            if not key.startswith("_vigil"):
                entry[key] = fields[key]
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or (
                redact(self.formatException(record.exc_info)) if record.exc_info else None
            )
        return _JSON.encode(entry).decode()


class TextFormatter(logging.Formatter):
    """Human-readable line with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request_id={request_id}]" if request_id else line

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


class LoggingSettingsLike(Protocol):
    """What configure_logging reads (``app.config.LoggingSettings`` fits)."""

    @property
    def level(self) -> Literal["DEBUG", "INFO", "WARNING", "ERROR"]: ...
    @property
    def format(self) -> Literal["json", "text"]: ...
    @property
    def access_log(self) -> Literal["all", "errors", "off"]: ...


def configure_logging(
    settings: LoggingSettingsLike, *, stream: TextIO | None = None
) -> logging.Handler:
    """Install Vigil's handler on the root logger (replacing a previous one); return it.

    Also installs a log-record factory that redacts every record's message, whichever
    handler writes it. Frameworks that call ``logging.config.dictConfig`` afterwards (e.g.
    Litestar's default ``logging_config``) remove this handler: pass ``logging_config=None``.
    """
    _install_record_factory()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    logging.getLogger(ACCESS_LOGGER_NAME).setLevel(
        logging.WARNING if settings.access_log == "off" else logging.INFO
    )
    return handler
