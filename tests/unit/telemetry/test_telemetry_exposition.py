"""GET /metrics: loopback or bearer token."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry

from app.telemetry.exposition import is_loopback, metrics_route
from app.telemetry.metrics import VigilMetrics

TOKEN = "prom-scrape-token"


def make_app(token: str = "") -> Litestar:
    registry = CollectorRegistry()
    VigilMetrics(registry).set_build_info(version="9.9.9", environment="test")
    return Litestar([metrics_route(registry, bearer_token=token)])


def loopback_client(app: Litestar) -> TestClient[Litestar]:
    # TestClient reports the client host as "testclient"; a real loopback peer looks so:
    async def as_loopback(scope, receive, send):  # type: ignore[no-untyped-def]
        scope["client"] = ("127.0.0.1", 50000)
        await app(scope, receive, send)

    return TestClient(as_loopback)  # type: ignore[arg-type]


def test_loopback_client_is_served_without_token() -> None:
    with loopback_client(make_app()) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "vigil_build_info{" in response.text


def test_remote_client_without_token_configured_gets_401_with_reason() -> None:
    with TestClient(make_app()) as client:
        response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "loopback" in response.text


def test_remote_client_needs_the_right_bearer_token() -> None:
    with TestClient(make_app(TOKEN)) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert "invalid bearer token" in wrong.text
    assert "vigil_build_info" not in wrong.text
    assert right.status_code == 200
    assert "vigil_build_info" in right.text


def test_loopback_is_still_allowed_when_a_token_is_configured() -> None:
    with loopback_client(make_app(TOKEN)) as client:
        assert client.get("/metrics").status_code == 200


def test_disabled_metrics_route_answers_404() -> None:
    app = Litestar([metrics_route(CollectorRegistry(), enabled=False)])
    with loopback_client(app) as client:
        assert client.get("/metrics").status_code == 404


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.9.10")
    assert is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.1")
    assert not is_loopback("testclient")
    assert not is_loopback("")
    assert not is_loopback(None)
    assert not is_loopback("localhost")
