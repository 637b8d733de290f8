"""HTTP middleware: route templates as labels, request ids, status on errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry

from app.telemetry.metrics import VigilMetrics
from app.telemetry.middleware import HttpInstrumentation, current_request_id

ITEM_ID = "12345"
USER_ID = str(uuid.UUID("6f1c1e52-7d39-4a43-9a4c-1b0e7c2d8f11"))


@get("/items/{item_id:int}", sync_to_thread=False)
def item(item_id: FromPath[int]) -> dict[str, int]:
    return {"id": item_id}


@get("/u/{uid:uuid}", sync_to_thread=False)
def user(uid: FromPath[uuid.UUID]) -> str:
    return "ok"


@get("/boom", sync_to_thread=False)
def boom() -> str:
    raise RuntimeError("kaboom")


@get("/rid", sync_to_thread=False)
def rid() -> str:
    return current_request_id() or ""


HANDLERS = [item, user, boom, rid]


def all_label_values(registry: CollectorRegistry) -> list[str]:
    return [
        value
        for family in registry.collect()
        for sample in family.samples
        for value in sample.labels.values()
    ]


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture(params=["wrap", "litestar_middleware"])
def placement(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(registry: CollectorRegistry, placement: str) -> Iterator[TestClient[Litestar]]:
    inst = HttpInstrumentation(metrics=VigilMetrics(registry))
    if placement == "wrap":
        app = inst.wrap(Litestar(HANDLERS))
    else:
        app = Litestar(HANDLERS, middleware=[inst.define_middleware()])
    with TestClient(app, raise_server_exceptions=False) as test_client:  # type: ignore[arg-type]
        yield test_client


def test_labels_are_route_templates_never_raw_paths_ids_or_query_strings(
    client: TestClient[Litestar], registry: CollectorRegistry, placement: str
) -> None:
    assert client.get(f"/items/{ITEM_ID}?email=a@b.c").status_code == 200
    assert client.get(f"/u/{USER_ID}").status_code == 200
    assert client.get("/nope/987654").status_code == 404

    values = all_label_values(registry)
    for forbidden in (ITEM_ID, USER_ID, "email", "?", "987654", "a@b.c", "/nope"):
        assert not [v for v in values if forbidden in v], forbidden
    routes = {v for v in values if v.startswith("/") or v.startswith("(")}
    assert "/items/{item_id}" in routes
    assert "/u/{uid}" in routes
    labels = {"route": "/items/{item_id}", "method": "GET", "status_class": "2xx"}
    assert sample(registry, "vigil_http_requests_total", **labels) == 1
    assert sample(registry, "vigil_http_request_duration_seconds_count", **labels) == 1
    if placement == "wrap":  # only the outer wrapper sees requests the router rejects
        unmatched = {"route": "(unmatched)", "method": "GET", "status_class": "4xx"}
        assert sample(registry, "vigil_http_requests_total", **unmatched) == 1


def test_in_flight_returns_to_zero_and_response_size_is_counted(
    client: TestClient[Litestar], registry: CollectorRegistry
) -> None:
    response = client.get("/items/7")
    assert sample(registry, "vigil_http_requests_in_flight") == 0
    size = sample(
        registry, "vigil_http_response_size_bytes_sum", route="/items/{item_id}", method="GET"
    )
    assert size == len(response.content)


def test_handler_exception_is_counted_as_5xx(
    client: TestClient[Litestar], registry: CollectorRegistry
) -> None:
    assert client.get("/boom").status_code == 500
    assert (
        sample(
            registry, "vigil_http_requests_total", route="/boom", method="GET", status_class="5xx"
        )
        == 1
    )


def test_request_id_is_generated_echoed_and_visible_to_the_handler(
    client: TestClient[Litestar],
) -> None:
    first = client.get("/rid")
    second = client.get("/rid")
    assert first.headers["x-request-id"] == first.text
    assert first.text
    assert first.text != second.text


def test_sane_incoming_request_id_is_kept_and_unsafe_one_replaced(
    client: TestClient[Litestar],
) -> None:
    kept = client.get("/rid", headers={"x-request-id": "abc-123.DEF_4"})
    assert kept.text == "abc-123.DEF_4" == kept.headers["x-request-id"]
    replaced = client.get("/rid", headers={"x-request-id": "bad id\twith <html>"})
    assert replaced.text != "bad id\twith <html>"
    assert replaced.headers["x-request-id"] == replaced.text
    too_long = client.get("/rid", headers={"x-request-id": "a" * 500})
    assert len(too_long.text) < 100


async def test_exception_escaping_the_app_propagates_after_recording_500() -> None:
    registry = CollectorRegistry()
    inst = HttpInstrumentation(metrics=VigilMetrics(registry))

    async def failing_app(scope: object, receive: object, send: object) -> None:
        raise ValueError("no response at all")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: object) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with pytest.raises(ValueError, match="no response"):
        await inst.wrap(failing_app)(scope, receive, send)
    labels = {"route": "(unmatched)", "method": "GET", "status_class": "5xx"}
    assert sample(registry, "vigil_http_requests_total", **labels) == 1
    assert sample(registry, "vigil_http_requests_in_flight") == 0


async def test_unknown_methods_share_one_label() -> None:
    registry = CollectorRegistry()
    inst = HttpInstrumentation(metrics=VigilMetrics(registry))

    async def app(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 405, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async def noop_send(message: object) -> None:
        pass

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    for method in ("FOO", "BAR"):
        scope = {"type": "http", "method": method, "path": "/", "headers": []}
        await inst.wrap(app)(scope, receive, noop_send)
    labels = {"route": "(unmatched)", "method": "OTHER", "status_class": "4xx"}
    assert sample(registry, "vigil_http_requests_total", **labels) == 2
