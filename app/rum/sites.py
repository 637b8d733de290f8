"""RUM sites: create, change, re-key and delete the websites that send beacons.

Usage::

    site = await create_site(sessions, name="Shop", allowed_origins=["https://shop.example.com"])
    print(beacon_tag(public_url=settings.server.public_url, site=site))

Bad input raises :class:`SiteError` (its message says what to fix) and changes nothing.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.rows import delete_by_id, name_taken
from app.rum.models import Site

KEY_BYTES: Final = 12
"""Random bytes of a site key: 16 URL-safe characters."""
MAX_NAME_LENGTH: Final = 100
MAX_ORIGINS: Final = 50
MAX_PAGE_CAP: Final = 100_000
DEFAULT_PAGE_CAP: Final = 500
DEFAULT_SAMPLE_RATE: Final = 1.0
DEMO_SITE_NAME: Final = "Demo"

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_HOST: Final = re.compile(
    r"^(?:\[[0-9a-f:.]+\]"  # [IPv6]
    r"|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)$"
)


class SiteError(ValueError):
    """A site cannot be saved as asked; the message says why."""


class DuplicateSiteError(SiteError):
    """Another site already has this name."""


class SiteNotFoundError(LookupError):
    """No site has this id."""


def generate_key() -> str:
    """A new public site key: 16 URL-safe random characters."""
    return secrets.token_urlsafe(KEY_BYTES)


def normalise_name(name: str) -> str:
    """The trimmed name; raises :class:`SiteError` when empty or too long."""
    name = name.strip()
    if not name:
        raise SiteError("name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise SiteError(f"name must have at most {MAX_NAME_LENGTH} characters")
    return name


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin`` (lowercase, no default port).

    Raises :class:`SiteError` for anything else: a path, query, user name, other scheme.
    """
    text = origin.strip()
    shown = text or "(empty)"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise SiteError(f"origin {shown!r} has an invalid port") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise SiteError(f"origin {shown!r} must look like https://example.com or http://host:port")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or "?" in text or "#" in text:
        raise SiteError(f"origin {shown!r} must not have a path, query or fragment")
    if parts.username is not None or parts.password is not None:
        raise SiteError(f"origin {shown!r} must not contain a user name or password")
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6: urlsplit drops the brackets
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise SiteError(f"origin {shown!r} has an invalid host name") from None
    if not _HOST.match(host):
        raise SiteError(f"origin {shown!r} has an invalid host name")
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def normalise_origins(origins: Iterable[str]) -> list[str]:
    """Each origin normalised, duplicates dropped, order kept."""
    result: list[str] = []
    for origin in origins:
        normalised = normalise_origin(origin)
        if normalised not in result:
            result.append(normalised)
    if len(result) > MAX_ORIGINS:
        raise SiteError(f"a site can have at most {MAX_ORIGINS} allowed origins")
    return result


def check_sample_rate(sample_rate: float) -> float:
    """``0 < sample_rate <= 1``, else :class:`SiteError`."""
    if not math.isfinite(sample_rate) or not 0 < sample_rate <= 1:
        raise SiteError(
            f"sample rate must be above 0 and at most 1 (1 = every page view), got {sample_rate}"
        )
    return float(sample_rate)


def check_page_cap(page_cap: int) -> int:
    """``1 <= page_cap <= MAX_PAGE_CAP``, else :class:`SiteError`."""
    if not 1 <= page_cap <= MAX_PAGE_CAP:
        raise SiteError(f"page cap must be between 1 and {MAX_PAGE_CAP}, got {page_cap}")
    return page_cap


def format_sample_rate(sample_rate: float) -> str:
    """The rate as the tag's ``data-sample`` carries it: ``1``, ``0.25``."""
    return f"{sample_rate:g}"


def endpoint_url(*, public_url: str, key: str) -> str:
    """Where the beacon of site ``key`` posts its measurements."""
    return f"{public_url.rstrip('/')}/rum/v1/{key}"


def beacon_tag(*, public_url: str, site: Site) -> str:
    """The exact ``<script>`` tag to paste into every page of ``site``."""
    base = public_url.rstrip("/")
    return (
        f'<script src="{base}/static/vigil-rum.js" data-site="{site.key}" '
        f'data-endpoint="{endpoint_url(public_url=base, key=site.key)}" '
        f'data-sample="{format_sample_rate(site.sample_rate)}" defer></script>'
    )


def origin_of(url: str) -> str:
    """The origin of an absolute URL, normalised like an allowed origin."""
    parts = urlsplit(url.strip())
    return normalise_origin(f"{parts.scheme}://{parts.netloc}")


async def list_sites(sessions: async_sessionmaker[AsyncSession]) -> list[Site]:
    """Every site, by name."""
    async with sessions() as session:
        return list(await session.scalars(select(Site).order_by(Site.name, Site.id)))


async def get_site(sessions: async_sessionmaker[AsyncSession], *, site_id: int) -> Site | None:
    """The site with ``site_id``, or None."""
    async with sessions() as session:
        return await session.get(Site, site_id)


async def get_site_by_key(sessions: async_sessionmaker[AsyncSession], *, key: str) -> Site | None:
    """The site with public key ``key``, or None."""
    async with sessions() as session:
        site: Site | None = await session.scalar(select(Site).where(Site.key == key))
        return site


def _duplicate(name: str) -> DuplicateSiteError:
    return DuplicateSiteError(f"a site named {name!r} already exists; choose another name")


async def create_site(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    allowed_origins: Iterable[str] = (),
    sample_rate: float = DEFAULT_SAMPLE_RATE,
    page_cap: int = DEFAULT_PAGE_CAP,
) -> Site:
    """Create a site with a fresh key; raises :class:`SiteError` for bad input."""
    site = Site(
        name=normalise_name(name),
        key=generate_key(),
        allowed_origins=normalise_origins(allowed_origins),
        sample_rate=check_sample_rate(sample_rate),
        page_cap=check_page_cap(page_cap),
    )
    try:
        async with sessions.begin() as session:
            if await name_taken(session, (Site.id, Site.name), site.name):
                raise _duplicate(site.name)
            session.add(site)
    except IntegrityError:
        raise _duplicate(site.name) from None
    return site


async def update_site(
    sessions: async_sessionmaker[AsyncSession],
    *,
    site_id: int,
    name: str | None = None,
    allowed_origins: Iterable[str] | None = None,
    sample_rate: float | None = None,
    page_cap: int | None = None,
) -> Site:
    """Change the given fields (None keeps a field); all are checked before anything changes."""
    new_name = normalise_name(name) if name is not None else None
    new_origins = normalise_origins(allowed_origins) if allowed_origins is not None else None
    new_rate = check_sample_rate(sample_rate) if sample_rate is not None else None
    new_cap = check_page_cap(page_cap) if page_cap is not None else None
    try:
        async with sessions.begin() as session:
            site = await session.get(Site, site_id)
            if site is None:
                raise SiteNotFoundError(f"no site with id {site_id}")
            if new_name is not None and new_name != site.name:
                if await name_taken(session, (Site.id, Site.name), new_name, except_id=site_id):
                    raise _duplicate(new_name)
                site.name = new_name
            if new_origins is not None:
                site.allowed_origins = new_origins
            if new_rate is not None:
                site.sample_rate = new_rate
            if new_cap is not None:
                site.page_cap = new_cap
    except IntegrityError:
        raise _duplicate(new_name or "") from None
    return site


async def regenerate_key(sessions: async_sessionmaker[AsyncSession], *, site_id: int) -> Site:
    """Give the site a new key; pages still carrying the old tag stop being accepted."""
    async with sessions.begin() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise SiteNotFoundError(f"no site with id {site_id}")
        site.key = generate_key()
    return site


async def delete_site(sessions: async_sessionmaker[AsyncSession], *, site_id: int) -> bool:
    """Delete the site; False when there was none."""
    return await delete_by_id(sessions, Site, site_id)


async def ensure_demo_site(
    sessions: async_sessionmaker[AsyncSession], *, public_url: str
) -> Site | None:
    """Create the "Demo" site (origin = ``public_url``'s) when there is no site at all.

    Returns the site it created, or None when a site already existed. Safe to run on
    every start and from several replicas at once.
    """
    origin = origin_of(public_url)
    async with sessions() as session:
        if await session.scalar(select(Site.id).limit(1)) is not None:
            return None
    try:
        return await create_site(sessions, name=DEMO_SITE_NAME, allowed_origins=[origin])
    except DuplicateSiteError:
        return None  # another replica created it first
