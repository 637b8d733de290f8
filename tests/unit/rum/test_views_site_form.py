"""The site form: parsing what an admin typed, with a reason for anything wrong."""

from __future__ import annotations

import pytest

from app.rum.sites import SiteError
from app.rum.views import SiteForm


def test_the_form_accepts_origins_on_lines_or_separated_by_commas() -> None:
    form = SiteForm(
        name=" Shop ",
        allowed_origins="https://a.example\r\nhttps://b.example, http://localhost:3000\n",
        sample_rate=" 0.5 ",
        page_cap="200",
    )

    assert form.parsed() == (
        "Shop",
        ["https://a.example", "https://b.example", "http://localhost:3000"],
        0.5,
        200,
    )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sample_rate", "half", "sample rate must be a number"),
        ("sample_rate", "0", "sample rate must be above 0"),
        ("page_cap", "1.5", "page cap must be a whole number"),
        ("allowed_origins", "https://a.example/path", "must not have a path"),
        ("name", "", "name must not be empty"),
    ],
)
def test_bad_form_values_say_what_is_wrong(field: str, value: str, reason: str) -> None:
    form = SiteForm(name="Shop", allowed_origins="https://a.example")
    setattr(form, field, value)

    with pytest.raises(SiteError, match=reason):
        form.parsed()
