"""Delivering webhooks: the bus handler notes each tag push in memory; a background task turns the notes into
durable outbox rows (webhook_deliveries) and posts every due row, retrying failures with exponential backoff.

Rows are claimed with a conditional update before they are sent, so several replicas can share the outbox.
A process that dies mid-delivery leaves the row claimed until its lease runs out; then it is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread

from dockyard import __version__
from dockyard.background import Background
from dockyard.config import Settings
from dockyard.db import Database, utcnow
from dockyard.events import EventBus
from dockyard.hub.community_models import WebhookDelivery
from dockyard.hub.webhooks import WebhooksService, WebhooksStore, callback_key, callback_url
from dockyard.registry.events import ManifestPushed
from dockyard.registry.store import RegistryStore

log = logging.getLogger(__name__)

BATCH = 50
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class PushNote:
    repository: str
    tag: str
    pusher: str | None
    time: datetime


@dataclass(frozen=True)
class Attempt:
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it would turn the POST into a GET elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: bytes, timeout: float) -> Attempt:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"Dockyard-Webhook/{__version__}"},
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(MAX_RESPONSE_BYTES)
            return Attempt(response.status, None)
    except urllib.error.HTTPError as exc:
        return Attempt(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Attempt(None, str(reason)[:1000] or type(exc).__name__)


class WebhookDispatcher:
    def __init__(self, settings: Settings, db: Database, secret: bytes) -> None:
        self.settings = settings
        self.db = db
        self.key = callback_key(secret)
        extra = settings.extra
        self.max_attempts = int(extra.get("webhook_max_attempts", 5))
        self.retry_seconds = float(extra.get("webhook_retry_seconds", 10.0))
        self.timeout = float(extra.get("webhook_timeout_seconds", 10.0))
        self.poll_seconds = float(extra.get("webhook_poll_seconds", 5.0))
        self._notes: list[PushNote] = []
        self._lock = asyncio.Lock()
        self._background = Background("webhook delivery", self.cycle, self.poll_seconds, at_start=True)

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ManifestPushed, self.on_push)

    def on_push(self, event: ManifestPushed) -> None:
        if event.tag is not None:
            self._notes.append(PushNote(event.repository, event.tag, event.account, event.time))
            self._background.wake()

    def wake(self) -> None:
        self._background.wake()

    def backoff(self, attempts: int) -> float:
        return float(self.retry_seconds * 2 ** max(attempts - 1, 0))

    # --- one pass ------------------------------------------------------------------------------------------
    async def cycle(self) -> float | None:
        """Write pending notes to the outbox and send what is due; returns seconds until the next retry."""
        async with self._lock:
            await self._write_notes()
            await self._send_due()
            async with self.db.reader() as session:
                upcoming = await WebhooksStore(session).next_due()
        if upcoming is None:
            return None
        return max((upcoming - utcnow()).total_seconds(), 0.0)

    async def drain(self, deadline_seconds: float = 30.0) -> None:
        """Send everything pending now, waiting through short retries (used by tests and at shutdown)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_seconds
        while loop.time() < end:
            wait = await self.cycle()
            if wait is None and not self._notes:
                return
            await asyncio.sleep(min(wait or 0.0, max(end - loop.time(), 0.0), 1.0))

    async def _write_notes(self) -> None:
        notes, self._notes = self._notes, []
        for note in notes:
            try:
                async with self.db.writer() as session:
                    repository = await RegistryStore(session).repository(note.repository)
                    if repository is None:
                        continue
                    await WebhooksService(session).enqueue_push(
                        repository,
                        tag=note.tag,
                        pusher=note.pusher,
                        pushed_at=note.time,
                        base_url=self.settings.base_url,
                    )
            except Exception:
                log.exception("queueing webhooks for %s:%s failed", note.repository, note.tag)

    async def _send_due(self) -> None:
        while True:
            now = utcnow()
            # Look before taking the write lock: most passes find nothing due.
            async with self.db.reader() as session:
                due = await WebhooksStore(session).due(now, BATCH)
            if not due:
                return
            claimed: list[WebhookDelivery] = []
            lease = now + timedelta(seconds=self.timeout * 3 + 30)
            async with self.db.writer() as session:
                store = WebhooksStore(session)
                for delivery in due:
                    assert delivery.next_attempt_at is not None
                    if await store.claim(delivery.id, delivery.next_attempt_at, lease):
                        claimed.append(delivery)
            if not claimed:
                return
            await asyncio.gather(*(self._send(delivery) for delivery in claimed))
            if len(claimed) < BATCH:
                return

    async def _send(self, delivery: WebhookDelivery) -> None:
        payload = {"callback_url": callback_url(self.settings.base_url, self.key, delivery.id)}
        payload.update(json.loads(delivery.payload))
        body = json.dumps(payload).encode()
        attempt = await anyio.to_thread.run_sync(post_json, delivery.hook_url, body, self.timeout)
        now = utcnow()
        async with self.db.writer() as session:
            row = await session.get(WebhookDelivery, delivery.id)
            if row is None:  # its webhook was deleted meanwhile
                return
            row.attempts += 1
            row.last_attempt_at = now
            row.response_status = attempt.status
            row.error = attempt.error
            if attempt.ok:
                row.status, row.delivered_at, row.next_attempt_at = "success", now, None
            elif row.attempts >= self.max_attempts:
                row.status, row.next_attempt_at = "failed", None
            else:
                row.next_attempt_at = now + timedelta(seconds=self.backoff(row.attempts))
        if not attempt.ok:
            log.info("webhook delivery %d to %s failed: %s", delivery.id, delivery.hook_url, attempt.error)

    # --- the background task -------------------------------------------------------------------------------
    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()
        # Notes not yet in the outbox would be lost: write them (sending waits for the next start).
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._write_notes()
