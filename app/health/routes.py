"""``GET /healthz`` and ``GET /readyz``."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State

from app.health.readiness import failing_checks

PUBLIC = {"public": True}


@get("/healthz", opt=PUBLIC, include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is alive and serving."""
    return {"status": "ok"}


@get("/readyz", opt=PUBLIC, include_in_schema=False)
async def readyz(state: State) -> Response[dict[str, object]]:
    """200 when ready to serve; 503 with the failing checks otherwise."""
    failures = await failing_checks(state.engine, state.scheduler)
    if failures:
        return Response({"status": "unavailable", "failing": failures}, status_code=503)
    return Response({"status": "ok", "failing": []})


health_routes = [healthz, readyz]
