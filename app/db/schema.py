"""Every table Vigil owns, collected for Alembic and the schema tests."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    """Import every domain's models and return the shared metadata."""
    import app.auth.models  # noqa: F401
    import app.db.lease  # noqa: F401
    from app.db.base import Base

    return Base.metadata
