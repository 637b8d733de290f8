"""Authentication for every route: private unless the handler's ``opt`` says ``public``.

- ``/api/...``: ``Authorization: Bearer vgl_...``; missing or bad → 401 JSON with a reason;
  a read-scoped token on an unsafe method → 403.
- pages: the login session; anonymous → 303 to ``/login?next=...`` (htmx requests get
  ``HX-Redirect`` instead, so the login page is not swapped into a fragment).

The principal is put in ``scope["user"]`` (``request.user``) for handlers and guards.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import ASGIMiddleware
from litestar.response.base import ASGIResponse
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.login_sessions import session_user_id
from app.auth.principal import PUBLIC_OPT, Principal
from app.auth.redirects import safe_next
from app.auth.tokens import authenticate_token, scope_allows
from app.auth.users import get_user
from app.db.base import utcnow

API_PREFIX = "/api/"
LOGIN_PATH = "/login"
BEARER_HINT = "send Authorization: Bearer <token> (create one under Admin or POST /api/v1/tokens)"


class AuthMiddleware(ASGIMiddleware):
    """See the module docstring."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["route_handler"].opt.get(PUBLIC_OPT):
            scope["user"] = None
            await next_app(scope, receive, send)
            return
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive=receive)
        sessions: async_sessionmaker[AsyncSession] = scope["litestar_app"].state.sessions
        if scope["path"].startswith(API_PREFIX):
            refusal = await _authenticate_bearer(connection, sessions)
        else:
            refusal = await _authenticate_session(connection, sessions)
        if refusal is not None:
            if scope["type"] != ScopeType.HTTP:
                raise NotAuthorizedException(detail="authentication required")
            await refusal(scope, receive, send)
            return
        await next_app(scope, receive, send)


async def _authenticate_bearer(
    connection: ASGIConnection[Any, Any, Any, Any], sessions: async_sessionmaker[AsyncSession]
) -> ASGIResponse | None:
    header = connection.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _api_error(401, f"missing API token: {BEARER_HINT}")
    owner = await authenticate_token(sessions, secret=secret.strip(), now=utcnow())
    if owner is None:
        return _api_error(401, "invalid, expired or revoked API token")
    method = str(connection.scope.get("method", "GET"))
    if not scope_allows(owner.scope, method=method):
        return _api_error(403, f"token scope '{owner.scope}' does not allow {method}")
    connection.scope["user"] = Principal(
        user_id=owner.user_id,
        email=owner.email,
        role=owner.role,
        via="token",
        token_scope=owner.scope,
    )
    connection.scope["auth"] = "token"
    return None


async def _authenticate_session(
    connection: ASGIConnection[Any, Any, Any, Any], sessions: async_sessionmaker[AsyncSession]
) -> ASGIResponse | None:
    user_id = session_user_id(connection)
    user = await get_user(sessions, user_id=user_id) if user_id is not None else None
    if user is None or user.disabled:
        if user_id is not None:
            connection.clear_session()  # the user is gone or disabled: drop the session
        return _login_redirect(connection)
    connection.scope["user"] = Principal(
        user_id=user.id, email=user.email, role=user.role, via="session"
    )
    connection.scope["auth"] = "session"
    return None


def _api_error(status_code: int, detail: str) -> ASGIResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="vigil"'} if status_code == 401 else {}
    return ASGIResponse(
        body=encode_json({"status_code": status_code, "detail": detail}),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def _login_redirect(connection: ASGIConnection[Any, Any, Any, Any]) -> ASGIResponse:
    """303 to the login page, coming back here afterwards (for GET requests)."""
    location = LOGIN_PATH
    if connection.scope.get("method", "GET") in {"GET", "HEAD"}:
        here = connection.scope["path"]
        if query := connection.scope.get("query_string", b""):
            here += "?" + query.decode("latin-1")
        if safe_next(here, default="") not in {"", "/"}:
            location += "?" + urlencode({"next": here})
    if connection.headers.get("hx-request") == "true":
        return ASGIResponse(status_code=204, headers={"HX-Redirect": location})
    return ASGIResponse(status_code=303, headers={"Location": location})
