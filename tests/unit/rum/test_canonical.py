"""Pages and device classes as RUM stores them."""

from __future__ import annotations

import pytest

from app.rum.canonical import canonical_page, device_class
from app.rum.deltas import MAX_PAGE_LENGTH


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("/products/42", "/products/:id"),
        ("/orders/123/items/7/", "/orders/:id/items/:id"),
        ("/u/123e4567-e89b-12d3-a456-426614174000", "/u/:id"),
        ("/u/123E4567E89B12D3A456426614174000/edit", "/u/:id/edit"),
        ("/assets/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "/assets/:id"),
        ("/commit/a1b2c3d4", "/commit/:id"),
        ("/search?q=secret+name&page=2", "/search"),
        ("/docs/intro#install", "/docs/intro"),
        ("https://shop.example.com/cart?id=9#x", "/cart"),
        ("//cdn.example.com/a/b", "/a/b"),
        ("HTTP://Example.COM", "/"),
        ("/a//b///c", "/a/b/c"),
        ("products/42", "/products/:id"),
    ],
)
def test_page_keeps_only_the_path_with_ids_collapsed(raw: str, expected: str) -> None:
    assert canonical_page(raw) == expected


def test_words_that_look_like_hex_are_kept() -> None:
    assert canonical_page("/blog/deadbeef/faded/cafe") == "/blog/deadbeef/faded/cafe"


def test_segments_mixing_words_and_numbers_are_kept() -> None:
    assert canonical_page("/v2/page-10") == "/v2/page-10"


def test_long_paths_are_cut_to_the_cap() -> None:
    page = canonical_page("/docs/" + "chapter-" * 100)
    assert len(page) == MAX_PAGE_LENGTH
    assert page.startswith("/docs/chapter-")


def test_control_characters_are_replaced() -> None:
    assert canonical_page("/a\x00b/\tc") == "/a?b/c"  # edges stripped, inner replaced


@pytest.mark.parametrize(
    ("width", "device"),
    [
        (None, "unknown"),
        (0, "mobile"),
        (390, "mobile"),
        (767, "mobile"),
        (768, "tablet"),
        (1023, "tablet"),
        (1024, "desktop"),
        (2560, "desktop"),
    ],
)
def test_device_class_from_viewport_width(width: int | None, device: str) -> None:
    assert device_class(width) == device
