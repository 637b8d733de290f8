"""Who is making a request, and the guards that check it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

PUBLIC_OPT = "public"
PUBLIC: dict[str, Any] = {PUBLIC_OPT: True}
"""``opt`` that makes a route reachable without login, e.g. ``@get("/ping", opt=PUBLIC)``."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user; ``via`` says whether a session or an API token proved it."""

    user_id: int
    email: str
    role: str
    via: Literal["session", "token"]
    token_scope: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The principal the auth middleware put in the scope (None on public routes)."""
    user = connection.scope.get("user")
    return user if isinstance(user, Principal) else None


def is_admin(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the signed-in user may edit (pages show viewers no edit controls)."""
    principal = current_principal(connection)
    return principal is not None and principal.is_admin


def requires_role(*roles: str) -> Guard:
    """A guard letting through only users with one of ``roles`` (others get 403)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        if principal is None:
            raise NotAuthorizedException(detail="authentication required")
        if principal.role not in roles:
            raise PermissionDeniedException(detail=f"requires role {' or '.join(roles)}")

    return guard


requires_admin: Guard = requires_role("admin")
"""Guard for admin-only routes: ``@post("/admin/x", guards=[requires_admin])``."""
