from __future__ import annotations

import asyncio

import asyncpg

from service.platform.migrations import check, downgrade, upgrade
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


async def test_downgrade_keeps_the_new_areas_rows(pg_admin_url: str) -> None:
    """Rows the areas of people_01 .. bookings_02 write do not stop their downgrade. A person who
    withdrew (/my/withdraw) has no phone left: people_01 gives each a placeholder, which the
    withdrawn_no_contact check refused while it still stood. A company login that recorded a
    match is named by the audit log: matching_01 deleted company logins (refused by the log's
    foreign key) instead of keeping them disabled."""
    name = "nw_migrations_people"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(pg_admin_url, name)
    try:
        await asyncio.to_thread(upgrade, url)
        conn = await asyncpg.connect(url)
        try:
            withdrawn = await conn.fetchval(
                "INSERT INTO persons (name, name_kana, phone, withdrawn_at, registered_via)"
                " VALUES ('退会 済子', 'タイカイ スミコ', NULL, now(), 'web') RETURNING id"
            )
            # A company's login that has recorded a match: the audit log names it.
            organization = await conn.fetchval(
                "INSERT INTO organizations (name, kind) VALUES ('駿河警備', 'employer')"
                " RETURNING id"
            )
            company = await conn.fetchval(
                "INSERT INTO staff_users (username, display_name, password_hash, role,"
                " organization_id) VALUES ('suruga', '駿河警備', 'x', 'company', $1) RETURNING id",
                organization,
            )
            await conn.execute(
                "INSERT INTO audit_log (actor_id, action, entity_type, entity_id)"
                " VALUES ($1, 'matching.outcome', 'meeting', 1)",
                company,
            )
        finally:
            await conn.close()
        await asyncio.to_thread(downgrade, url, "companions_04")
        conn = await asyncpg.connect(url)
        try:
            phone = await conn.fetchval("SELECT phone FROM persons WHERE id = $1", withdrawn)
            login = await conn.fetchrow(
                "SELECT role, is_active FROM staff_users WHERE id = $1", company
            )
            actor = await conn.fetchval(
                "SELECT actor_id FROM audit_log WHERE actor_id = $1", company
            )
        finally:
            await conn.close()
        assert phone == f"-{withdrawn}"
        # Kept for the audit log's sake, and unable to log in.
        assert login is not None and not login["is_active"], login
        assert actor == company
        await asyncio.to_thread(upgrade, url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add, drop or alter on a migrated database
    (a model changed without a migration, or the other way round, fails here)."""
    await asyncio.to_thread(check, database_url)


def test_migration_files_sort_in_apply_order() -> None:
    """`ls migrations/versions` reads as the history: each file's four-digit prefix is its place in
    the revision chain (a new migration takes the next number)."""
    import re
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    root = Path(__file__).resolve().parent.parent
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    chain = list(reversed(list(script.walk_revisions())))
    files = [Path(rev.path).name for rev in chain]
    assert all(re.fullmatch(r"\d{4}_\w+\.py", name) for name in files), files
    assert files == sorted(files), files
    assert [int(name[:4]) for name in files] == list(range(1, len(files) + 1)), files
