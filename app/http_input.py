"""Request input every route shares, refused with a reasoned 400 before a handler sees it.

- :class:`StrictBodyRequest` (the app's request class): a JSON body that is not UTF-8, is
  nested too deeply to decode, or has a NUL character in a string (PostgreSQL text cannot
  hold one) is a 400 saying so, and so is a posted form field with a NUL. Litestar's decoder
  lets the first two through as ``UnicodeDecodeError`` and ``RecursionError``, and the
  database refuses NULs: all were 500s.
- :data:`IdPath`: a row id in a path is 1 to :data:`MAX_ID`, what an ``integer`` primary
  key holds on PostgreSQL; a larger one made the database driver raise (a 500), and is a
  400 naming the parameter now. :data:`BigIdPath` is for the tables with 64-bit ids.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, TypeAlias

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ClientException
from litestar.params import PathParameter

MAX_ID: Final = 2**31 - 1
MAX_BIG_ID: Final = 2**63 - 1

IdPath: TypeAlias = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
"""A path parameter holding the id of a row with an ``Integer`` primary key."""
BodyId: TypeAlias = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
"""A row id inside a JSON body (msgspec checks the bounds when it decodes)."""
BigIdPath: TypeAlias = Annotated[int, PathParameter(ge=1, le=MAX_BIG_ID)]
"""A path parameter holding the id of a row with a ``BigInteger`` primary key."""


class StrictBodyRequest(Request[Any, Any, Any]):
    """Litestar's request whose JSON body must be UTF-8, decodable and without NULs, and
    whose posted form fields must be without NULs."""

    async def form(self) -> FormMultiDict:
        form = await super().form()
        for name, value in form.multi_items():
            if isinstance(value, str) and ("\x00" in value or "\x00" in name):
                raise ClientException(detail=f"form field `{name}` contains a NUL character")
        return form

    async def json(self) -> Any:
        try:
            value = await super().json()
        except UnicodeDecodeError as exc:
            raise ClientException(
                detail=f"request body is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        except RecursionError:
            raise ClientException(detail="request body is nested too deeply") from None
        if (where := nul_at(value)) is not None:
            raise ClientException(detail=f"`{where}` contains a NUL character (\\u0000)")
        return value


def nul_at(value: Any) -> str | None:
    """Where the first string or key of decoded JSON ``value`` holds a NUL (``$.a[0]``)."""
    pending: list[tuple[str, Any]] = [("$", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return path
                pending.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None
