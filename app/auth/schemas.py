"""Wire types of the auth API and the login form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec

TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class MeOut(msgspec.Struct, kw_only=True):
    email: str
    role: str
    authenticated_by: Literal["session", "token"]
    token_scope: str | None = None


class TokenIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A token to create; ``write`` includes ``read``."""

    name: TokenName
    scope: Literal["read", "write"] = "read"
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class TokenOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    scope: str
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(msgspec.Struct, kw_only=True):
    """The created token; ``secret`` is shown in this response only."""

    id: int
    name: str
    prefix: str
    scope: str
    expires_at: datetime | None
    secret: str


@dataclass
class LoginForm:
    email: str = ""
    password: str = ""
    next: str = ""
