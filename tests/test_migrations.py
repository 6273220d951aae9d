from __future__ import annotations

import asyncio

import asyncpg

from service.migrations import check, downgrade, upgrade
from tests.conftest import _with_database


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_from_empty_to_head_and_down_to_base(pg_admin_url: str) -> None:
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute('DROP DATABASE IF EXISTS "nw_migrations"')
    await admin.execute('CREATE DATABASE "nw_migrations"')
    url = _with_database(pg_admin_url, "nw_migrations")
    try:
        assert await _tables(url) == set()
        await asyncio.to_thread(upgrade, url)
        assert {"events", "sessions", "bookings", "persons", "staff_users"} <= await _tables(url)
        await asyncio.to_thread(downgrade, url, "base")
        assert await _tables(url) == {"alembic_version"}
        await asyncio.to_thread(upgrade, url)
        assert "session_seats" in await _tables(url)
    finally:
        await admin.execute('DROP DATABASE IF EXISTS "nw_migrations" WITH (FORCE)')
        await admin.close()


async def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add, drop or alter on a migrated database
    (a model changed without a migration, or the other way round, fails here)."""
    await asyncio.to_thread(check, database_url)
