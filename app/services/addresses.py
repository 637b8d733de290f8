"""Which addresses a health check may connect to, checked after DNS resolution.

Link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata endpoints
(169.254.169.254, fd00:ec2::254) hand out instance credentials; a registered service must
not be able to point Vigil at them unless ``services.allow_link_local`` says so. The check
runs inside the HTTP connection itself (:class:`GuardedBackend`): the name is resolved
once, every address is checked, and the connection goes to a checked address, so a name
that resolves somewhere else a moment later (DNS rebinding) cannot slip past it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

CLOUD_METADATA = frozenset({ipaddress.ip_address("fd00:ec2::254")})
"""Metadata addresses outside the link-local ranges (AWS's IPv6 endpoint)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddressError(Exception):
    """The target resolves to an address health checks may not reach."""


class UnresolvableHostError(Exception):
    """The target's host name does not resolve."""


def is_refused(address: IPAddress) -> bool:
    """True for link-local and cloud-metadata addresses (also IPv4-mapped IPv6 ones)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address in CLOUD_METADATA


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (an address literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that refuses link-local / metadata targets.

    Each connection resolves the host, raises :class:`RefusedAddressError` if any address is
    refused, and otherwise connects to the addresses in order until one answers. TLS still
    verifies the original host name (httpcore starts TLS on the stream with it).
    """

    def __init__(self, *, allow_link_local: bool) -> None:
        self._allow_link_local = allow_link_local
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise UnresolvableHostError(f"cannot resolve {host}: {exc}") from exc
        if not self._allow_link_local:
            refused = [a for a in addresses if is_refused(a)]
            if refused:
                raise RefusedAddressError(
                    f"{host} resolves to {refused[0]}, a link-local or cloud-metadata address"
                )
        last_error: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not health-check targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose connections go through :class:`GuardedBackend`."""

    def __init__(self, *, allow_link_local: bool) -> None:
        super().__init__(trust_env=False)
        # httpx has no public parameter for the network backend: replace the (unused) pool.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_link_local=allow_link_local),
        )
