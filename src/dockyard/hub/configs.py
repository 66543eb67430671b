"""What an image's config blob says about it: platform and build history, for the Hub API's tag and image objects.

Config blobs are content-addressed, so what is read once is cached for good (bounded, in memory). Reads happen
off the event loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread

from dockyard.storage import FilesystemStorage

MAX_CONFIG_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class ConfigFacts:
    os: str = ""
    architecture: str = ""
    variant: str | None = None
    os_version: str | None = None
    os_features: str = ""
    # The build step behind each layer, in layer order (history entries that made no layer are skipped).
    instructions: tuple[str, ...] = field(default_factory=tuple)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_config(data: bytes) -> ConfigFacts:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ConfigFacts()
    if not isinstance(document, dict):
        return ConfigFacts()
    history = document.get("history")
    instructions = tuple(
        _text(entry.get("created_by"))
        for entry in (history if isinstance(history, list) else [])
        if isinstance(entry, dict) and not entry.get("empty_layer")
    )
    features = document.get("os.features")
    return ConfigFacts(
        os=_text(document.get("os")),
        architecture=_text(document.get("architecture")),
        variant=_text(document.get("variant")) or None,
        os_version=_text(document.get("os.version")) or None,
        os_features=",".join(f for f in features if isinstance(f, str)) if isinstance(features, list) else "",
        instructions=instructions,
    )


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


class ConfigReader:
    def __init__(self, storage: FilesystemStorage) -> None:
        self.storage = storage
        self._facts: dict[str, ConfigFacts] = {}

    async def facts(self, digest: str) -> ConfigFacts:
        cached = self._facts.get(digest)
        if cached is not None:
            return cached
        data = await anyio.to_thread.run_sync(_read, self.storage.local_path(digest))
        if data is None:
            return ConfigFacts()
        facts = parse_config(data)
        if len(self._facts) >= MAX_ENTRIES:
            self._facts.clear()
        self._facts[digest] = facts
        return facts
