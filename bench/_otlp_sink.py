"""A live OTLP/HTTP trace collector for benchmarks: accepts every export, keeps nothing.

    python -m bench._otlp_sink --port 4318

Answers ``POST /v1/traces`` with 200 and an empty ``ExportTraceServiceResponse`` (HTTP/1.1,
kept alive), without decoding the body, and counts exports and bytes; ``GET /stats``
returns those counts as JSON. Started pinned to the load generator's core by
``bench.overhead``, so the server's figures include encoding and sending spans, not
receiving them.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench._harness import HOST

_lock = threading.Lock()
_stats = {"exports": 0, "bytes": 0}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(size)
        with _lock:
            _stats["exports"] += 1
            _stats["bytes"] += size
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with _lock:
            body = json.dumps(_stats).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer((HOST, args.port), _Handler).serve_forever()


if __name__ == "__main__":
    main()
