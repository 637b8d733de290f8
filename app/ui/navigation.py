"""The main navigation, with the current page marked."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    current: bool


_ITEMS = (
    ("Overview", "/", False),
    ("Web Vitals", "/vitals", False),
    ("Services", "/services", False),
    ("Tasks", "/tasks", False),
    ("Alerts", "/alerts", False),
    ("HTTP & SSE", "/http", False),
    ("Admin", "/admin", True),
)


def nav_items(path: str, principal: Principal | None) -> list[NavItem]:
    """Links the user may follow; ``current`` marks the section ``path`` belongs to."""
    is_admin = principal is not None and principal.is_admin
    return [
        NavItem(label, href, current=_in_section(path, href))
        for label, href, admin_only in _ITEMS
        if is_admin or not admin_only
    ]


def _in_section(path: str, href: str) -> bool:
    if href == "/":
        return path == "/"
    return path == href or path.startswith(href + "/")
