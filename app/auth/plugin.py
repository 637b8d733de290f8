"""Wires the auth domain into the app: session store, middleware, CSRF, routes.

Middleware order (outermost first, after whatever the app already has): login sessions →
authentication (every route private unless ``opt={"public": True}``) → CSRF.
"""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPluginProtocol
from litestar.stores.registry import StoreRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.csrf import CSRF_SECRET_NAME, SharedCSRFMiddleware, csrf_config
from app.auth.login_sessions import SESSION_STORE, session_config
from app.auth.middleware import AuthMiddleware
from app.auth.ratelimit import SlidingWindowLimiter
from app.auth.routes import LOGIN_LIMITER, auth_routes
from app.auth.session_store import DatabaseSessionStore
from app.auth.shared_secrets import SharedSecret
from app.config import AuthSettings


class AuthPlugin(InitPluginProtocol):
    """``Litestar(plugins=[AuthPlugin(settings.auth, sessions)])``."""

    def __init__(self, settings: AuthSettings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.session_store = DatabaseSessionStore(sessions)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        stores = app_config.stores
        if isinstance(stores, StoreRegistry):
            stores.register(SESSION_STORE, self.session_store)
        else:
            app_config.stores = {**(stores or {}), SESSION_STORE: self.session_store}
        app_config.middleware.extend(
            [
                session_config(self.settings).middleware,
                AuthMiddleware(),
                DefineMiddleware(
                    SharedCSRFMiddleware,
                    config=csrf_config(self.settings),
                    secret=SharedSecret(self.sessions, name=CSRF_SECRET_NAME),
                ),
            ]
        )
        app_config.route_handlers.extend(auth_routes)
        app_config.state[LOGIN_LIMITER] = SlidingWindowLimiter(
            limit=self.settings.login_rate_limit_per_minute
        )
        return app_config
