import pytest

from app.auth.redirects import safe_next


@pytest.mark.parametrize(
    "value", ["/", "/alerts", "/vitals?site=a&metric=LCP", "/admin/tokens#new"]
)
def test_local_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "alerts",
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "/login",
        "/login?next=/x",
        "/" + "a" * 3000,
    ],
)
def test_anything_else_falls_back_to_the_default(value: str | None) -> None:
    assert safe_next(value) == "/"
    assert safe_next(value, default="/home") == "/home"
