# Vigil: `docker build -t vigil:0.1.0 .` (compose.yaml builds it). Dependencies come from
# uv.lock only (`uv sync --frozen`); the runtime image has no compiler, no uv, and runs as
# an unprivileged user. `vigil serve` applies migrations on start.

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:3.11.14-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (cached while only the code changes); no dev or bench groups.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY web ./web
COPY static ./static
COPY configs/vigil.example.yaml ./configs/vigil.example.yaml
RUN uv sync --frozen --no-default-groups

FROM python:3.11.14-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 vigil \
    && useradd --system --uid 10001 --gid vigil --home-dir /app --no-create-home vigil \
    && mkdir /data && chown vigil:vigil /data
COPY --from=build --chown=root:root /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIGIL_SERVER__HOST=0.0.0.0 \
    VIGIL_SERVER__PORT=8000 \
    VIGIL_DATABASE__URL=sqlite+aiosqlite:////data/vigil.db
USER vigil
VOLUME ["/data"]
EXPOSE 8000
# No curl in the slim image: Python's standard library asks /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["vigil"]
CMD ["serve"]
