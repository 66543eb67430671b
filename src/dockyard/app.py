"""The application factory: one process serving the registry, the Hub API and the web pages on one port."""

from __future__ import annotations

import functools
import logging
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount

from dockyard.accounts.service import LIBRARY, AccountsService
from dockyard.accounts.sessions import HubTokens
from dockyard.analytics.capture import Capture
from dockyard.analytics.jobs import AnalyticsJob, PeriodicJob
from dockyard.api.errors import error_body
from dockyard.background import Background
from dockyard.config import Settings
from dockyard.db import Database
from dockyard.db.migrate import upgrade
from dockyard.events import EventBus
from dockyard.hub.app import create_hub_app
from dockyard.hub.community import Community
from dockyard.hub.runtime import Content, build_content
from dockyard.registry import gc
from dockyard.registry.auth import RegistryAuth
from dockyard.registry.routes import registry_routes
from dockyard.registry.service import RegistryService
from dockyard.storage import FilesystemStorage
from dockyard.web.routes import web_routes

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything built once at start-up; handlers reach it through `request.app.state`."""

    settings: Settings
    db: Database
    storage: FilesystemStorage
    bus: EventBus
    registry: RegistryService
    hub_tokens: HubTokens
    content: Content
    capture: Capture | None = None  # set by the server's lifespan; CLI commands run without it


def prepare(settings: Settings) -> None:
    """Create the data directory and bring the database schema up to date."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def build_services(settings: Settings) -> Services:
    db = Database(settings.resolved_database_url)
    storage = FilesystemStorage(settings.data_dir / "storage", fsync=settings.fsync)
    bus = EventBus()
    secret = settings.load_secret()
    auth = RegistryAuth(settings, db, secret)
    registry = RegistryService(settings, db, storage, bus, auth)
    return Services(
        settings=settings,
        db=db,
        storage=storage,
        bus=bus,
        registry=registry,
        hub_tokens=auth.hub_tokens,
        content=build_content(storage),
    )


async def bootstrap(services: Services) -> None:
    """On an empty database: create the site administrator and the `library` organisation it owns."""
    settings = services.settings
    async with services.db.writer() as session:
        accounts = AccountsService(session)
        if await accounts.store.count() > 0:
            return
        password = settings.admin_password or secrets.token_urlsafe(18)
        await accounts.create_user(settings.admin_username, password, is_admin=True)
        await accounts.create_org(LIBRARY, settings.admin_username, full_name="Official images")
    if not settings.admin_password:
        # Printed once, to the console only: it is never logged or stored in clear.
        print(
            f"dockyard: created administrator '{settings.admin_username}' with password: {password}",
            file=sys.stderr,
            flush=True,
        )


async def _collect_garbage(services: Services) -> None:
    settings = services.settings
    await gc.collect(
        services.db,
        services.storage,
        grace_seconds=settings.gc_grace_seconds,
        upload_expiry_seconds=settings.upload_expiry_seconds,
        dry_run=False,
        cache=services.registry.cache,
    )


def create_app(settings: Settings) -> Starlette:
    hub = create_hub_app()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(prepare, settings)
        services = build_services(settings)
        for state in (app.state, hub.state):
            state.services = services
            state.registry = services.registry
        await bootstrap(services)
        # Pull analytics: manifest requests are buffered in memory and written in batches by a background task.
        capture = services.capture = Capture.from_settings(settings, settings.load_secret())
        capture.subscribe(services.bus)
        capture.start()
        community = Community(services)
        for state in (app.state, hub.state):
            state.community = community
        community.start()
        gc_loop = Background(
            "garbage collection", functools.partial(_collect_garbage, services), settings.gc_interval_seconds
        )
        gc_loop.start()
        # Classify, summarise, set the Hub pull numbers and export periodically (after writing what capture holds).
        analytics_job = PeriodicJob(
            AnalyticsJob(settings, services.db), settings.analytics_interval_seconds, capture.flush
        )
        analytics_job.start()
        try:
            yield
        finally:
            await analytics_job.stop()
            await gc_loop.stop()
            await community.stop()
            await capture.close()
            await services.db.dispose()

    # A path no route matches (one with a newline, which the catch-all mount does not take) still gets the Hub
    # error shape, not Starlette's plain-text "Not Found".
    not_found = {404: lambda _request, _exc: JSONResponse(error_body("404: Page Not Found"), status_code=404)}
    # The web pages come before the Hub API's mount, which takes every path left over.
    routes = [*registry_routes(), *web_routes(), Mount("/", app=hub)]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=not_found)
