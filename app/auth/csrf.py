"""CSRF protection for browser requests: Litestar's double-submit cookie with a shared key.

Forms send the token in a ``_csrf_token`` field, htmx in the ``X-CSRF-Token`` header
(``static/js/vigil.js`` copies it from ``<meta name="csrf-token">``). The bearer-token API
and machine endpoints (health, metrics, ingest, pings, static files) are exempt: browsers
do not send them ambient credentials that a forged request could use.
"""

from __future__ import annotations

import secrets

from litestar.config.csrf import CSRFConfig
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.auth.shared_secrets import SharedSecret
from app.config import AuthSettings

CSRF_COOKIE = "vigil_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "_csrf_token"  # fixed by Litestar
CSRF_SECRET_NAME = "csrf"  # noqa: S105 - the row name, not the secret
EXEMPT_OPT = "exclude_from_csrf"
"""``opt={"exclude_from_csrf": True}`` exempts a machine endpoint outside the paths below."""

CSRF_EXEMPT_PATHS = [
    "^/api/",
    "^/static/",
    "^/healthz$",
    "^/readyz$",
    "^/metrics$",
    "^/rum/",
    "^/ping/",
    "^/sd/",
]


def csrf_config(settings: AuthSettings) -> CSRFConfig:
    """CSRF settings; the signing key is filled in from the database on first use."""
    return CSRFConfig(
        secret=secrets.token_hex(32),  # replaced by SharedCSRFMiddleware before any use
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.cookie_secure,
        cookie_httponly=True,  # pages carry the token in a meta tag; scripts never read it
        cookie_samesite="lax",
        exclude=CSRF_EXEMPT_PATHS,
        exclude_from_csrf_key=EXEMPT_OPT,
    )


class SharedCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF middleware, signing with a key every replica shares.

    A per-process key would invalidate every browser's CSRF cookie on restart and
    between replicas, so the key lives in the ``auth_secrets`` table.
    """

    def __init__(self, app: ASGIApp, config: CSRFConfig, secret: SharedSecret) -> None:
        super().__init__(app, config)
        self._secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            self.config.secret = await self._secret.get()
        await super().__call__(scope, receive, send)
