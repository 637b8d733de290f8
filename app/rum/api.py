"""``/api/v1/sites``: list, read, create, change, re-key and delete RUM sites.

Reading needs any token; changing needs a ``write`` token (checked by the auth middleware)
of an admin. Bad input gets 400 with a reason, a duplicate name 409; nothing changes then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

import msgspec
from litestar import delete, get, patch, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import JSONBody

from app.auth.principal import requires_admin
from app.db.engine import app_sessions
from app.http_input import IdPath
from app.rum import sites
from app.rum.ingest import reload_site_cache
from app.rum.models import Site

SiteName = Annotated[str, msgspec.Meta(min_length=1, max_length=sites.MAX_NAME_LENGTH)]
Origins = Annotated[list[str], msgspec.Meta(max_length=sites.MAX_ORIGINS)]
SampleRate = Annotated[float, msgspec.Meta(gt=0, le=1)]
PageCap = Annotated[int, msgspec.Meta(ge=1, le=sites.MAX_PAGE_CAP)]
T = TypeVar("T")


class SiteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A site to create; origins look like ``https://shop.example.com`` (no path)."""

    name: SiteName
    allowed_origins: Origins = msgspec.field(default_factory=list)
    sample_rate: SampleRate = sites.DEFAULT_SAMPLE_RATE
    page_cap: PageCap = sites.DEFAULT_PAGE_CAP


class SitePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields to change; a field left out keeps its value."""

    name: SiteName | msgspec.UnsetType = msgspec.UNSET
    allowed_origins: Origins | msgspec.UnsetType = msgspec.UNSET
    sample_rate: SampleRate | msgspec.UnsetType = msgspec.UNSET
    page_cap: PageCap | msgspec.UnsetType = msgspec.UNSET


class SiteOut(msgspec.Struct, kw_only=True):
    """A site, with the endpoint and the exact tag its pages carry."""

    id: int
    name: str
    key: str
    allowed_origins: list[str]
    sample_rate: float
    page_cap: int
    created_at: datetime
    endpoint: str
    tag: str


def _public_url(state: State) -> str:
    url: str = state.settings.server.public_url
    return url


def site_out(site: Site, *, public_url: str) -> SiteOut:
    return SiteOut(
        id=site.id,
        name=site.name,
        key=site.key,
        allowed_origins=list(site.allowed_origins),
        sample_rate=site.sample_rate,
        page_cap=site.page_cap,
        created_at=site.created_at,
        endpoint=sites.endpoint_url(public_url=public_url, key=site.key),
        tag=sites.beacon_tag(public_url=public_url, site=site),
    )


def _refusal(exc: sites.SiteError) -> HTTPException:
    if isinstance(exc, sites.DuplicateSiteError):
        return HTTPException(status_code=409, detail=str(exc))
    return ValidationException(detail=str(exc))


def _unset_to_none(value: T | msgspec.UnsetType) -> T | None:
    return None if isinstance(value, msgspec.UnsetType) else value


@get("/api/v1/sites", tags=["rum"])
async def list_sites(state: State) -> list[SiteOut]:
    """Every RUM site, by name."""
    public_url = _public_url(state)
    return [site_out(s, public_url=public_url) for s in await sites.list_sites(app_sessions(state))]


@get("/api/v1/sites/{site_id:int}", tags=["rum"])
async def get_site(state: State, site_id: IdPath) -> SiteOut:
    """One site; 404 when there is none with this id."""
    site = await sites.get_site(app_sessions(state), site_id=site_id)
    if site is None:
        raise NotFoundException(detail=f"no site with id {site_id}")
    return site_out(site, public_url=_public_url(state))


@post("/api/v1/sites", tags=["rum"], guards=[requires_admin], status_code=201)
async def create_site(state: State, data: JSONBody[SiteIn]) -> SiteOut:
    """Create a site with a fresh public key."""
    try:
        site = await sites.create_site(
            app_sessions(state),
            name=data.name,
            allowed_origins=data.allowed_origins,
            sample_rate=data.sample_rate,
            page_cap=data.page_cap,
        )
    except sites.SiteError as exc:
        raise _refusal(exc) from None
    await reload_site_cache(state)
    return site_out(site, public_url=_public_url(state))


@patch("/api/v1/sites/{site_id:int}", tags=["rum"], guards=[requires_admin])
async def update_site(state: State, site_id: IdPath, data: JSONBody[SitePatch]) -> SiteOut:
    """Change the fields given; the key stays (see ``regenerate-key``)."""
    try:
        site = await sites.update_site(
            app_sessions(state),
            site_id=site_id,
            name=_unset_to_none(data.name),
            allowed_origins=_unset_to_none(data.allowed_origins),
            sample_rate=_unset_to_none(data.sample_rate),
            page_cap=_unset_to_none(data.page_cap),
        )
    except sites.SiteNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    except sites.SiteError as exc:
        raise _refusal(exc) from None
    await reload_site_cache(state)
    return site_out(site, public_url=_public_url(state))


@post(
    "/api/v1/sites/{site_id:int}/regenerate-key",
    tags=["rum"],
    guards=[requires_admin],
    status_code=200,
)
async def regenerate_site_key(state: State, site_id: IdPath) -> SiteOut:
    """Give the site a new key; pages with the old tag are refused from now on."""
    try:
        site = await sites.regenerate_key(app_sessions(state), site_id=site_id)
    except sites.SiteNotFoundError as exc:
        raise NotFoundException(detail=str(exc)) from None
    await reload_site_cache(state)
    return site_out(site, public_url=_public_url(state))


@delete("/api/v1/sites/{site_id:int}", tags=["rum"], guards=[requires_admin])
async def delete_site(state: State, site_id: IdPath) -> None:
    """Delete the site; 404 when there is none with this id."""
    if not await sites.delete_site(app_sessions(state), site_id=site_id):
        raise NotFoundException(detail=f"no site with id {site_id}")
    await reload_site_cache(state)


site_api_routes = [list_sites, get_site, create_site, update_site, regenerate_site_key, delete_site]
"""Route handlers of the sites API."""
