"""The Hub content domain's long-lived parts, built once with the other services: the cache of image config
facts. (Pull statistics are not counted here: the analytics job sets them, see analytics/jobs.py.)"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.hub.configs import ConfigReader
from dockyard.storage import FilesystemStorage


@dataclass
class Content:
    configs: ConfigReader


def build_content(storage: FilesystemStorage) -> Content:
    return Content(configs=ConfigReader(storage))
