"""A real HTTP service for check and scrape tests: uvicorn on a free loopback port, in-process,
whose answers the test changes while it runs (up, down, slow, malformed /metrics, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from tests.support.server import free_port

GOOD_METRICS = """\
# HELP shop_orders_total Orders placed.
# TYPE shop_orders_total counter
shop_orders_total{region="eu"} 12
shop_orders_total{region="us"} 30
# HELP shop_queue_depth Jobs waiting.
# TYPE shop_queue_depth gauge
shop_queue_depth 4
"""


@dataclass
class TargetService:
    """What the service answers; change the fields while it runs."""

    health_status: int = 200
    health_delay: float = 0.0
    metrics_text: str = GOOD_METRICS
    metrics_status: int = 200
    metrics_delay: float = 0.0
    requests: list[dict[str, str]] = field(default_factory=list)
    """Headers of every request received, in order."""
    port: int = 0
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests.append(
            {k.decode(): v.decode() for k, v in scope["headers"]} | {":path": scope["path"]}
        )
        if scope["path"] == "/metrics":
            await asyncio.sleep(self.metrics_delay)
            status, body = self.metrics_status, self.metrics_text.encode()
            content_type = b"text/plain; version=0.0.4"
        else:
            if self.health_delay:
                await asyncio.sleep(self.health_delay)
            status, body, content_type = self.health_status, b"ok", b"text/plain"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type)],
            }
        )
        await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def running_target(
    target: TargetService | None = None, *, tls_dir: Path | None = None
) -> AsyncIterator[TargetService]:
    """Serve ``target`` on 127.0.0.1 until the block ends; over HTTPS with a self-signed
    certificate (made by the real ``openssl``) when ``tls_dir`` is given."""
    target = target or TargetService()
    target.port = free_port()
    tls: dict[str, Any] = {}
    if tls_dir is not None:
        tls = {"ssl_certfile": str(tls_dir / "cert.pem"), "ssl_keyfile": str(tls_dir / "key.pem")}
        openssl = await asyncio.create_subprocess_exec(
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", tls["ssl_keyfile"], "-out", tls["ssl_certfile"]),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert await openssl.wait() == 0, "openssl could not make a certificate"
        target.scheme = "https"
    config = uvicorn.Config(
        target, host="127.0.0.1", port=target.port, log_config=None, lifespan="off", **tls
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield target
    finally:
        server.should_exit = True
        await task
