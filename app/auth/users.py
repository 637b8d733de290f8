"""Users: create, authenticate by e-mail and password, bootstrap the first admin.

Usage from the CLI::

    password = await ensure_admin(sessions, email=email, password=os.environ.get(...))
    if password is not None:
        print(f"admin {email} created with password {password}")
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import ROLES, User
from app.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from app.db.base import utcnow

MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


class UserExistsError(UserError):
    """A user with this e-mail already exists."""


def normalise_email(email: str) -> str:
    """E-mails are compared and stored trimmed and lowercased."""
    return email.strip().lower()


async def create_user(
    sessions: async_sessionmaker[AsyncSession],
    *,
    email: str,
    password: str,
    role: str = "viewer",
) -> User:
    """Create a user; raises :class:`UserError` for a bad e-mail, short password or duplicate."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise UserError(f"not an e-mail address: {email!r}")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(email=email, password_hash=hash_password(password), role=role)
    try:
        async with sessions.begin() as session:
            session.add(user)
    except IntegrityError:
        raise UserExistsError(f"a user with e-mail {email} already exists") from None
    return user


async def authenticate(
    sessions: async_sessionmaker[AsyncSession],
    *,
    email: str,
    password: str,
    now: datetime | None = None,
) -> User | None:
    """The enabled user with this e-mail and password, else None (same cost either way).

    Records ``last_login_at`` and upgrades the hash when its parameters are outdated.
    """
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or user.disabled:
        return None
    values: dict[str, object] = {"last_login_at": now or utcnow()}
    if needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    async with sessions.begin() as session:
        await session.execute(update(User).where(User.id == user.id).values(**values))
    user.last_login_at = values["last_login_at"]  # type: ignore[assignment]
    return user


async def get_user(sessions: async_sessionmaker[AsyncSession], *, user_id: int) -> User | None:
    """The user with this id, or None."""
    async with sessions() as session:
        return await session.get(User, user_id)


async def ensure_admin(
    sessions: async_sessionmaker[AsyncSession], *, email: str, password: str | None
) -> str | None:
    """Create the first admin when there are no users at all.

    Uses ``password`` when given, else generates one. Returns the generated password (to
    print once), or None when a password was given or users already exist.
    """
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            return None
    generated = None if password else secrets.token_urlsafe(12)
    try:
        await create_user(sessions, email=email, password=password or generated or "", role="admin")
    except UserError:
        async with sessions() as session:
            if await session.scalar(select(func.count()).select_from(User)):
                return None  # another replica created it first
        raise
    return generated


async def list_users(sessions: async_sessionmaker[AsyncSession]) -> list[User]:
    """All users, by e-mail."""
    async with sessions() as session:
        return list((await session.scalars(select(User).order_by(User.email))).all())
