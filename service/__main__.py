"""The project's commands: python -m service migrate | demo | user create | run."""

from __future__ import annotations

import asyncio
import sys

import click

from service.platform.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from None


@click.group()
def cli() -> None:
    """NEXTワークしずおか booking service."""


@cli.command()
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    """Apply the database migrations."""
    from service.platform.migrations import upgrade

    upgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@cli.command()
def demo() -> None:
    """Load the demo events (only into a database without events)."""
    from service.devtools.runner import _load_demo

    loaded = asyncio.run(_load_demo(_settings().database_url))
    click.echo("demo data loaded" if loaded else "events exist already; nothing loaded")


@cli.group()
def user() -> None:
    """Staff users."""


@user.command("create")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["admin", "organizer", "cohost", "company"]), required=True
)
@click.option(
    "--organization",
    help="the co-host organization (--role cohost) or the employer (--role company)",
)
@click.option("--display-name", default="")
def user_create(name: str, role: str, organization: str | None, display_name: str) -> None:
    """Create a staff user; the password comes from a prompt, or from stdin when piped."""
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()

    async def create() -> None:
        # Every mapped table (service.domain.all_models), so the staff user's foreign key to
        # organizations resolves: this command imports nothing of the events area otherwise.
        import service.domain.all_models  # noqa: F401
        from service.domain.accounts.service import create_staff_user
        from service.domain.errors import DomainError
        from service.platform.db import engine_for, make_session_factory
        from service.platform.transaction import finish

        engine = engine_for(settings, 1)
        try:
            async with make_session_factory(engine)() as db:
                try:
                    created = await create_staff_user(
                        db,
                        username=name,
                        password=password,
                        role=role,
                        display_name=display_name,
                        organization_name=organization,
                    )
                except DomainError as exc:
                    detail = "; ".join(exc.fields.values()) or exc.message
                    click.echo(f"error: {detail}", err=True)
                    raise SystemExit(1) from None
                await finish(db, commit=True)
                click.echo(f"created {created.role} user {created.username}")
        finally:
            await engine.dispose()

    asyncio.run(create())


@cli.command()
def serve() -> None:
    """Serve the API in production: API_WORKERS uvicorn processes, metrics on METRICS_PORT."""
    from service.edge.server import main

    raise SystemExit(main())


@cli.command()
def run() -> None:
    """Start everything (what `make run` does)."""
    from service.devtools.runner import main

    raise SystemExit(main())


if __name__ == "__main__":
    cli()
