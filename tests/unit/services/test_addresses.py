"""Link-local and cloud-metadata addresses are refused; ordinary ones are not."""

from __future__ import annotations

import ipaddress

import pytest

from app.services.addresses import is_refused, resolve


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254"],
)
def test_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    assert is_refused(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.5", "192.168.1.1", "8.8.8.8", "::1", "fd00:ec2::253"]
)
def test_other_addresses_are_allowed(address: str) -> None:
    assert not is_refused(ipaddress.ip_address(address))


async def test_address_literals_resolve_to_themselves() -> None:
    assert await resolve("169.254.169.254", 80) == [ipaddress.ip_address("169.254.169.254")]
    assert await resolve("[fd00:ec2::254]", 80) == [ipaddress.ip_address("fd00:ec2::254")]


async def test_localhost_resolves_to_loopback() -> None:
    found = await resolve("localhost", 80)
    assert found
    assert all(address.is_loopback for address in found)
