"""Server-side login sessions: a cookie holds a random id, the data lives in the database.

Differences from Litestar's stock server-side backend:

- nothing is stored and no cookie is set while the session is empty (anonymous visitors
  cost no write), and a stale cookie is cleared;
- an id is reused only if it was found in the store, so a client cannot choose its own id;
- :func:`start_login_session` *rotates* the id: the old row is deleted and a new id issued,
  so a session id known before login is worthless after it (no session fixation);
- unchanged data is not written back on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from app.config import AuthSettings

SESSION_COOKIE = "vigil_session"
SESSION_STORE = "login_sessions"
USER_ID_KEY = "uid"
_LOADED = "vigil.session_loaded"  # bytes read from the store for this request's cookie
_ROTATE = "vigil.session_rotate"

# Paths that never need a login session: machine endpoints, static files, the bearer API.
SESSIONLESS_PATHS = [
    "^/static/",
    "^/healthz$",
    "^/readyz$",
    "^/metrics$",
    "^/api/",
    "^/rum/",
    "^/ping/",
    "^/sd/",
]


def start_login_session(connection: ASGIConnection[Any, Any, Any, Any], *, user_id: int) -> None:
    """Sign ``user_id`` in under a new session id; the previous id stops working."""
    connection.set_session({USER_ID_KEY: user_id})
    connection.state[_ROTATE] = True


def end_login_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Sign out: the session row is deleted and the cookie cleared."""
    connection.clear_session()


def session_user_id(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The user id stored in this request's session, if any."""
    session = connection.scope.get("session")
    if not isinstance(session, dict):
        return None
    value = session.get(USER_ID_KEY)
    return value if isinstance(value, int) else None


class RotatingSessionBackend(ServerSideSessionBackend):
    """See the module docstring."""

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        data = None
        if session_id := connection.cookies.get(self.config.key):
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
        connection.state[_LOADED] = data
        return self.deserialize_data(data) if data is not None else {}

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_id = connection.cookies.get(self.config.key)
        loaded: bytes | None = connection.state.get(_LOADED)
        cookie_params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        if scope_session is Empty or not scope_session:
            if cookie_id:
                if loaded is not None:
                    await self.delete(cookie_id, store=store)
                cookie = Cookie(value="", key=self.config.key, expires=0, **cookie_params)
                cookie.max_age = 0
                headers.add("Set-Cookie", cookie.to_header(header=""))
            return
        data = self.serialize_data(scope_session, connection.scope)
        rotate = bool(connection.state.get(_ROTATE))
        if cookie_id and loaded is not None and not rotate:
            if data != loaded:
                await self.set(session_id=cookie_id, data=data, store=store)
            return
        if cookie_id and loaded is not None:
            await self.delete(cookie_id, store=store)
        session_id = self.generate_session_id()
        await self.set(session_id=session_id, data=data, store=store)
        headers.add(
            "Set-Cookie",
            Cookie(value=session_id, key=self.config.key, **cookie_params).to_header(header=""),
        )


@dataclass
class LoginSessionConfig(ServerSideSessionConfig):
    """Server-side session settings that use :class:`RotatingSessionBackend`."""

    _backend_class = RotatingSessionBackend


def session_config(settings: AuthSettings) -> LoginSessionConfig:
    """HttpOnly, SameSite=Lax cookie; Secure when configured; lifetime from settings."""
    return LoginSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=settings.session_max_age_seconds,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
        exclude=SESSIONLESS_PATHS,
    )
