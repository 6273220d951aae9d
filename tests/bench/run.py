"""`make bench` (python -m tests.bench): the booking hot path under load.

Starts a throwaway embedded PostgreSQL and Redis, migrates, then runs on loopback, each under
uvicorn with the same worker count and flags as the deployment:
  - the product (service.app:create_app), and
  - the HTTP floor (tests/bench/floor_app.py: one bare Litestar route running the same SQL
    transaction on a raw asyncpg pool);
  - the minimal floor (tests/bench/minimal.py, a second route of the same bare app): a bare
    two-statement booking (UPDATE ... booked < capacity RETURNING id, then an INSERT) on its
    own tiny tables;
and, in this process, the DB floor: the product's transaction over asyncpg without HTTP.
Each case is run against all four at 64 concurrent connections, on fresh sessions:
  (a) rush: 2,000 attempts on one 15-seat session with a waiting list of 100
  (b) spread: 2,000 bookings over 1,000 sessions
  (c) job fair: 2,000 attempts on one 500-seat session with a waiting list of 100
  (f) the public calendar feed with 5,000 sessions (tests/bench/feeds.py)
and prints attempts/s, p50, p99, errors, the server's and PostgreSQL's CPU per attempt and the
oversell check, with the ratios to the floors.
The rush (a) is also run on the product with 2 uvicorn processes (`API_WORKERS=2`, the same
pool in total) beside the 1-process product of the same run: the ratio and the CPU used.
Every answer counts as an attempt: a 409 waitlist_full is a correct, expected answer (refused);
anything else that is not a 201 is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from service.devtools.embedded_servers import (
    free_port,
    remove_throwaway,
    throwaway_postgres,
    throwaway_redis,
)
from service.platform.migrations import upgrade
from tests.bench import minimal, seed, transaction
from tests.bench.indicators import run_indicators_bench
from tests.bench.load import Connection, Run, run_calls, run_http

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
EXPECTED_REFUSALS = {"waitlist_full", "session_full"}
SCALED = "product ×N"
MINIMAL = "minimal"
MINIMAL_PATH = "/minimal/sessions/{}/bookings"


def cases(attempts: int) -> list[seed.Case]:
    return [
        seed.Case("a", "(a) rush, 15 seats + 100 waiting", 1, 15, 100, attempts),
        seed.Case("b", "(b) spread, 1,000 sessions", 1000, 15, 10, attempts),
        seed.Case("c", "(c) job fair, 500 seats + 100 waiting", 1, 500, 100, attempts),
    ]


@dataclass
class Result:
    case: seed.Case
    target: str
    run: Run
    booked: int
    refused: int
    errors: int
    oversell: seed.Oversell
    server_cpu: float  # seconds of server CPU during the run (0 for the DB floor)
    db_cpu: float  # seconds of PostgreSQL's CPU (every process of it) during the run

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu * 1000 / max(len(self.run.answers), 1)

    @property
    def db_ms(self) -> float:
        return self.db_cpu * 1000 / max(len(self.run.answers), 1)

    @property
    def rate(self) -> float:
        return self.run.rate

    @property
    def p50_ms(self) -> float:
        return self.run.percentile(0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.run.percentile(0.99) * 1000


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Server:
    """A uvicorn we started (and stop, by its own pid)."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        workers: int,
        log: Path,
        profile: Path | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log = log
        self.profiling = profile is not None
        profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
        self.process = subprocess.Popen(
            [
                sys.executable,
                *profiler,
                "-m",
                "uvicorn",
                app,
                "--factory",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
            ],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, path: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            conn = Connection(HOST, self.port)
            try:
                status, _ = await conn.request("GET", path)
                if status == 200:
                    return
            except OSError:
                pass
            finally:
                await conn.close()
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its worker processes so far (Linux /proc)."""
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            # uvicorn re-raises SIGTERM once shut down; after SIGINT cProfile still saves.
            self.process.send_signal(signal.SIGINT if self.profiling else signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU so far of a process and its children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        text = ""
    total = 0.0
    for each in [pid, *(int(p) for p in text.split())]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def classify(run: Run) -> tuple[int, int, int]:
    booked = refused = errors = 0
    for a in run.answers:
        if a.status == 201:
            booked += 1
        elif a.status == 409 and a.error in EXPECTED_REFUSALS:
            refused += 1
        else:
            errors += 1
    return booked, refused, errors


def first_errors(run: Run) -> str:
    bad = [a for a in run.answers if a.status != 201 and a.error not in EXPECTED_REFUSALS]
    return ", ".join(f"{a.status} {a.error}" for a in bad[:3])


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="nextwork-bench-"))
        self.servers: dict[str, Server] = {}
        self.dsn = ""
        self.admin: asyncpg.Connection | None = None
        self.floor_pool: asyncpg.Pool | None = None
        self.event_venue: tuple[int, int] = (0, 0)
        self.postmaster = 0

    def db_cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.postmaster) if self.postmaster else 0.0

    async def setup(self, pg_url: str, redis_url: str, pg_data: Path) -> None:
        self.postmaster = int((pg_data / "postmaster.pid").read_text().split()[0])
        base = pg_url.rsplit("/", 1)[0]
        self.dsn = f"{base}/bench"
        admin = await asyncpg.connect(pg_url)
        await admin.execute("CREATE DATABASE bench")
        await admin.close()
        say("migrating")
        await asyncio.to_thread(upgrade, self.dsn)
        self.admin = await asyncpg.connect(self.dsn)
        self.event_venue = await seed.base_event(self.admin)
        await minimal.create_tables(self.admin)
        pool = self.args.pool
        workers = self.args.workers
        product_env = {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "BASE_URL": "http://127.0.0.1",
            "DATABASE_URL": self.dsn,
            "REDIS_URL": redis_url,
            # The product's pool is fixed (max_overflow=0, service/platform/db.py): the same number
            # of connections as the floors' pools.
            "DB_POOL_SIZE": str(pool),
            "LOG_LEVEL": self.args.log_level,
            # Every attempt comes from one loopback address: the per-client limit is off.
            "BOOKING_LIMIT_PER_MINUTE": "0",
        }
        self.servers["product"] = Server(
            "product",
            self.args.product_app,
            product_env,
            workers,
            self.work / "product.log",
            self.work / "product.prof" if self.args.profile else None,
        )
        self.servers["HTTP floor"] = Server(
            "HTTP floor",
            "tests.bench.floor_app:create_floor_app",
            {"BENCH_DSN": self.dsn, "BENCH_POOL": str(pool)},
            workers,
            self.work / "floor.log",
        )
        if self.args.scale > 1:
            # The same deployment with more processes and the same connections in total.
            self.servers[SCALED] = Server(
                SCALED,
                self.args.product_app,
                {
                    **product_env,
                    "DB_POOL_SIZE": str(max(pool // self.args.scale, 1)),
                },
                self.args.scale,
                self.work / "product-scaled.log",
            )
            await self.servers[SCALED].wait_ready("/health")
        self.floor_pool = await transaction.create_pool(self.dsn, pool)
        await self.servers["product"].wait_ready("/health")
        await self.servers["HTTP floor"].wait_ready("/ping")
        say(f"servers up: {workers} uvicorn worker(s) each, pools of {pool} connections")

    async def sessions(self, case: seed.Case) -> list[int]:
        assert self.admin is not None
        return await seed.make_sessions(self.admin, self.event_venue, case)

    async def run_case(self, case: seed.Case, target: str) -> Result:
        assert self.admin is not None
        if target == MINIMAL:
            # The waiting list counts as places: as many booked, as many refused.
            places = case.capacity + case.waitlist_limit
            ids = await minimal.make_sessions(self.admin, case.sessions, places)
        else:
            ids = await self.sessions(case)
        people = [seed.person() for _ in range(case.attempts)]
        targets = [ids[i % len(ids)] for i in range(case.attempts)]
        timeout = self.args.timeout
        server_cpu = 0.0
        db_cpu = self.db_cpu_seconds()
        if target == "DB floor":
            run = await run_calls(
                [self._db_call(sid, p) for sid, p in zip(targets, people, strict=True)],
                self.args.concurrency,
                timeout,
            )
        else:
            server = self.servers["HTTP floor" if target == MINIMAL else target]
            path = MINIMAL_PATH if target == MINIMAL else "/api/v1/sessions/{}/bookings"
            requests = [
                ("POST", path.format(sid), msgspec.json.encode(p))
                for sid, p in zip(targets, people, strict=True)
            ]
            cpu = server.cpu_seconds()
            run = await run_http(HOST, server.port, requests, self.args.concurrency, timeout)
            server_cpu = server.cpu_seconds() - cpu
        db_cpu = self.db_cpu_seconds() - db_cpu
        booked, refused, errors = classify(run)
        if target == MINIMAL:
            problem = await minimal.check(self.admin, ids, booked)
            oversell = seed.Oversell(problem is None, booked, 0, problem or "")
        else:
            oversell = await seed.check(self.admin, ids, booked)
        if errors:
            say(f"{case.name} {target}: {errors} errors, e.g. {first_errors(run)}")
        return Result(case, target, run, booked, refused, errors, oversell, server_cpu, db_cpu)

    def _db_call(
        self, session_id: int, person: dict[str, Any]
    ) -> Callable[[], Awaitable[tuple[int, str | None, dict[str, object] | None]]]:
        async def call() -> tuple[int, str | None, dict[str, object] | None]:
            assert self.floor_pool is not None
            async with self.floor_pool.acquire() as conn:
                try:
                    _code, status, _position = await transaction.book(conn, session_id, person)
                except transaction.Refused as refused:
                    return refused.status, refused.code, None
            return 201, None, {"status": status}

        return call

    async def warm_up(self) -> None:
        """Connections opened and statements prepared on every target before measuring."""
        case = seed.Case("w", "warm-up", 1, 400, 0, 400)
        for target in ("product", "HTTP floor", "DB floor", MINIMAL, *self.scaled()):
            await self.run_case(case, target)

    def scaled(self) -> list[str]:
        return [SCALED] if SCALED in self.servers else []

    async def client_ceiling(self) -> Run:
        """How fast this client can go against the cheapest route there is."""
        server = self.servers["HTTP floor"]
        requests = [("GET", "/ping", None)] * (self.args.attempts * 2)
        return await run_http(HOST, server.port, requests, self.args.concurrency, 60)

    async def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.floor_pool is not None:
            await self.floor_pool.close()
        if self.admin is not None:
            await self.admin.close()


@dataclass(frozen=True)
class Summary:
    """Every round of one case and target: the medians of throughput and p99 (each over the
    rounds, independently), and every round's errors and oversell check."""

    rounds: list[Result]

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)

    @property
    def cpu_ms(self) -> float:
        return statistics.median(r.cpu_ms for r in self.rounds)

    @property
    def db_ms(self) -> float:
        return statistics.median(r.db_ms for r in self.rounds)

    @property
    def server_cpu(self) -> bool:
        return all(r.server_cpu for r in self.rounds)

    @property
    def booked(self) -> int:
        return round(statistics.median(r.booked for r in self.rounds))

    @property
    def refused(self) -> int:
        return round(statistics.median(r.refused for r in self.rounds))

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def oversold(self) -> list[Result]:
        return [r for r in self.rounds if not r.oversell.ok]

    @property
    def per_round(self) -> str:
        return " ".join(
            f"{r.rate:.0f}/s,{r.p99_ms:.0f}ms,{r.errors}e,{'ok' if r.oversell.ok else 'OVERSOLD'}"
            for r in self.rounds
        )


def paired(one: Summary, other: Summary, figure: Callable[[Result], float]) -> str:
    return " ".join(
        f"{figure(a) / figure(b):.2f}" for a, b in zip(one.rounds, other.rounds, strict=False)
    )


def report(
    results: dict[tuple[str, str], list[Result]], ceiling: Run, args: argparse.Namespace
) -> bool:
    targets = ("product", "HTTP floor", "DB floor", MINIMAL)
    chosen = {key: Summary(rs) for key, rs in results.items()}
    line = (
        f"{'case':<40} {'target':<11} {'attempts/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'booked':>7} {'refused':>7} {'errors':>6} {'cpu ms':>6} {'db ms':>5}  {'oversell':<9}"
        f"{'÷HTTP thr':>9} {'÷HTTP p99':>9} {'÷DB thr':>8} {'÷min thr':>8} {'÷min p99':>8}"
    )
    print()
    print(
        f"Booking benchmark: {args.concurrency} concurrent connections, {args.workers} uvicorn "
        f"worker(s) for the product and the HTTP floor, every target on a pool of {args.pool} "
        f"connections; attempts/s and p99 are each the median over {args.repeat} round(s) (run "
        "order alternated); errors are summed and the oversell check is shown for every round. "
        "cpu ms: the server's CPU per attempt; db ms: PostgreSQL's (all its processes). "
        "min: the minimal floor (a bare two-statement booking, tests/bench/minimal.py)."
    )
    print(line)
    print("-" * len(line))
    ok = True
    for case in cases(args.attempts):
        http = chosen.get((case.name, "HTTP floor"))
        db = chosen.get((case.name, "DB floor"))
        least = chosen.get((case.name, MINIMAL))
        for target in targets:
            r = chosen.get((case.name, target))
            if r is None:
                continue
            ratios = ""
            if target in ("product", "HTTP floor") and http:
                ratios += f"{r.rate / http.rate:>9.2f} {r.p99_ms / http.p99_ms:>9.2f}"
            else:
                ratios += f"{'':>9} {'':>9}"
            if target != MINIMAL and db:
                ratios += f" {r.rate / db.rate:>8.2f}"
            else:
                ratios += f" {'':>8}"
            if least:
                ratios += f" {r.rate / least.rate:>8.2f} {r.p99_ms / least.p99_ms:>8.2f}"
            check = "ok" if not r.oversold else f"OVERSOLD×{len(r.oversold)}"
            print(
                f"{case.title if target == 'product' else '':<40} {target:<11} {r.rate:>10.0f} "
                f"{r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.booked:>7} {r.refused:>7} {r.errors:>6} "
                f"{(f'{r.cpu_ms:.2f}' if r.server_cpu else '-'):>6} {r.db_ms:>5.2f}  "
                f"{check:<9}{ratios}"
            )
            print(f"{'':<40}   rounds: {r.per_round}")
            for bad in r.oversold:
                print(f"    {bad.oversell.detail}")
            ok = ok and not r.oversold and r.errors == 0
    print()
    b, c = chosen.get(("b", "product")), chosen.get(("c", "product"))
    if b and c:
        parts = [f"product {c.rate / b.rate:.2f}"]
        for target in ("HTTP floor", "DB floor"):
            fb, fc = chosen.get(("b", target)), chosen.get(("c", target))
            if fb and fc:
                parts.append(f"{target} {fc.rate / fb.rate:.2f}")
        print("(c)/(b) attempts/s: " + ", ".join(parts) + "   (target: product >= 0.80)")
    verdicts = []
    for case in cases(args.attempts):
        p, h = chosen.get((case.name, "product")), chosen.get((case.name, "HTTP floor"))
        if p and h:
            thr, p99 = p.rate / h.rate, p.p99_ms / h.p99_ms
            good = thr >= 0.70 and p99 <= 1.5
            verdicts.append(f"({case.name}) {'met' if good else 'MISSED'}")
    print(
        "Target, product vs HTTP floor: >= 0.70 of its throughput, p99 <= 1.5x: "
        + ", ".join(verdicts)
    )
    least_b, least_a = chosen.get(("b", MINIMAL)), chosen.get(("a", MINIMAL))
    pb, pa = chosen.get(("b", "product")), chosen.get(("a", "product"))
    minimal_verdicts = []
    # Each round's own ratio too (the two ran in the same round): on a shared machine the
    # medians of each can come from rounds under different loads.
    if pb and least_b:
        thr = pb.rate / least_b.rate
        each = paired(pb, least_b, lambda r: r.rate)
        minimal_verdicts.append(
            f"(b) {thr:.2f} {'met' if thr >= 0.5 else 'MISSED'} (rounds {each})"
        )
    if pa and least_a:
        p99 = pa.p99_ms / least_a.p99_ms
        each = paired(pa, least_a, lambda r: r.p99_ms)
        minimal_verdicts.append(
            f"(a) p99 {p99:.2f}x {'met' if p99 <= 2.5 else 'MISSED'} (rounds {each})"
        )
    if minimal_verdicts:
        print(
            "Target, product vs minimal floor: (b) >= 0.50 of its throughput, (a) p99 <= 2.5x: "
            + ", ".join(minimal_verdicts)
        )
    one, many = chosen.get(("a", "product")), chosen.get(("a", SCALED))
    if one and many:

        def busy(s: Summary) -> float:
            return statistics.median(r.server_cpu / r.run.wall for r in s.rounds if r.run.wall)

        print(
            f"Processes, the rush (a): {args.scale} API processes {many.rate:.0f}/s "
            f"(p99 {many.p99_ms:.0f} ms, {many.cpu_ms:.2f} ms CPU per attempt, "
            f"{busy(many):.2f} cores busy) vs {args.workers} process "
            f"{one.rate:.0f}/s (p99 {one.p99_ms:.0f} ms, {one.cpu_ms:.2f} ms CPU per attempt, "
            f"{busy(one):.2f} cores busy): ratio {many.rate / one.rate:.2f} on "
            f"{os.cpu_count()} cores shared with PostgreSQL, Redis and this client; oversell "
            f"{'ok' if not many.oversold else 'OVERSOLD'}."
        )
        ok = ok and not many.oversold and many.errors == 0
    product_runs = [r for (_, t), rs in results.items() if t != "DB floor" for r in rs]
    busiest = max((r.run.client_cpu / r.run.wall for r in product_runs if r.run.wall), default=0)
    print(
        f"Client: {ceiling.rate:.0f} req/s on GET /ping of the HTTP floor at the same "
        f"concurrency (p50 {ceiling.percentile(0.5) * 1000:.1f} ms); during the booking runs it "
        f"used at most {busiest:.0%} of one core."
    )
    return ok


async def bench(args: argparse.Namespace) -> bool:
    pg = throwaway_postgres()
    redis = throwaway_redis()
    say("starting a throwaway PostgreSQL and Redis")
    pg.start()
    redis.start()
    b = Bench(args)
    try:
        await b.setup(pg.url, redis.url, pg.data_dir)
        say("warming up")
        await b.warm_up()
        ceiling = await b.client_ceiling()
        results: dict[tuple[str, str], list[Result]] = {}
        wanted = set(args.cases)
        for round_no in range(args.repeat):
            for case in cases(args.attempts):
                if case.name not in wanted:
                    continue
                # Alternated, so that neither the product nor the floor always runs first
                # (on a warmer or a more tired machine).
                order = ("product", "HTTP floor", "DB floor", MINIMAL)
                scaled = b.scaled() if case.name == "a" else []
                for target in (
                    (*order, *scaled) if round_no % 2 == 0 else (*scaled, *reversed(order))
                ):
                    r = await b.run_case(case, target)
                    results.setdefault((case.name, target), []).append(r)
                    say(
                        f"round {round_no + 1} {case.title} {target}: {r.rate:.0f}/s, "
                        f"p99 {r.p99_ms:.0f} ms, errors {r.errors}, server CPU {r.cpu_ms:.2f} ms, "
                        f"PostgreSQL CPU {r.db_ms:.2f} ms"
                    )
        ok = report(results, ceiling, args)
        if "i" in wanted:
            say("indicators: seeding a fiscal year")
            ok = await run_indicators_bench(b.dsn, args.repeat) and ok
        return ok
    finally:
        await b.close()
        redis.stop()
        pg.stop()
        shutil.copy(pg.log_file, b.work / "postgres.log")
        remove_throwaway(pg, redis)
        say(f"server logs in {b.work}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=(__doc__ or "")[:60])
    parser.add_argument("--attempts", type=int, default=2000, help="attempts per case (2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections (64)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, both apps (1)")
    parser.add_argument("--pool", type=int, default=32, help="DB connections per app (32)")
    parser.add_argument(
        "--scale",
        type=int,
        default=2,
        help="also run the rush (a) on the product with this many processes (2; 1: skip)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is shown (3)")
    parser.add_argument(
        "--cases",
        default="a,b,c,i,f",
        type=lambda s: s.split(","),
        help=(
            "a,b,c: booking cases; i: compiling the indicators (tests/bench/indicators.py);"
            " f: the calendar feed (tests/bench/feeds.py)"
        ),
    )
    parser.add_argument("--log-level", default="INFO", help="the product's LOG_LEVEL (INFO)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per run (120)")
    parser.add_argument(
        "--product-app",
        default="service.app:create_app",
        help="the product's app factory (to try variants; default service.app:create_app)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="run the product under cProfile (product.prof)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.attempts <= 20000 or not 1 <= args.concurrency <= 256:
        parser.error("attempts 1..20000, concurrency 1..256")
    wanted = list(args.cases)
    ok = True
    args.cases = [c for c in wanted if c != "f"]
    if args.cases:
        ok = asyncio.run(bench(args))
    if "f" in wanted:
        from tests.bench.feeds import feed_bench

        ok = asyncio.run(feed_bench(args.log_level)) and ok
    return 0 if ok else 1
