"""The ``vigil`` command: serve, db, user, rules, check-config."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from app.config import ConfigError, Settings, load_settings

T = TypeVar("T")
EXIT_BAD_CONFIG = 2


def _settings(ctx: click.Context) -> Settings:
    """Settings from the group's ``--config``; a bad value exits 2 naming the key."""
    try:
        return load_settings(ctx.obj.get("config"))
    except ConfigError as exc:
        click.echo(f"vigil: invalid configuration: {exc}", err=True)
        ctx.exit(EXIT_BAD_CONFIG)
        raise AssertionError("unreachable") from exc


def _run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="VIGIL_CONFIG",
    help="YAML settings file (default: $VIGIL_CONFIG, else built-in defaults).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Vigil: Web Vitals, service checks, task runs and alerts in one self-hosted app."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path


@main.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Validate a settings file (with VIGIL_* overrides) without starting."""
    try:
        load_settings(path)
    except ConfigError as exc:
        click.echo(f"{exc}", err=True)
        sys.exit(EXIT_BAD_CONFIG)
    click.echo(f"{path}: OK")


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Apply migrations, make sure an admin exists, and serve HTTP."""
    import uvicorn

    from app.main import create_app
    from app.telemetry import configure_logging

    settings = _settings(ctx)
    configure_logging(settings.telemetry.logging)
    _run(lambda: _prepare_database(settings))
    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        proxy_headers=settings.server.proxy_headers,
        server_header=False,
        access_log=False,  # Vigil's own middleware writes the access log
        log_config=None,
    )
    uvicorn.Server(config).run()


async def _prepare_database(settings: Settings) -> None:
    from app.auth.users import ensure_admin
    from app.db import migrate
    from app.db.engine import create_engine, create_session_factory
    from app.rum.sites import ensure_demo_site

    engine = create_engine(settings.database)
    try:
        if settings.database.auto_upgrade:
            await migrate.upgrade(engine)
        elif not await migrate.is_at_head(engine):
            click.echo("vigil: database schema is not current; run `vigil db upgrade`", err=True)
            return
        sessions = create_session_factory(engine)
        email = os.environ.get("VIGIL_ADMIN_EMAIL", settings.auth.admin_email)
        password = await ensure_admin(
            sessions,
            email=email,
            password=os.environ.get("VIGIL_ADMIN_PASSWORD") or None,
        )
        if password is not None:
            click.echo(
                "\n  Admin account created. Log in at "
                f"{settings.server.public_url}/login with\n"
                f"    e-mail:   {email}\n"
                f"    password: {password}\n"
                "  This password is shown once.\n"
            )
        await _provision_prometheus_token(sessions)
        demo = await ensure_demo_site(sessions, public_url=settings.server.public_url)
        if demo is not None:
            click.echo(
                f"  Demo site created: paste its tag from {settings.server.public_url}"
                f"/vitals/sites/{demo.id} into a page served from {settings.server.public_url}.\n"
            )
    finally:
        await engine.dispose()


PROMETHEUS_TOKEN_ENV = "VIGIL_PROMETHEUS_TOKEN"  # noqa: S105 - a variable's name


async def _provision_prometheus_token(sessions: Any) -> None:
    """Store ``$VIGIL_PROMETHEUS_TOKEN`` as the admin's read token "prometheus" (for SD)."""
    from app.auth.tokens import provision_token

    secret = os.environ.get(PROMETHEUS_TOKEN_ENV, "").strip()
    if not secret:
        return
    try:
        outcome = await provision_token(sessions, secret=secret, name="prometheus", scope="read")
    except ValueError as exc:
        click.echo(f"vigil: {PROMETHEUS_TOKEN_ENV}: {exc}", err=True)
        sys.exit(EXIT_BAD_CONFIG)
    if outcome == "created":
        click.echo(f'  API token "prometheus" (read) stored from {PROMETHEUS_TOKEN_ENV}.')
    elif outcome == "revoked":
        click.echo(
            f"vigil: the token in {PROMETHEUS_TOKEN_ENV} was revoked; set a new one", err=True
        )


@main.group()
def db() -> None:
    """Database migrations."""


async def _with_engine(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    from app.db.engine import create_engine

    engine = create_engine(settings.database)
    try:
        return await action(engine)
    finally:
        await engine.dispose()


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from app.db import migrate

    settings = _settings(ctx)
    _run(lambda: _with_engine(settings, lambda e: migrate.upgrade(e, revision)))
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Revert migrations down to REVISION (`base` drops every table)."""
    from app.db import migrate

    settings = _settings(ctx)
    _run(lambda: _with_engine(settings, lambda e: migrate.downgrade(e, revision)))
    click.echo(f"database downgraded to {revision}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the database's revision and the code's head."""
    from app.db import migrate

    settings = _settings(ctx)
    current = _run(lambda: _with_engine(settings, migrate.current_revisions))
    head = migrate.head_revisions()
    state = "up to date" if set(current) == set(head) else "behind"
    click.echo(f"current: {', '.join(current) or '(none)'}  head: {', '.join(head)}  ({state})")


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def db_backup(ctx: click.Context, target: Path) -> None:
    """Copy the SQLite database to TARGET while Vigil runs (PostgreSQL: use pg_dump)."""
    from app.db.backup import BackupError, backup_sqlite, sqlite_path

    settings = _settings(ctx)
    try:
        result = backup_sqlite(sqlite_path(settings.database.url), target)
    except BackupError as exc:
        click.echo(f"vigil: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backed up {result.pages} pages ({result.size_bytes} bytes) to {result.target}")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="viewer", show_default=True)
@click.password_option(envvar="VIGIL_NEW_USER_PASSWORD")
@click.pass_context
def user_create(ctx: click.Context, email: str, role: str, password: str) -> None:
    """Create a user who logs in with EMAIL and the password asked for."""
    from app.auth.users import UserError, create_user
    from app.db.engine import create_session_factory

    settings = _settings(ctx)

    async def create(engine: Any) -> None:
        await create_user(create_session_factory(engine), email=email, password=password, role=role)

    try:
        _run(lambda: _with_engine(settings, create))
    except UserError as exc:
        click.echo(f"vigil: {exc}", err=True)
        sys.exit(1)
    click.echo(f"created {role} {email}")


@main.group()
def rules() -> None:
    """Alert rules as files: Prometheus rule YAML (PromQL rules) or Vigil YAML (all)."""


@rules.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["vigil", "prometheus"]),
    default="vigil",
    show_default=True,
    help="vigil: every rule, every field; prometheus: the PromQL rules as a rule file.",
)
@click.argument("target", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_context
def rules_export(ctx: click.Context, fmt: str, target: Any) -> None:
    """Write the rules to TARGET (default: standard output)."""
    from app.alerts.export import export_rules
    from app.db.engine import create_session_factory

    settings = _settings(ctx)

    async def read(engine: Any) -> str:
        async with create_session_factory(engine)() as session:
            return await export_rules(session, fmt)  # type: ignore[arg-type]

    target.write(_run(lambda: _with_engine(settings, read)))


@rules.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.pass_context
def rules_import(ctx: click.Context, source: Any) -> None:
    """Import the rules of SOURCE (either format; `-` reads standard input).

    Every rule is checked first; on any error nothing is imported and the exit code is 2.
    A rule whose name exists is replaced.
    """
    from app.alerts.export import ImportResult, RuleFileError, import_rules
    from app.db.base import utcnow
    from app.db.engine import create_session_factory

    settings = _settings(ctx)
    try:
        text = source.read()
    except UnicodeDecodeError:
        click.echo("vigil: nothing imported: the file is not UTF-8 text", err=True)
        sys.exit(EXIT_BAD_CONFIG)

    async def write(engine: Any) -> ImportResult:
        async with create_session_factory(engine).begin() as session:
            return await import_rules(session, text, now=utcnow())

    try:
        result = _run(lambda: _with_engine(settings, write))
    except RuleFileError as exc:
        click.echo(f"vigil: nothing imported: {exc}", err=True)
        sys.exit(EXIT_BAD_CONFIG)
    click.echo(f"imported {result.created} new and {result.updated} replaced rules")
