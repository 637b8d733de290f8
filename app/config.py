"""Typed settings: a YAML file overridden by ``VIGIL_*`` environment variables.

``VIGIL_TELEMETRY__TRACING__SAMPLE_RATE=0.5`` sets ``telemetry.tracing.sample_rate``.
Everything is validated once, in :func:`load_settings`; a wrong value raises
:class:`ConfigError` naming the key path and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

ENV_PREFIX = "VIGIL_"
# Read by other parts of Vigil, not settings keys.
_ENV_NOT_SETTINGS = frozenset(
    {
        "VIGIL_CONFIG",
        "VIGIL_ADMIN_EMAIL",
        "VIGIL_ADMIN_PASSWORD",
        "VIGIL_NEW_USER_PASSWORD",
        "VIGIL_PROMETHEUS_TOKEN",
    }
)

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Ratio = Annotated[float, msgspec.Meta(ge=0, le=1)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every settings section: unknown keys are errors."""


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: Port = 8000
    """TCP port to listen on."""
    public_url: str = "http://127.0.0.1:8000"
    """URL people and Prometheus use to reach Vigil (links in alerts, beacon tag)."""
    environment: str = "development"
    """Deployment environment name, reported in traces and build info."""
    proxy_headers: bool = False
    """Trust X-Forwarded-* headers (only behind a reverse proxy you run)."""


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///./data/vigil.db"
    """SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db."""
    auto_upgrade: bool = True
    """Apply pending migrations when `vigil serve` starts."""
    pool_size: PositiveInt = 10
    """Connections kept open to PostgreSQL (ignored for SQLite)."""
    busy_timeout_ms: Annotated[int, msgspec.Meta(ge=0)] = 5000
    """SQLite: how long a writer waits for a lock before failing."""
    slow_query_seconds: PositiveFloat = 0.25
    """Queries slower than this count in vigil_db_slow_queries_total and are logged."""


class AuthSettings(_Section):
    session_max_age_seconds: PositiveInt = 7 * 24 * 3600
    """Lifetime of a login session."""
    cookie_secure: bool = False
    """Mark session and CSRF cookies Secure (set true behind HTTPS)."""
    login_rate_limit_per_minute: PositiveInt = 10
    """Login attempts allowed per client address per minute."""
    admin_email: str = "admin@localhost"
    """E-mail of the admin bootstrapped on first start (or VIGIL_ADMIN_EMAIL)."""


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level written."""
    format: Literal["json", "text"] = "json"
    """One JSON object per line, or human-readable text."""
    access_log: Literal["all", "errors", "off"] = "errors"
    """Request log lines: every request, only 5xx and slow ones (errors), or none."""
    slow_request_seconds: PositiveFloat = 1.0
    """With access_log: errors, requests slower than this are logged too."""


class MetricsSettings(_Section):
    enabled: bool = True
    """Record and serve Vigil's own Prometheus metrics at /metrics."""
    bearer_token: str = ""
    """Token Prometheus sends to read /metrics; empty: loopback clients only."""


class TracingSettings(_Section):
    enabled: bool = True
    """Export OpenTelemetry traces over OTLP/HTTP."""
    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    """OTLP/HTTP traces endpoint."""
    sample_rate: Ratio = 0.2
    """Share of new traces sampled (parent-based: an incoming sampled traceparent wins)."""
    export_timeout_seconds: PositiveFloat = 5.0
    """Timeout of one export, and the most shutdown waits to flush."""


class TelemetrySettings(_Section):
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    tracing: TracingSettings = msgspec.field(default_factory=TracingSettings)


class SchedulerSettings(_Section):
    enabled: bool = True
    """Run background jobs (on the replica that holds the database lease)."""
    lease_ttl_seconds: Annotated[float, msgspec.Meta(ge=3)] = 30.0
    """A leader that stops renewing for this long loses the lease to another replica."""


class RetentionSettings(_Section):
    days: Days = 30
    """Rows Vigil stores itself are deleted after this many days."""
    batch_size: PositiveInt = 10_000
    """Rows deleted per statement, so no delete holds a lock for long."""


class ServicesSettings(_Section):
    check_concurrency: PositiveInt = 20
    """Health checks (and scrapes) of registered services running at once."""
    job_interval_seconds: Annotated[float, msgspec.Meta(ge=1)] = 5.0
    """How often the leader looks for services whose check is due."""
    allow_link_local: bool = False
    """Allow checks of link-local and cloud-metadata addresses (169.254.0.0/16, fd00:ec2::254)."""
    max_series_per_service: PositiveInt = 10_000
    """Scraped series kept in memory per service; the rest are counted as dropped."""
    max_scrape_bytes: PositiveInt = 10_000_000
    """Largest /metrics body read; a longer one is a failed scrape."""
    user_agent: str = "Vigil-HealthCheck/1.0"
    """User-Agent header of health checks and scrapes."""


BOT_USER_AGENTS = (
    r"(?<!cu)bot[/;\-_ )]",  # not the CUBOT phone brand
    r"(?<!cu)bot$",
    "crawl",
    "spider",
    "slurp",
    "headless",
    "lighthouse",
    "pagespeed",
    "pingdom",
    "uptime",
    "facebookexternalhit",
    "preview",
    "phantomjs",
    "python-",
    "curl/",
    "wget/",
    "go-http-client",
)


class RumSettings(_Section):
    flush_interval_seconds: PositiveFloat = 2.0
    """How often accumulated Web Vitals are written to the database."""
    max_body_bytes: PositiveInt = 65_536
    """Largest beacon body accepted; larger gets 413."""
    rate_limit_per_second: PositiveFloat = 500.0
    """Beacons accepted per second per site and replica; more get 429."""
    rate_limit_burst: PositiveFloat = 1000.0
    """Beacons a site may send at once above that rate."""
    bot_user_agents: list[str] = msgspec.field(default_factory=lambda: list(BOT_USER_AGENTS))
    """Regular expressions (case-insensitive) for crawler user agents: answered 202, dropped."""


class TasksSettings(_Section):
    auto_create: bool = True
    """Create a task on its first ping; off: pings for unknown task names get 404."""
    max_tasks_per_service: PositiveInt = 200
    """Tasks a service may auto-create; pings for further new names get 404."""
    max_log_bytes: PositiveInt = 10_000
    """Bytes of a ping's body kept as the run's log; the rest is cut and the run flagged."""
    rate_limit_per_second: PositiveFloat = 20.0
    """Pings accepted per second per ping token and replica; more get 429."""
    rate_limit_burst: PositiveFloat = 500.0
    """Pings a token may send at once above that rate (a cron fleet firing on the minute)."""
    max_batch: PositiveInt = 512
    """Most pings written in one shared transaction."""
    check_interval_seconds: Annotated[float, msgspec.Meta(ge=1)] = 30.0
    """How often the leader marks overdue tasks and times out runs that never ended."""
    default_period_seconds: Annotated[int, msgspec.Meta(ge=60)] = 86_400
    """Period of an auto-created task (edit it on the task page)."""
    default_grace_seconds: Annotated[int, msgspec.Meta(ge=0)] = 3600
    """Grace time of an auto-created task."""
    default_max_run_seconds: PositiveInt = 3600
    """A started run still open after this long is closed as timeout (auto-created tasks)."""
    record_jobs: bool = True
    """Record each run of Vigil's own scheduler jobs as a task run (listed as "Vigil")."""


class AlertsSettings(_Section):
    eval_interval_seconds: Annotated[float, msgspec.Meta(ge=1)] = 30.0
    """How often alert rules are evaluated."""
    prometheus_url: str = ""
    """Prometheus HTTP API base URL for PromQL rules; empty disables them."""
    query_timeout_seconds: PositiveFloat = 10.0
    """Timeout of one PromQL query (a rule whose query times out is marked unhealthy)."""
    repeat_interval_seconds: Annotated[float, msgspec.Meta(ge=60)] = 14_400.0
    """While an alert fires, its notification is repeated this often (4 h)."""
    create_default_rules: bool = True
    """Create the default rules (Web Vitals, services, tasks, Vigil's own PromQL) on first start."""


class NotifySettings(_Section):
    timeout_seconds: PositiveFloat = 10.0
    """Timeout of one notification delivery."""
    max_attempts: PositiveInt = 10
    """Deliveries tried before a notification is given up."""
    dispatch_interval_seconds: PositiveFloat = 5.0
    """How often the leader sends the notifications that are due."""
    backoff_base_seconds: PositiveFloat = 10.0
    """Wait after the first failed delivery; doubled after each further one (with jitter)."""
    backoff_max_seconds: PositiveFloat = 3600.0
    """Longest wait between two deliveries of one notification."""
    alertmanager_resend_seconds: Annotated[float, msgspec.Meta(ge=10)] = 60.0
    """How often firing alerts are re-sent to Alertmanager channels (it expires them)."""


class Settings(_Section):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    telemetry: TelemetrySettings = msgspec.field(default_factory=TelemetrySettings)
    scheduler: SchedulerSettings = msgspec.field(default_factory=SchedulerSettings)
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)
    rum: RumSettings = msgspec.field(default_factory=RumSettings)
    services: ServicesSettings = msgspec.field(default_factory=ServicesSettings)
    tasks: TasksSettings = msgspec.field(default_factory=TasksSettings)
    alerts: AlertsSettings = msgspec.field(default_factory=AlertsSettings)
    notify: NotifySettings = msgspec.field(default_factory=NotifySettings)


class ConfigError(Exception):
    """Settings that cannot be used; the message names the key and what was expected."""


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``path`` (or ``$VIGIL_CONFIG``), apply ``VIGIL_*`` overrides and validate."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("VIGIL_CONFIG") or None
    raw = _read_yaml(Path(path)) if path else {}
    for key_path, value in _env_overrides(environ):
        _set_path(raw, key_path, value)
    return _convert(raw)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[list[str], Any]]:
    overrides = []
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_SETTINGS:
            continue
        key_path = name.removeprefix(ENV_PREFIX).lower().split("__")
        # Lists and mappings may be given inline as YAML; scalars stay strings so that a
        # password like "no" is not turned into a boolean (lax conversion handles numbers).
        parsed: Any = yaml.safe_load(value) if value.lstrip().startswith(("[", "{")) else value
        overrides.append((key_path, parsed))
    return overrides


def _set_path(raw: dict[str, Any], key_path: list[str], value: Any) -> None:
    node = raw
    for key in key_path[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(key_path)}: {key} is not a section")
        node = child
    node[key_path[-1]] = value


_PATH_RE = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_UNKNOWN_RE = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")


def _convert(raw: dict[str, Any]) -> Settings:
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), raw)) from None
    for index, pattern in enumerate(settings.rum.bot_user_agents):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"rum.bot_user_agents[{index}]: expected a regular expression, "
                f"got {pattern!r} ({exc})"
            ) from None
    return settings


def _explain(message: str, raw: dict[str, Any]) -> str:
    """Turn msgspec's message into ``key.path: expected X, got Y``."""
    match = _PATH_RE.search(message)
    keys = [k for k in re.split(r"[.\[\]]", match["path"]) if k] if match else []
    unknown = _UNKNOWN_RE.match(message)
    if unknown:
        return f"{'.'.join([*keys, unknown['field']])}: unknown key"
    dotted = ".".join(keys) or "(top level)"
    field_type = _field_type(keys)
    expected = _describe(field_type) if field_type is not None else None
    if expected is None:
        detail = message[: match.start()] if match else message
        return f"{dotted}: {detail[0].lower()}{detail[1:]}"
    return f"{dotted}: expected {expected}, got {_show(_lookup(raw, keys))}"


def _field_type(keys: list[str]) -> msgspec.inspect.Type | None:
    info: msgspec.inspect.Type = msgspec.inspect.type_info(Settings)
    for key in keys:
        if not isinstance(info, msgspec.inspect.StructType):
            return None
        fields = {f.name: f.type for f in info.fields}
        if key not in fields:
            return None
        info = fields[key]
    return info


def _describe(info: msgspec.inspect.Type) -> str | None:
    """Say in words what a value of this type must be."""
    if isinstance(info, msgspec.inspect.BoolType):
        return "true or false"
    if isinstance(info, msgspec.inspect.LiteralType):
        return "one of " + ", ".join(repr(v) for v in info.values)
    if isinstance(info, msgspec.inspect.FloatType | msgspec.inspect.IntType):
        noun = "a number" if isinstance(info, msgspec.inspect.FloatType) else "an integer"
        low = info.ge if info.ge is not None else info.gt
        high = info.le if info.le is not None else info.lt
        if low is not None and high is not None:
            return f"{noun} between {low:g} and {high:g}"
        if low is not None:
            return f"{noun} {'>=' if info.ge is not None else '>'} {low:g}"
        return noun
    if isinstance(info, msgspec.inspect.StrType):
        return "a string"
    if isinstance(info, msgspec.inspect.StructType):
        return "a mapping of keys"
    return None


def _show(value: Any) -> str:
    """Show a bad value as the user wrote it: numbers bare, other strings quoted."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9.eE+]+", value):
        return repr(value)
    return str(value)


def _lookup(raw: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(raw, dict) or key not in raw:
            return None
        raw = raw[key]
    return raw
