"""A NUL in a posted form field is a 400 naming the field before any handler runs: PostgreSQL
text cannot hold one (it was a 500 there) and SQLite would have stored it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.models import AlertRule
from app.rum.models import Site
from app.services.models import Service
from tests.integration.auth.helpers import page_token

FORMS = [
    (
        "/services",
        "/services/new",
        Service,
        {"name": "Shop\x00", "base_url": "http://shop.internal", "health_path": "/healthz"},
        "name",
    ),
    ("/vitals/sites", "/vitals/sites", Site, {"name": "Blog\x00"}, "name"),
    (
        "/alerts/rules",
        "/alerts/rules/new",
        AlertRule,
        {"name": "Down", "signal": "service_down", "annotations": "summary=x\x00"},
        "annotations",
    ),
]


@pytest.mark.parametrize(("action", "page", "model", "fields", "field"), FORMS)
async def test_a_nul_in_an_admin_form_is_a_400_and_saves_nothing(
    admin: Any,
    sessions: async_sessionmaker[AsyncSession],
    action: str,
    page: str,
    model: Any,
    fields: dict[str, str],
    field: str,
) -> None:
    async with sessions() as session:
        before = await session.scalar(select(func.count()).select_from(model))
    token = await page_token(admin, page)

    response = await admin.post(action, data=fields | {"_csrf_token": token})

    assert response.status_code == 400
    assert f"form field `{field}` contains a NUL character" in response.text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(model)) == before
