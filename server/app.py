"""`create_app(settings)`: the Litestar application, so tests build one with their own settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from server import features
from server.api import health, metrics
from server.auth.guards import PUBLIC, check_levels, guarded
from server.errors import EXCEPTION_HANDLERS
from server.logs import LogRing, log_ring
from server.middleware import ObservabilityMiddleware
from server.runtime import Runtime
from server.settings import Settings
from server.version import VERSION


def create_app(settings: Settings, *, conninfo: str | None = None, ring: LogRing | None = None) -> Litestar:
    """Build the app. `conninfo` overrides `settings.database.url` (the embedded server's URL)."""
    dsn = conninfo or settings.database.url
    if not dsn:
        raise ValueError("no database: set DOCMAN_DATABASE_URL or start the embedded server first")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        rt = Runtime.create(settings, dsn, ring or log_ring())
        features.install(rt)
        app.state.rt = rt
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    app = Litestar(
        # every route needs a signed-in user unless its `opt` says otherwise; public ones get no guard
        route_handlers=guarded([health.live, health.ready, health.dependencies, metrics.metrics_endpoint,
                                *features.handlers()]),
        lifespan=[lifespan],
        dependencies=features.dependencies(),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.server.max_request_bytes,
        cors_config=_cors(settings),
        openapi_config=OpenAPIConfig(
            title="Document Management and AI Chatbot API",
            version=VERSION,
            openapi_router=Router(path="/schema", route_handlers=[], opt=PUBLIC),
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT",
                                              description="An access token from POST /api/v1/auth/token."),
            }),
            security=[{"BearerToken": []}],
        ),
        debug=False,
    )
    check_levels(app)
    # Outermost layer, around Litestar's router: unknown routes are counted, logged and get the headers too.
    app.asgi_handler = ObservabilityMiddleware(app.asgi_handler)
    return app


def _cors(settings: Settings) -> CORSConfig | None:
    """CORS for DOCMAN_CORS_ORIGINS; bearer tokens need no cookies, so credentials stay off."""
    if not settings.server.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.server.cors_origins),
        allow_headers=["Authorization", "Content-Type", "X-Correlation-ID"],
        expose_headers=["X-Correlation-ID", "Retry-After", "WWW-Authenticate", "Content-Disposition"],
        max_age=600,
    )
