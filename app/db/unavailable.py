"""Requests that need the database while it is down answer 503 with ``Retry-After``, not 500.

A page, an API call or the login form reads the database (the login session, the shared
CSRF secret, the page's rows). While PostgreSQL restarts, or SQLite stays locked past its
busy timeout, that read fails with a connection-level error: raised as is when no
connection could be opened (``ConnectionRefusedError``, a DNS failure of the database host,
asyncpg's "the database system is starting up"), wrapped by SQLAlchemy
(``OperationalError`` / ``InterfaceError``) when an open connection broke. Each is answered
like the ingest routes answer it: 503, ``Retry-After: 5``, one warning line with the error's
class only (a database error's text carries the query's parameters). The pool reconnects by
itself (``pool_pre_ping``), so the next request after the database is back succeeds.

Beacons and pings have their own answers (``app.rum.routes``, ``app.tasks.routes``).
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Final

from litestar import MediaType, Request, Response
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = "5"
DETAIL: Final = "the database is unavailable; try again in a few seconds"


def _connection_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [
        ConnectionError,
        socket.gaierror,
        OperationalError,
        InterfaceError,
    ]
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:  # a SQLite-only install
        return tuple(errors)
    errors += [
        asyncpg.exceptions.PostgresConnectionError,  # connection refused, rejected, lost
        asyncpg.exceptions.OperatorInterventionError,  # starting up, shutting down
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.exceptions.InterfaceError,
    ]
    return tuple(errors)


CONNECTION_ERRORS: Final = _connection_errors()
"""Errors that mean "the database cannot be reached right now": refused and reset connections,
DNS failures of the database host, and what SQLAlchemy and asyncpg wrap them in. Other
``OSError``s (a missing file, say) stay 500s."""


def database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """503 with ``Retry-After``; the body has Litestar's error shape."""
    log.warning(
        "request refused: the database is unavailable (%s)",
        type(exc).__name__,
        extra={"path": request.url.path},
    )
    return Response(
        {"status_code": 503, "detail": DETAIL},
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": RETRY_AFTER_SECONDS, "Cache-Control": "no-store"},
    )


def database_exception_handlers() -> ExceptionHandlersMap:
    """``Litestar(exception_handlers=...)`` entries for :data:`CONNECTION_ERRORS`."""
    return dict.fromkeys(CONNECTION_ERRORS, database_unavailable)
