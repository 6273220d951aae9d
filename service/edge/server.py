"""`python -m service serve`: the API in production. uvicorn runs API_WORKERS processes (a
supervisor restarts one that dies); with METRICS_PORT set, a second uvicorn serves the metrics
app there, and both share a PROMETHEUS_MULTIPROC_DIR so the figures add up over processes.

SIGTERM or SIGINT is passed on: uvicorn stops accepting connections, lets the requests in
flight finish (GRACEFUL_TIMEOUT seconds at most), then each process's lifespan closes, which
drains the job dispatcher into Redis before the connections close."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from service.edge.unreadable_request import HTTP_PROTOCOL
from service.platform.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def api_command(settings: Settings, python: str = sys.executable) -> list[str]:
    return [
        python,
        "-m",
        "uvicorn",
        "service.app:create_app",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.api_workers),
        # The client address the rate limits count comes from X-Forwarded-For, but only when
        # the connection is from one of these (the reverse proxy).
        "--proxy-headers",
        "--forwarded-allow-ips",
        settings.forwarded_allow_ips,
        "--timeout-graceful-shutdown",
        str(settings.graceful_timeout),
        "--no-access-log",
        "--no-server-header",
        "--loop",
        "uvloop",
        "--http",
        # httptools, answering a request it cannot parse with our page (unreadable_request).
        HTTP_PROTOCOL,
    ]


def metrics_command(settings: Settings, python: str = sys.executable) -> list[str]:
    return [
        python,
        "-m",
        "uvicorn",
        "service.observability.metrics:create_metrics_app",
        "--factory",
        "--host",
        settings.metrics_host,
        "--port",
        str(settings.metrics_port),
        "--no-access-log",
        "--no-server-header",
    ]


def main(environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    multiproc_dir: str | None = None
    if settings.metrics_port:
        multiproc_dir = tempfile.mkdtemp(prefix="nextwork-metrics-")
        env["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    children = [subprocess.Popen(api_command(settings), env=env, cwd=ROOT)]
    if settings.metrics_port:
        children.append(subprocess.Popen(metrics_command(settings), env=env, cwd=ROOT))

    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    try:
        api = children[0]
        code = api.wait()
        # The API is done (stopped or failed): the metrics process goes with it.
        for child in children[1:]:
            if child.poll() is None:
                child.terminate()
            child.wait()
        # uvicorn ends by re-raising the signal it stopped on: a stop we asked for is clean.
        if stopping and code in (-signal.SIGTERM, -signal.SIGINT):
            return 0
        return code
    finally:
        if multiproc_dir:
            shutil.rmtree(multiproc_dir, ignore_errors=True)
