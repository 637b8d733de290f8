"""Serve one benchmark app with uvicorn as ``vigil serve`` does (uvloop, httptools).

    python -m bench._serve --app vigil-on --port 8123 --db-url ... --otlp-endpoint ...

Started pinned to one core by :func:`bench._harness.pinned_server`.
"""

from __future__ import annotations

import argparse

import uvicorn

from bench._harness import HOST
from bench.apps import APP_NAMES, load_app


def uvicorn_config(app: object, port: int) -> uvicorn.Config:
    """The server settings every uvicorn benchmark uses (those of `vigil serve`)."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="on",
        access_log=False,
        log_level="warning",
        log_config=None,
        server_header=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", choices=APP_NAMES, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--otlp-endpoint", default="")
    args = parser.parse_args()
    app = load_app(args.app, db_url=args.db_url, otlp_endpoint=args.otlp_endpoint)
    uvicorn.Server(uvicorn_config(app, args.port)).run()


if __name__ == "__main__":
    main()
