"""Site input rules without a database: origins, sample rate, page cap, keys and the tag."""

from __future__ import annotations

import re

import pytest

from app.rum import sites
from app.rum.models import Site


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("HTTPS://Shop.Example.COM/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:80", "http://localhost"),
        ("  https://a.example  ", "https://a.example"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(given: str, expected: str) -> None:
    assert sites.normalise_origin(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "must look like"),
        ("shop.example.com", "must look like"),
        ("ftp://shop.example.com", "must look like"),
        ("https://shop.example.com/app", "must not have a path"),
        ("https://shop.example.com/?a=1", "must not have a path"),
        ("https://shop.example.com#top", "must not have a path"),
        ("https://user:pw@shop.example.com", "user name"),
        ("https://shop.example.com:99999", "invalid port"),
        ("https://*.example.com", "invalid host"),
        ("https://exa mple.com", "invalid host"),
    ],
)
def test_bad_origins_are_refused_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(sites.SiteError, match=reason):
        sites.normalise_origin(given)


def test_duplicate_origins_are_kept_once() -> None:
    assert sites.normalise_origins(["https://a.example", "https://A.example/"]) == [
        "https://a.example"
    ]


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.01, float("nan"), float("inf")])
def test_sample_rate_must_be_above_zero_and_at_most_one(rate: float) -> None:
    with pytest.raises(sites.SiteError, match="sample rate"):
        sites.check_sample_rate(rate)


def test_sample_rate_bounds_are_inclusive_at_one() -> None:
    assert sites.check_sample_rate(1) == 1.0
    assert sites.check_sample_rate(0.001) == 0.001


@pytest.mark.parametrize("cap", [0, -1, sites.MAX_PAGE_CAP + 1])
def test_page_cap_out_of_range_is_refused(cap: int) -> None:
    with pytest.raises(sites.SiteError, match="page cap"):
        sites.check_page_cap(cap)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_names_must_be_present_and_short(name: str) -> None:
    with pytest.raises(sites.SiteError, match="name"):
        sites.normalise_name(name)


def test_keys_are_16_url_safe_characters_and_differ() -> None:
    keys = {sites.generate_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", key) for key in keys)


def test_the_tag_points_at_the_public_url_with_key_endpoint_and_sample_rate() -> None:
    site = Site(name="Shop", key="AbCdEfGhIjKlMnOp", sample_rate=0.25)

    tag = sites.beacon_tag(public_url="https://vigil.example.com/", site=site)

    assert tag == (
        '<script src="https://vigil.example.com/static/vigil-rum.js" data-site="AbCdEfGhIjKlMnOp" '
        'data-endpoint="https://vigil.example.com/rum/v1/AbCdEfGhIjKlMnOp" '
        'data-sample="0.25" defer></script>'
    )


def test_a_full_sample_rate_is_written_as_1() -> None:
    assert sites.format_sample_rate(1.0) == "1"


def test_origin_of_a_public_url_drops_the_path() -> None:
    assert sites.origin_of("http://127.0.0.1:8000/vigil/") == "http://127.0.0.1:8000"
