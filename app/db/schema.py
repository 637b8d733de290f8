"""Every table Vigil owns, collected for Alembic and the schema tests."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from app.db.base import Base

MODEL_MODULES = (
    "app.db.lease",
    "app.auth.models",
    "app.rum.models",
    "app.services.models",
    "app.tasks.models",
    "app.alerts.models",
    "app.notify.models",
)


def metadata() -> MetaData:
    """Import every domain's models and return the shared metadata."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
