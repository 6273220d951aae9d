"""The Litestar application factory."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from redis.asyncio import ConnectionPool

from service.api.auth import OPENAPI_COMPONENTS as STAFF_API_COMPONENTS
from service.api.health import HealthController
from service.api.line_webhook import line_webhook
from service.edge import unreadable_request
from service.edge.dependencies import provide_db, provide_redis, provide_settings
from service.edge.http_errors import exception_handler
from service.edge.request_context import request_id_middleware
from service.edge.request_guards import check_request
from service.edge.security_headers import security_headers_hook
from service.platform.db import engine_for, make_session_factory
from service.platform.jobs import JobDispatcher
from service.platform.logging import configure_logging
from service.platform.settings import Settings, SettingsError, get_settings
from service.platform.state import Resources
from service.platform.transaction import record_response_status
from service.web.templating import configure_environment

ROOT = Path(__file__).resolve().parent.parent


# A Redis that is down refuses at once; one that does not answer the connection is given up after
# this, so a rate limit is skipped (logged) and a job left to the outbox sweep.
REDIS_CONNECT_TIMEOUT_SECONDS = 1.0
# A Redis that accepted the connection but stopped answering (frozen, partitioned, SIGSTOPped):
# the requests' own client gives each command this long, so a booking page answers (rate limit
# skipped, the page drafted without Redis) instead of hanging for good. The job dispatcher's
# client has no read timeout: redis-py's timeout around reads can swallow a task's
# cancellation, which hung the dispatcher's shutdown; it is off the request path anyway.
REDIS_REQUEST_TIMEOUT_SECONDS = 1.0


def queue_client(redis_url: str, read_timeout: float | None = None) -> ArqRedis:
    """An arq client that connects on first use (not arq's create_pool, which pings and fails
    when Redis is down), so the web process starts and serves while Redis is away."""
    pool = ConnectionPool.from_url(
        redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=read_timeout,
        encoding="utf8",
    )
    return ArqRedis(pool, default_queue_name="arq:queue")


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncGenerator[Resources, None]:
    engine = engine_for(settings, settings.db_pool_size)
    redis = queue_client(settings.redis_url, REDIS_REQUEST_TIMEOUT_SECONDS)
    queue = queue_client(settings.redis_url)
    jobs = JobDispatcher(queue)
    jobs.start()
    # Everything built so far (routes, models, compiled SQL) lives as long as the process: keep
    # it out of the collector's scans, which otherwise show up as latency spikes under load.
    gc.freeze()
    try:
        yield Resources(
            settings=settings,
            engine=engine,
            session_factory=make_session_factory(engine),
            redis=redis,
            jobs=jobs,
        )
    finally:
        await jobs.close()
        await queue.aclose(close_connection_pool=True)
        await redis.aclose(close_connection_pool=True)
        await engine.dispose()


def _lifespan(settings: Settings) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            yield

    return lifespan


def create_app(settings: Settings | None = None) -> Litestar:
    if settings is None:
        try:
            settings = get_settings()
        except SettingsError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    configure_logging(settings.log_level)
    unreadable_request.use(settings)

    from service.api.routes import api_router
    from service.web.routes import web_handlers

    template_config = TemplateConfig(
        directory=ROOT / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=lambda engine: configure_environment(engine.engine, settings),
    )
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="csrftoken",
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        header_name="x-csrftoken",
    )
    # Only the pages take form posts: CSRF is their router's middleware, not the app's, so the
    # JSON API's routes carry no middleware layers at all (each layer is paid on every booking).
    pages = Router(
        path="/",
        route_handlers=web_handlers,
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
    )
    middleware: list[Any] = []
    if settings.metrics_port:
        # Counted here, shown by the metrics app on METRICS_PORT (service/observability).
        from service.observability.metrics import request_metrics

        middleware.append(request_metrics().middleware)
    app = Litestar(
        route_handlers=[
            HealthController,
            api_router,
            line_webhook,
            pages,
            create_static_files_router(
                path="/static", directories=[ROOT / "service" / "web" / "static"]
            ),
        ],
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "redis": Provide(provide_redis, sync_to_thread=False),
        },
        lifespan=[_lifespan(settings)],
        exception_handlers={Exception: exception_handler},
        before_request=check_request,
        middleware=middleware,
        after_request=record_response_status,  # type: ignore[arg-type]
        before_send=[security_headers_hook(hsts=settings.secure_cookies)],
        template_config=template_config,
        openapi_config=OpenAPIConfig(
            title="NEXTワークしずおか 予約サービス API",
            version="1.0.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=[STAFF_API_COMPONENTS],
        ),
        debug=False,
        # Logging is configured once, as JSON (service/platform/logging.py), not by Litestar's
        # default.
        logging_config=None,
        request_max_body_size=256 * 1024,
    )
    # Around the whole app rather than each route: every answer gets its id and its log line,
    # a 404 for an unknown path included, for one layer per request.
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    return app
