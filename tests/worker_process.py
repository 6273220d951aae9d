"""The worker as production runs it: `python -m workers.run` in its own process, for the tests
that stop Redis under it or kill it with SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.platform.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def worker_env(settings: Settings, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "LOG_LEVEL": "INFO",
    }


def start_worker(settings: Settings, smtp_port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workers.run"],
            env=worker_env(settings, smtp_port),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as make run and systemd stop it; SIGKILL if it does not stop in 30 s."""
    if worker.poll() is None:
        worker.terminate()
    try:
        return worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.wait()
