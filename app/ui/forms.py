"""HTML form payloads of the dashboard, with their validation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from app.auth.models import SCOPES

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FormT = TypeVar("FormT", bound="DataclassInstance")


def form_from_posted(form_type: type[FormT], posted: Mapping[str, Any]) -> FormT:
    """A form dataclass of text fields (each with a default) as posted; a field left out
    keeps its default. The page shows it again as typed when the input is refused."""
    return form_type(
        **{
            field.name: str(posted.get(field.name, field.default))
            for field in dataclasses.fields(form_type)
        }
    )


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
