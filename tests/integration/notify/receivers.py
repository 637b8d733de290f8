"""Real receivers for the notify tests: an HTTP webhook server, an SMTP server, Alertmanager."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.support.server import free_port, stop_process

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@dataclass
class WebhookRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signature_ok(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-vigil-signature", ""))


@dataclass
class WebhookReceiver:
    """An HTTP server on loopback that records every POST and answers ``status``.

    ``fail_next`` answers that many requests with 503 first; ``delay`` slows every answer;
    ``stop()`` / ``start()`` take it off and back on the same port (connection refused
    in between). ``delivered_keys`` counts 2xx-answered requests by idempotency key.
    """

    port: int = field(default_factory=free_port)
    status: int = 200
    fail_next: int = 0
    delay: float = 0.0
    requests: list[WebhookRequest] = field(default_factory=list)
    delivered: list[WebhookRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered_keys(self) -> Counter[str]:
        return Counter(r.headers.get("x-vigil-idempotency-key", "") for r in self.delivered)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = WebhookRequest(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.requests.append(request)
                    status = receiver.status
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        status = 503
                    if 200 <= status < 300:
                        receiver.delivered.append(request)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(**options)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


USERNAME = "vigil"
PASSWORD = "smtp-pass-Zq81"


class MailBox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, message_from_bytes(content)))
        return "250 Message accepted for delivery"


def _authenticate(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(*, require_auth: bool = False) -> Iterator[tuple[int, MailBox]]:
    """A real SMTP server on loopback (plain, optionally with AUTH LOGIN/PLAIN)."""
    box = MailBox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate if require_auth else None,
        auth_required=require_auth,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@dataclass
class RunningAlertmanager:
    url: str
    process: subprocess.Popen[bytes]

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=5)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts


@contextmanager
def alertmanager(tmp_path: Path, *, port: int | None = None) -> Iterator[RunningAlertmanager]:
    """The Debian Alertmanager on a loopback port (a free one by default), clustering off,
    a null receiver."""
    if shutil.which(ALERTMANAGER) is None:
        raise RuntimeError(f"{ALERTMANAGER} is missing (apt-get install prometheus-alertmanager)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n"
    )
    port = port or free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = RunningAlertmanager(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{running.url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("alertmanager did not become ready")
            time.sleep(0.1)
        yield running
    finally:
        stop_process(process)
