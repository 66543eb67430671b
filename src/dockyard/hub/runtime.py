"""The Hub content domain's long-lived parts, built once with the other services: the pull statistics recorder
(subscribed to the registry's events, flushed by a background task) and the cache of image config facts."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.db import Database
from dockyard.events import EventBus
from dockyard.hub.configs import ConfigReader
from dockyard.hub.pulls import PullRecorder
from dockyard.registry.service import RegistryService
from dockyard.storage import FilesystemStorage


@dataclass
class Content:
    pulls: PullRecorder
    configs: ConfigReader

    def start(self) -> None:
        self.pulls.start()

    async def stop(self) -> None:
        await self.pulls.stop()


def build_content(db: Database, registry: RegistryService, storage: FilesystemStorage, bus: EventBus) -> Content:
    pulls = PullRecorder(db, registry)
    pulls.subscribe(bus)
    return Content(pulls=pulls, configs=ConfigReader(storage))
