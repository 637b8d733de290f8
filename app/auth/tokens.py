"""API tokens: ``vgl_<random>`` secrets shown once; only their SHA-256 is stored.

Usage::

    issued = await create_token(sessions, user_id=1, name="ci", scope="read")
    print(issued.secret)  # the only time the secret exists outside the caller's hands
    principal = await authenticate_token(sessions, secret=issued.secret, now=utcnow())
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import SCOPES, ApiToken, User
from app.db.base import utcnow

TOKEN_PREFIX = "vgl_"  # noqa: S105 - a label, not a secret
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
# last_used_at is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly generated token: ``secret`` goes to the user, ``secret_hash`` to the table."""

    secret: str
    prefix: str
    secret_hash: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just stored; ``secret`` is shown once and never stored."""

    id: int
    name: str
    prefix: str
    scope: str
    secret: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Who a valid token acts for, and what it may do."""

    token_id: int
    user_id: int
    email: str
    role: str
    scope: str


def generate_token() -> NewToken:
    """A new random token (256 bits) with its display prefix and hash."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewToken(
        secret=secret, prefix=secret[:DISPLAY_PREFIX_LENGTH], secret_hash=hash_secret(secret)
    )


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a token secret (tokens are random, so no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), secret_hash)


def scope_allows(scope: str, *, method: str) -> bool:
    """``read`` allows GET/HEAD/OPTIONS; ``write`` allows every method."""
    if scope == "write":
        return True
    return scope == "read" and method.upper() in {"GET", "HEAD", "OPTIONS"}


async def create_token(
    sessions: async_sessionmaker[AsyncSession],
    *,
    user_id: int,
    name: str,
    scope: str,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Store a new token for ``user_id`` and return it with its secret (shown once)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    new = generate_token()
    async with sessions.begin() as session:
        row = ApiToken(
            name=name,
            prefix=new.prefix,
            secret_hash=new.secret_hash,
            scope=scope,
            user_id=user_id,
            expires_at=expires_at,
        )
        session.add(row)
        await session.flush()
        return IssuedToken(
            id=row.id,
            name=name,
            prefix=new.prefix,
            scope=scope,
            secret=new.secret,
            expires_at=expires_at,
        )


async def authenticate_token(
    sessions: async_sessionmaker[AsyncSession], *, secret: str, now: datetime
) -> TokenOwner | None:
    """The owner of a valid token; None when unknown, revoked, expired or the user is disabled."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    wanted = hash_secret(secret)
    async with sessions() as session:
        found = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.secret_hash == wanted)
            )
        ).first()
    if found is None:
        return None
    token, user = found
    if not secret_matches(secret, token.secret_hash):
        return None
    if token.revoked_at is not None or user.disabled:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        await _touch(sessions, token_id=token.id, now=now)
    return TokenOwner(
        token_id=token.id, user_id=user.id, email=user.email, role=user.role, scope=token.scope
    )


async def _touch(
    sessions: async_sessionmaker[AsyncSession], *, token_id: int, now: datetime
) -> None:
    """Record use; skipped by the caller when the stored time is recent enough."""
    async with sessions.begin() as session:
        await session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        )


async def list_tokens(
    sessions: async_sessionmaker[AsyncSession], *, user_id: int | None = None
) -> list[ApiToken]:
    """Tokens, newest first; only ``user_id``'s when given."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def revoke_token(
    sessions: async_sessionmaker[AsyncSession],
    *,
    token_id: int,
    now: datetime | None = None,
    user_id: int | None = None,
) -> bool:
    """Revoke a token (only ``user_id``'s when given); False when there is no such live token."""
    query = (
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    async with sessions.begin() as session:
        result = await session.execute(query)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


ProvisionOutcome = Literal["created", "present", "revoked"]
MIN_PROVISIONED_LENGTH = len(TOKEN_PREFIX) + 32


async def provision_token(
    sessions: async_sessionmaker[AsyncSession], *, secret: str, name: str, scope: str
) -> ProvisionOutcome:
    """Make ``secret`` (chosen by the operator, e.g. from an env var) a live token of the
    first admin, named ``name``; the admin's other live tokens of that name are revoked, so
    changing the secret rotates it.

    Returns ``created``, ``present`` (already stored and live) or ``revoked`` (stored but
    revoked in the UI: it stays revoked). Raises ValueError for a secret that is not
    ``vgl_`` and at least 32 more characters, or when there is no admin yet.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if not secret.startswith(TOKEN_PREFIX) or len(secret) < MIN_PROVISIONED_LENGTH:
        raise ValueError(
            f"a token must start with {TOKEN_PREFIX!r} followed by at least 32 random "
            "characters, e.g. python3 -c \"import secrets; print('vgl_' + "
            'secrets.token_urlsafe(32))"'
        )
    try:
        return await _provision(sessions, secret=secret, name=name, scope=scope)
    except IntegrityError:
        return "present"  # another replica starting at the same time stored it first


async def _provision(
    sessions: async_sessionmaker[AsyncSession], *, secret: str, name: str, scope: str
) -> ProvisionOutcome:
    wanted = hash_secret(secret)
    async with sessions.begin() as session:
        existing = await session.scalar(select(ApiToken).where(ApiToken.secret_hash == wanted))
        if existing is not None:
            return "present" if existing.revoked_at is None else "revoked"
        admin_id = await session.scalar(
            select(User.id).where(User.role == "admin").order_by(User.id).limit(1)
        )
        if admin_id is None:
            raise ValueError("there is no admin to own the token yet")
        await session.execute(
            update(ApiToken)
            .where(
                ApiToken.user_id == admin_id,
                ApiToken.name == name,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        session.add(
            ApiToken(
                name=name,
                prefix=secret[:DISPLAY_PREFIX_LENGTH],
                secret_hash=wanted,
                scope=scope,
                user_id=admin_id,
            )
        )
    return "created"
