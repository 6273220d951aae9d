"""The demo staff logins `make run` creates in development (service/devtools/runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools import runner
from service.domain.accounts.passwords import verify_password
from service.domain.accounts.service import create_staff_user


async def test_demo_logins_leave_a_name_already_taken_alone(
    database_url: str, db: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = await create_staff_user(
        db, username="demo-admin", password="a-password-of-my-own", role="admin"
    )
    kept_hash = taken.password_hash
    await db.commit()
    # The logins file goes where the runner keeps its data; here, a folder of the test's own.
    monkeypatch.setattr(runner, "DATA", tmp_path)

    assert await runner._load_demo(database_url, with_staff=True)

    written = [line.split() for line in (tmp_path / "demo-logins.txt").read_text().splitlines()]
    assert [w[0] for w in written] == ["demo-organizer", "demo-hellowork"]
    rows = {
        r.username: r
        for r in await db.execute(
            text(
                "SELECT u.username, u.role, u.password_hash, o.name AS organization "
                "FROM staff_users u LEFT JOIN organizations o ON o.id = u.organization_id"
            )
        )
    }
    assert sorted(rows) == ["demo-admin", "demo-hellowork", "demo-organizer"]
    assert rows["demo-admin"].password_hash == kept_hash
    assert rows["demo-hellowork"].role == "cohost"
    assert rows["demo-hellowork"].organization == "ハローワーク静岡"
    for username, password, _role in written:
        assert verify_password(rows[username].password_hash, password)
