"""`make run`: embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset, migrations,
demo data on first start, then the web server and one arq worker until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from service.embedded_servers import (
    Postgres,
    Redis,
    free_port,
    port_is_free,
    project_pg_data_dir,
)
from service.migrations import upgrade
from service.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"


class Stop(Exception):
    pass


def _say(message: str) -> None:
    print(f"[run] {message}", file=sys.stderr, flush=True)


def _ports() -> dict[str, int]:
    """Ports are chosen once per checkout and kept, so two checkouts never collide."""
    path = DATA / "ports.json"
    ports: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    for name in ("postgres", "redis"):
        if not ports.get(name) or not port_is_free(ports[name]):
            ports[name] = free_port()
    DATA.mkdir(exist_ok=True)
    path.write_text(json.dumps(ports))
    return ports


DEMO_STAFF = (
    ("demo-admin", "admin", None, "デモ管理者"),
    ("demo-organizer", "organizer", None, "デモ主催スタッフ"),
    ("demo-hellowork", "cohost", "ハローワーク静岡", "デモ共催スタッフ（ハローワーク静岡）"),
)


async def _load_demo(database_url: str, *, with_staff: bool = False) -> bool:
    """Demo events; in development also demo staff logins with fresh random passwords, written
    to .data/demo-logins.txt (never a fixed password, never outside development)."""
    from service.db import make_engine, make_session_factory
    from service.demo_data import load_demo_data
    from service.domain.accounts.repository import AccountRepository
    from service.domain.accounts.service import create_staff_user
    from service.settings import to_asyncpg_url
    from service.transaction import finish

    engine = make_engine(to_asyncpg_url(database_url), 2)
    try:
        async with make_session_factory(engine)() as db:
            loaded = await load_demo_data(db)
            logins: list[str] = []
            if loaded and with_staff:
                repo = AccountRepository(db)
                for username, role, org, display in DEMO_STAFF:
                    if await repo.user_by_username(username) is None:
                        password = secrets.token_urlsafe(12)
                        await create_staff_user(
                            repo,
                            username=username,
                            password=password,
                            role=role,
                            display_name=display,
                            organization_name=org,
                        )
                        logins.append(f"{username}  {password}  ({role})")
            await finish(db, commit=True)
        if logins:
            path = DATA / "demo-logins.txt"
            DATA.mkdir(exist_ok=True)
            path.write_text("\n".join(logins) + "\n")
            path.chmod(0o600)
            _say(f"demo staff logins for /manage/login are in {path}")
        return loaded
    finally:
        await engine.dispose()


def main() -> int:
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stop

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    parent = os.getppid()

    env = dict(os.environ)
    pg: Postgres | None = None
    redis: Redis | None = None
    children: list[subprocess.Popen[bytes]] = []
    try:
        if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
            ports = _ports()
        if not env.get("DATABASE_URL"):
            data_dir = project_pg_data_dir(ROOT)
            pg = Postgres(data_dir=data_dir, port=ports["postgres"], log_file=DATA / "postgres.log")
            _say(f"starting embedded PostgreSQL on 127.0.0.1:{pg.port} (data in {data_dir})")
            pg.start()
            env["DATABASE_URL"] = pg.createdb("nextwork")
        if not env.get("REDIS_URL"):
            redis = Redis(data_dir=DATA / "redis", port=ports["redis"])
            _say(f"starting embedded Redis on 127.0.0.1:{redis.port}")
            redis.start()
            env["REDIS_URL"] = redis.url
        python = sys.executable
        if not env.get("SMTP_HOST") and env.get("APP_ENV", "development") == "development":
            # A local mail catcher, so confirmations can be read without a real mail server.
            port = free_port()
            children.append(
                subprocess.Popen(
                    [
                        python,
                        "-m",
                        "aiosmtpd",
                        "-n",
                        "-l",
                        f"127.0.0.1:{port}",
                        "-c",
                        "aiosmtpd.handlers.Mailbox",
                        str(DATA / "mail"),
                    ],
                    cwd=ROOT,
                )
            )
            env["SMTP_HOST"], env["SMTP_PORT"] = "127.0.0.1", str(port)
            _say(f"mail goes to a local catcher: {DATA / 'mail' / 'new'} (one file a message)")
        try:
            settings = load_settings(env)
        except SettingsError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 2

        _say("applying migrations")
        upgrade(settings.database_url)
        if asyncio.run(_load_demo(settings.database_url, with_staff=settings.env == "development")):
            _say("loaded the demo data")

        children.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "service.app:create_app",
                    "--factory",
                    "--host",
                    settings.host,
                    "--port",
                    str(settings.port),
                    "--no-access-log",
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                ],
                env=env,
                cwd=ROOT,
            )
        )
        children.append(
            subprocess.Popen(
                [python, "-m", "arq", "workers.settings.WorkerSettings"], env=env, cwd=ROOT
            )
        )
        _say(f"serving on http://{settings.host}:{settings.port}  (Ctrl-C stops everything)")
        while True:
            for child in children:
                if child.poll() is not None:
                    _say(f"{child.args!r} exited with {child.returncode}; stopping")
                    return 1
            if os.getppid() != parent:
                _say("parent process went away; stopping")
                return 0
            time.sleep(0.5)
    except Stop:
        _say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if redis:
            redis.stop()
        if pg:
            pg.stop()
        if pg or redis:
            _say("embedded servers stopped")
