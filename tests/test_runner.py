"""`make run`'s runner keeps the service up when one part fails: a killed child is started again
after a pause while the others keep serving, and only SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from service.devtools.embedded_servers import free_port
from service.devtools.runner import Part, child_part
from service.platform.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _starts(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_child_that_exits_is_started_again_with_growing_pauses(tmp_path: Path) -> None:
    marks = tmp_path / "starts"
    crashing = child_part(
        "crasher",
        [sys.executable, "-c", f"open({str(marks)!r}, 'a').write('x\\n'); raise SystemExit(3)"],
        dict(os.environ),
    )
    steady = child_part(
        "steady", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ)
    )
    now = time.monotonic()
    crashing.launch(now)
    steady.launch(now)
    try:
        deadline = now + 3.5
        while time.monotonic() < deadline:
            crashing.watch(time.monotonic())
            steady.watch(time.monotonic())
            time.sleep(0.1)
        # Started, seen stopped within 0.5 s, started 1 s later, then the pause is 2 s: two
        # starts in 3.5 s, not dozens.
        assert _starts(marks) == 2
        assert crashing.failures in (1, 2)
        assert steady.alive() and steady.failures == 0
    finally:
        crashing.stop()
        steady.stop()
    assert not steady.alive()


def test_a_part_that_cannot_start_is_tried_again() -> None:
    attempts: list[float] = []

    def start() -> None:
        attempts.append(time.monotonic())
        raise OSError("port in use")

    part = Part(name="flaky", start=start, alive=lambda: False)
    part.launch(time.monotonic())
    deadline = time.monotonic() + 1.6
    while time.monotonic() < deadline:
        part.watch(time.monotonic())
        time.sleep(0.05)
    assert len(attempts) == 2
    assert 0.9 < attempts[1] - attempts[0] < 1.5


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status)
    except OSError:
        return 0


def _wait(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_make_run_restarts_a_killed_worker_and_keeps_serving(settings: Settings) -> None:
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    runner = subprocess.Popen(
        [sys.executable, "-m", "service", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        home = f"http://127.0.0.1:{port}/health"
        assert _wait(lambda: _get(home) == 200, 90), "the web server did not come up"

        def worker_pid() -> int | None:
            pids = [p for p in _children(runner.pid) if "workers.run" in _cmdline(p)]
            return pids[0] if pids else None

        assert _wait(lambda: worker_pid() is not None, 30)
        first = worker_pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert _wait(lambda: worker_pid() not in (None, first), 30), "no new worker"
        assert runner.poll() is None
        assert _get(home) == 200
    finally:
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=60)
    text = output.decode(errors="replace")
    assert runner.returncode == 0, text[-3000:]
    assert "the worker stopped; starting it again in 1 s" in text
    assert "stopping" in text
