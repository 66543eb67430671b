"""The community features' background work, built once at start-up: the audit-log writer, the webhook
dispatcher and the build runner. Each subscribes to the bus (handlers only buffer) and runs one task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from dockyard.hub.auditlog import AuditRecorder
from dockyard.hub.build_runner import BuildRunner
from dockyard.hub.builds import trigger_key
from dockyard.hub.webhook_delivery import WebhookDispatcher

if TYPE_CHECKING:
    from dockyard.app import Services


class Community:
    def __init__(self, services: Services) -> None:
        secret = services.settings.load_secret()
        self.audit = AuditRecorder(services.db)
        self.webhooks = WebhookDispatcher(services.settings, services.db, secret)
        self.builds = BuildRunner(services)
        self.trigger_key = trigger_key(secret)
        for part in (self.audit, self.webhooks, self.builds):
            part.subscribe(services.bus)

    def start(self) -> None:
        self.audit.start()
        self.webhooks.start()
        self.builds.start()

    async def stop(self) -> None:
        await self.builds.stop()
        await self.webhooks.stop()
        await self.audit.stop()


def community(request: Request) -> Community:
    found: Community = request.app.state.community
    return found
