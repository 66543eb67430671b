"""The Hub API application. It shares `/v2` with the registry: the registry's routes step aside for the first
path segments the Hub API owns (see accounts.names.RESERVED_NAMES)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from dockyard import __version__
from dockyard.api.errors import install_error_handlers
from dockyard.api.openapi import install_openapi
from dockyard.api.ratelimit import RateLimitMiddleware


def create_hub_app() -> FastAPI:
    app = FastAPI(
        title="Dockyard Hub API",
        version=__version__,
        description="Docker Hub's management API, served by Dockyard.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RateLimitMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in _routers():
        app.include_router(router)
    install_openapi(app)
    return app


def _routers() -> list[APIRouter]:
    """Every domain's Hub API router, in the order they are matched."""
    from dockyard.accounts import people_routes, token_routes, twofactor_routes
    from dockyard.accounts import routes as account_routes
    from dockyard.analytics import dvp_routes, ingest_routes
    from dockyard.hub import (
        auditlog_routes,
        builds_routes,
        comments_routes,
        image_routes,
        repository_routes,
        search_routes,
        tag_routes,
        v1_routes,
        webhooks_routes,
    )

    community = [
        comments_routes.router,
        webhooks_routes.router,
        builds_routes.router,
        auditlog_routes.router,
        v1_routes.router,
    ]
    return [
        ingest_routes.router,
        dvp_routes.router,
        account_routes.router,
        token_routes.router,
        twofactor_routes.router,
        people_routes.router,
        repository_routes.router,
        tag_routes.router,
        image_routes.router,
        search_routes.router,
        *community,
        tag_routes.official_router,
    ]
