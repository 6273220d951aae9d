"""`make run`: embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset, migrations,
demo data on first start, then the web server and one arq worker until Ctrl-C or SIGTERM.

Every part it starts is watched: one that exits (a crash, an out-of-memory kill, someone killing
the mail catcher) is started again after a pause that doubles from 1 s up to 30 s, while the
others keep serving. Only Ctrl-C, SIGTERM, SIGHUP or the parent going away stop everything."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from service.devtools.embedded_servers import (
    Postgres,
    Redis,
    free_port,
    port_is_free,
    project_pg_data_dir,
)
from service.edge.unreadable_request import HTTP_PROTOCOL
from service.platform.migrations import upgrade
from service.platform.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data"


FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
# A part that ran this long before it stopped was healthy: its next pause starts from 1 s again.
HEALTHY_AFTER_SECONDS = 60.0
# PostgreSQL runs detached (pg_ctl); asking whether it still runs costs a process, so not often.
POSTGRES_CHECK_EVERY_SECONDS = 5.0


class Stop(Exception):
    pass


@dataclass
class Part:
    """One thing make run keeps running: `start` starts it (raising if it cannot), `alive`
    says whether it still runs, `check_every` how often to ask."""

    name: str
    start: Callable[[], None]
    alive: Callable[[], bool]
    check_every: float = 0.5
    failures: int = 0
    started_at: float = 0.0
    next_check: float = 0.0
    restart_at: float | None = None
    stop: Callable[[], None] = field(default=lambda: None)

    def launch(self, now: float) -> None:
        try:
            self.start()
        except Exception as exc:
            self._schedule_restart(now, f"did not start ({exc})")
            return
        self.started_at, self.restart_at, self.next_check = now, None, now + self.check_every

    def adopt(self, now: float) -> None:
        """Watch a part that was started already."""
        self.started_at, self.next_check = now, now + self.check_every

    def watch(self, now: float) -> None:
        if self.restart_at is not None:
            if now >= self.restart_at:
                _say(f"starting {self.name} again")
                self.launch(now)
            return
        if now < self.next_check:
            return
        self.next_check = now + self.check_every
        if self.alive():
            return
        if now - self.started_at > HEALTHY_AFTER_SECONDS:
            self.failures = 0
        self._schedule_restart(now, "stopped")

    def _schedule_restart(self, now: float, what: str) -> None:
        pause = min(FIRST_PAUSE_SECONDS * 2**self.failures, LONGEST_PAUSE_SECONDS)
        self.failures += 1
        self.restart_at = now + pause
        _say(f"{self.name} {what}; starting it again in {pause:.0f} s (the rest keeps running)")


def child_part(name: str, argv: list[str], env: dict[str, str]) -> Part:
    """A child process of ours, started again when it exits."""
    holder: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        holder[:] = [subprocess.Popen(argv, env=env, cwd=ROOT)]

    def alive() -> bool:
        return bool(holder) and holder[0].poll() is None

    def stop() -> None:
        if holder and holder[0].poll() is None:
            holder[0].terminate()
            try:
                holder[0].wait(timeout=15)
            except subprocess.TimeoutExpired:
                holder[0].kill()
                holder[0].wait()

    return Part(name=name, start=start, alive=alive, stop=stop)


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
    from service.devtools.demo_data import load_demo_bookings, load_demo_data
    from service.domain.accounts.service import create_staff_user
    from service.domain.errors import Conflict
    from service.platform.db import make_engine, make_session_factory
    from service.platform.settings import to_asyncpg_url
    from service.platform.transaction import finish

    engine = make_engine(to_asyncpg_url(database_url), 2)
    try:
        async with make_session_factory(engine)() as db:
            loaded = await load_demo_data(db)
            if loaded:
                await load_demo_bookings(db)
            logins: list[str] = []
            if loaded and with_staff:
                for username, role, org, display in DEMO_STAFF:
                    password = secrets.token_urlsafe(12)
                    try:
                        await create_staff_user(
                            db,
                            username=username,
                            password=password,
                            role=role,
                            display_name=display,
                            organization_name=org,
                        )
                    except Conflict:
                        continue  # a login of that name exists already: keep it
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
    parts: list[Part] = []
    # The mail catcher's Maildir and the logs live here whatever else is configured.
    DATA.mkdir(exist_ok=True)
    try:
        if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
            ports = _ports()
        if not env.get("DATABASE_URL"):
            data_dir = project_pg_data_dir(ROOT)
            pg = Postgres(data_dir=data_dir, port=ports["postgres"], log_file=DATA / "postgres.log")
            _say(f"starting embedded PostgreSQL on 127.0.0.1:{pg.port} (data in {data_dir})")
            pg.start()
            env["DATABASE_URL"] = pg.createdb("nextwork")
            parts.append(
                Part(
                    name="PostgreSQL",
                    start=pg.start,
                    alive=pg.running,
                    check_every=POSTGRES_CHECK_EVERY_SECONDS,
                )
            )
        if not env.get("REDIS_URL"):
            redis = Redis(data_dir=DATA / "redis", port=ports["redis"])
            _say(f"starting embedded Redis on 127.0.0.1:{redis.port}")
            redis.start()
            env["REDIS_URL"] = redis.url
            embedded_redis = redis
            parts.append(
                Part(
                    name="Redis",
                    start=redis.start,
                    alive=lambda: bool(
                        embedded_redis.process and embedded_redis.process.poll() is None
                    ),
                )
            )
        python = sys.executable
        if not env.get("SMTP_HOST") and env.get("APP_ENV", "development") == "development":
            # A local mail catcher, so confirmations can be read without a real mail server.
            port = free_port()
            catcher = [
                python,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(DATA / "mail"),
            ]
            parts.append(child_part("the mail catcher", catcher, env))
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

        web = [
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
            HTTP_PROTOCOL,
        ]
        parts.append(child_part("the web server", web, env))
        parts.append(child_part("the worker", [python, "-m", "workers.run"], env))
        now = time.monotonic()
        for part in parts:
            if part.name in ("PostgreSQL", "Redis"):
                part.adopt(now)  # started above, before the migrations
            else:
                part.launch(now)
        _say(f"serving on http://{settings.host}:{settings.port}  (Ctrl-C stops everything)")
        while True:
            now = time.monotonic()
            for part in parts:
                part.watch(now)
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
        # The web server and the worker first (they drain), then the mail catcher.
        for part in reversed(parts):
            part.stop()
        if redis:
            redis.stop()
        if pg:
            pg.stop()
        if pg or redis:
            _say("embedded servers stopped")
