"""HTML form payloads of the dashboard, with their validation."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.models import SCOPES


@dataclass
class NewTokenForm:
    name: str = ""
    scope: str = "read"

    def problem(self) -> str | None:
        """What is wrong with the form, in words, or None."""
        if not self.name.strip():
            return "Give the token a name, e.g. the script that will use it."
        if len(self.name.strip()) > 100:
            return "The name can have at most 100 characters."
        if self.scope not in SCOPES:
            return "Choose read or write."
        return None
