"""Login, logout and the token API. Thin: parse, call one function, respond."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from app.auth import tokens
from app.auth.login_sessions import end_login_session, session_user_id, start_login_session
from app.auth.principal import PUBLIC, Principal, requires_admin
from app.auth.ratelimit import SlidingWindowLimiter
from app.auth.redirects import safe_next
from app.auth.schemas import LoginForm, MeOut, NewTokenOut, TokenIn, TokenOut
from app.auth.users import authenticate, get_user
from app.db.base import utcnow
from app.db.engine import app_sessions
from app.http_input import IdPath

LOGIN_FAILED = "Invalid e-mail or password."
TOO_MANY_ATTEMPTS = "Too many login attempts from your address. Please wait and try again."
LOGIN_LIMITER = "login_limiter"


def _login_page(
    *, next_path: str, email: str = "", error: str | None = None, status_code: int = 200
) -> Template:
    return Template(
        template_name="pages/login.html",
        context={"next": next_path, "email": email, "error": error},
        status_code=status_code,
    )


@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], state: State) -> Template | Redirect:
    """The login form; a signed-in user goes straight on."""
    destination = safe_next(request.query_params.get("next"))
    user_id = session_user_id(request)
    if user_id is not None:
        user = await get_user(app_sessions(state), user_id=user_id)
        if user is not None and not user.disabled:
            return Redirect(path=destination, status_code=303)
    return _login_page(next_path=destination)


@post("/login", opt=PUBLIC, include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, Any],
    state: State,
    data: URLEncodedBody[LoginForm],
) -> Template | Redirect:
    """Check the password; on success start a fresh session and go to ``next``."""
    destination = safe_next(data.next)
    limiter: SlidingWindowLimiter = state[LOGIN_LIMITER]
    client = request.client.host if request.client else "unknown"
    retry_after = limiter.hit(client, now=time.monotonic())
    if retry_after is not None:
        page = _login_page(
            next_path=destination, email=data.email, error=TOO_MANY_ATTEMPTS, status_code=429
        )
        page.headers["Retry-After"] = str(retry_after)
        return page
    user = await authenticate(app_sessions(state), email=data.email, password=data.password)
    if user is None:
        return _login_page(
            next_path=destination, email=data.email, error=LOGIN_FAILED, status_code=400
        )
    start_login_session(request, user_id=user.id)
    return Redirect(path=destination, status_code=303)


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session (its id stops working) and go to the login page."""
    end_login_session(request)
    return Redirect(path="/login", status_code=303)


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


@get("/api/v1/me", tags=["auth"])
async def me(request: Request[Any, Any, Any]) -> MeOut:
    """Who the token belongs to."""
    principal = _principal(request)
    return MeOut(
        email=principal.email,
        role=principal.role,
        authenticated_by=principal.via,
        token_scope=principal.token_scope,
    )


def _token_out(row: Any) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        user_id=row.user_id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


@get("/api/v1/tokens", tags=["auth"])
async def list_tokens(request: Request[Any, Any, Any], state: State) -> list[TokenOut]:
    """Tokens (an admin sees everyone's, others their own); secrets are never shown."""
    principal = _principal(request)
    rows = await tokens.list_tokens(
        app_sessions(state), user_id=None if principal.is_admin else principal.user_id
    )
    return [_token_out(row) for row in rows]


@post("/api/v1/tokens", tags=["auth"], guards=[requires_admin], status_code=201)
async def create_token(
    request: Request[Any, Any, Any], state: State, data: JSONBody[TokenIn]
) -> NewTokenOut:
    """Create a token for yourself; its secret is in this response only."""
    expires_at = utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    issued = await tokens.create_token(
        app_sessions(state),
        user_id=_principal(request).user_id,
        name=data.name,
        scope=data.scope,
        expires_at=expires_at,
    )
    return NewTokenOut(
        id=issued.id,
        name=issued.name,
        prefix=issued.prefix,
        scope=issued.scope,
        expires_at=issued.expires_at,
        secret=issued.secret,
    )


@delete("/api/v1/tokens/{token_id:int}", tags=["auth"], guards=[requires_admin])
async def revoke_token(state: State, token_id: IdPath) -> None:
    """Revoke a token at once; 404 when there is no such unrevoked token."""
    if not await tokens.revoke_token(app_sessions(state), token_id=token_id):
        raise NotFoundException(detail=f"no active token with id {token_id}")


auth_routes = [login_page, login, logout, me, list_tokens, create_token, revoke_token]
"""Route handlers of the auth domain."""
