"""``promql``: an instant query against the configured Prometheus; every result series is an
alert series (its labels without ``__name__``).

:func:`check_syntax` catches what can be seen without Prometheus (empty query, unbalanced
brackets or quotes); :func:`check_with_prometheus` asks Prometheus itself, which answers
400 with the parse error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Final, cast

import httpx
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.signals.base import ParamsError, Sample, SignalContext, SignalError

KIND: Final = "promql"
MAX_QUERY_LENGTH: Final = 4000
_CLOSING: Final = {")": "(", "]": "[", "}": "{"}


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    query: Annotated[str, msgspec.Meta(max_length=MAX_QUERY_LENGTH)]


def check_syntax(query: str) -> None:
    """Raise :class:`ParamsError` (field ``query``) for an empty query or unbalanced
    parentheses, brackets, braces or quotes (PromQL strings and comments respected)."""
    if not query.strip():
        raise ParamsError("query", "empty query")
    stack: list[tuple[str, int]] = []
    quote: str | None = None
    index = 0
    while index < len(query):
        char = query[index]
        if quote is not None:
            if char == "\\" and quote != "`":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "#":
            newline = query.find("\n", index)
            index = len(query) if newline < 0 else newline
        elif char in "([{":
            stack.append((char, index))
        elif char in _CLOSING:
            if not stack or stack[-1][0] != _CLOSING[char]:
                raise ParamsError("query", f"unexpected {char!r} at position {index + 1}")
            stack.pop()
        index += 1
    if quote is not None:
        raise ParamsError("query", f"unterminated {quote} string")
    if stack:
        char, position = stack[-1]
        raise ParamsError("query", f"unclosed {char!r} at position {position + 1}")


async def check_with_prometheus(http: httpx.AsyncClient, prometheus_url: str, query: str) -> None:
    """Ask Prometheus to run ``query``; raises ParamsError when it rejects it (400/422).

    Prometheus unreachable is not the query's fault: it raises :class:`SignalError`.
    """
    try:
        response = await http.get(_query_url(prometheus_url), params={"query": query})
    except httpx.HTTPError as exc:
        raise SignalError(f"Prometheus at {prometheus_url} is unreachable: {exc}") from None
    if response.status_code in (400, 422):
        raise ParamsError("query", f"Prometheus rejects it: {_error_text(response)}")


def _query_url(prometheus_url: str) -> str:
    return prometheus_url.rstrip("/") + "/api/v1/query"


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:500]
    return f"HTTP {response.status_code}"


def samples_from_result(data: Any) -> list[Sample]:
    """Series of an instant query's ``data`` (vector or scalar); raises SignalError."""
    if not isinstance(data, dict):
        raise SignalError("Prometheus answered without data")
    kind, result = data.get("resultType"), data.get("result")
    result = cast(Any, result)
    try:
        if kind == "vector":
            return [
                Sample(
                    {k: str(v) for k, v in item["metric"].items() if k != "__name__"},
                    float(item["value"][1]),
                )
                for item in result
            ]
        if kind == "scalar":
            return [Sample({}, float(result[1]))]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SignalError(f"unexpected Prometheus result: {exc!r}") from None
    raise SignalError(f"the query returns a {kind}, expected an instant vector or scalar")


class Promql:
    kind = KIND
    params_type = Params

    def check(self, params: Params) -> None:
        check_syntax(params.query)

    async def evaluate(
        self, session: AsyncSession, params: Params, ctx: SignalContext
    ) -> Sequence[Sample]:
        if not ctx.prometheus_url or ctx.http is None:
            raise SignalError("no Prometheus configured (alerts.prometheus_url)")
        try:
            response = await ctx.http.get(
                _query_url(ctx.prometheus_url),
                params={"query": params.query, "time": f"{ctx.now.timestamp():.3f}"},
                timeout=ctx.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise SignalError(f"Prometheus unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise SignalError(f"Prometheus: HTTP {response.status_code}: {_error_text(response)}")
        try:
            body = response.json()
        except ValueError:
            raise SignalError("Prometheus answered with something that is not JSON") from None
        samples = samples_from_result(body.get("data") if isinstance(body, dict) else None)
        return [s for s in samples if not math.isnan(s.value)]


SIGNAL: Final = Promql()
