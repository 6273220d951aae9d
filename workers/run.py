"""`python -m workers.run`: the arq worker, kept alive across Redis outages.

arq's own runner exits when its Redis connection breaks (a Redis restart, a failover, a network
blip), and a worker that is gone sends no mail until someone restarts it. Here the worker runs in
a loop: when Redis goes away the worker is closed, the loop waits (1 s, doubling, at most 30 s)
and starts a new one, which resumes with whatever is queued; the outbox sweep it runs at start
picks up notices whose jobs were lost. Ctrl-C or SIGTERM stop it as arq's runner does (arq's own
signal handling, including any wait for running jobs set in WorkerSettings).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time

import structlog
from arq.connections import ArqRedis
from arq.worker import Worker, create_worker
from redis.exceptions import RedisError

log = structlog.get_logger("workers.run")

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
# A worker that ran this long before failing was healthy: start the pauses from the first again.
HEALTHY_AFTER_SECONDS = 60.0
REDIS_LOST = (RedisError, OSError, asyncio.TimeoutError)


def _close(worker: Worker) -> None:
    """arq's own close (it ran the jobs' tasks out and disposes the engine), tolerating a
    Redis that is gone: then arq's close stops at its first Redis command, so the rest of it
    is done here with public parts (the shutdown hook, the worker's pool), and this worker is
    not used again (the loop makes a new one)."""
    try:
        worker.loop.run_until_complete(worker.close())
    except REDIS_LOST as exc:
        log.info("worker_close_without_redis", error=repr(exc))
        if worker.on_shutdown:
            worker.loop.run_until_complete(worker.on_shutdown(worker.ctx))
        # Its sockets only: disconnecting sends nothing to the Redis that is gone.
        pool: ArqRedis | None = worker.pool
        if pool is not None:
            with contextlib.suppress(*REDIS_LOST):
                worker.loop.run_until_complete(pool.aclose(close_connection_pool=True))


def _default_signals(worker: Worker) -> None:
    """Hand SIGINT/SIGTERM back to Python while no worker runs: arq's loop handlers would only
    note the signal for a loop that is not running, and the pause would ignore Ctrl-C."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        worker.loop.remove_signal_handler(sig)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_forever(settings_cls: object) -> int:
    pause = FIRST_PAUSE_SECONDS
    while True:
        worker = create_worker(settings_cls)  # type: ignore[arg-type]
        started = time.monotonic()
        stopped_by_signal = False

        def on_stop(_: signal.Signals) -> None:
            nonlocal stopped_by_signal
            stopped_by_signal = True

        worker.on_stop = on_stop
        worker.main_task = worker.loop.create_task(worker.main())
        try:
            worker.loop.run_until_complete(worker.main_task)
        except asyncio.CancelledError:
            pass
        except REDIS_LOST as exc:
            log.warning("worker_lost_redis", error=repr(exc), restart_in_seconds=pause)
        finally:
            _close(worker)
        if stopped_by_signal or (worker.main_task.done() and not _failed(worker.main_task)):
            return 0
        _default_signals(worker)
        if time.monotonic() - started > HEALTHY_AFTER_SECONDS:
            pause = FIRST_PAUSE_SECONDS
        try:
            time.sleep(pause)
        except KeyboardInterrupt:
            return 0
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


def _failed(task: asyncio.Task[None]) -> bool:
    return task.cancelled() or task.exception() is not None


def main() -> int:
    from workers.settings import WorkerSettings

    return run_forever(WorkerSettings)


if __name__ == "__main__":
    sys.exit(main())
