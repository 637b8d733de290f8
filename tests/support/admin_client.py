"""An admin signed in to a real `vigil serve` over HTTP, and the API tokens it issues."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.integration.auth.helpers import login, page_token

_NEW_TOKEN = re.compile(r"vgl_[A-Za-z0-9_\-]{20,}")


@asynccontextmanager
async def signed_in(
    base_url: str, *, email: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the session of ``email``, logged in through the login form."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await login(client, email=email, password=password)
        yield client


async def issue_api_token(client: httpx.AsyncClient, *, scope: str = "write") -> str:
    """A new API token, created on the admin page as a person would (the secret shown once)."""
    response = await client.post(
        "/admin/tokens",
        data={
            "name": f"test-{scope}",
            "scope": scope,
            "_csrf_token": await page_token(client, "/admin"),
        },
    )
    assert response.status_code == 200, response.text
    match = _NEW_TOKEN.search(response.text)
    assert match, "the admin page shows no new token"
    return match.group(0)
