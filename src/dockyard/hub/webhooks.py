"""Repository webhooks: named groups of hook URLs that every tag push is posted to, in Docker Hub's payload.

Only repository admins manage them. Deliveries go through a durable outbox (webhook_delivery.py); this module
holds the rules, the queries and the payload.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.service import LIBRARY
from dockyard.api.errors import BadRequest, Conflict, NotFound
from dockyard.db.base import utcnow
from dockyard.events import AuditEvent, EventBus
from dockyard.hub.access import RepoAccess
from dockyard.hub.comments import CommentsStore
from dockyard.hub.community_access import require_repository
from dockyard.hub.community_models import AutoBuild, Webhook, WebhookDelivery, WebhookHook
from dockyard.hub.store import HubStore
from dockyard.registry.management import after_commit
from dockyard.registry.models import Repository

MAX_HOOKS = 20
CALLBACK_STATES = ("success", "failure", "error")


def callback_key(secret: bytes) -> bytes:
    return hashlib.sha256(b"webhook-callback:" + secret).digest()


def callback_signature(key: bytes, delivery_id: int) -> str:
    """The unguessable part of a delivery's callback URL: derived, never stored."""
    return hmac.new(key, f"delivery:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:40]


def callback_url(base_url: str, key: bytes, delivery_id: int) -> str:
    return f"{base_url}/v2/webhooks/callback/{delivery_id}/{callback_signature(key, delivery_id)}/"


def validate_hook_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        parts, hostname = urlsplit(""), None
    if parts.scheme not in ("http", "https") or not hostname:
        raise BadRequest("hook_url must be an http:// or https:// URL", extra={"fields": {"hook_url": ["invalid"]}})
    return url


class WebhooksStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count(self, repository_id: int) -> int:
        query = select(func.count()).select_from(Webhook).where(Webhook.repository_id == repository_id)
        return int((await self.session.execute(query)).scalar_one())

    async def page(self, repository_id: int, offset: int, limit: int) -> Sequence[Webhook]:
        query = (
            select(Webhook)
            .where(Webhook.repository_id == repository_id)
            .order_by(Webhook.id)
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def get(self, repository_id: int, webhook_id: int) -> Webhook | None:
        query = select(Webhook).where(Webhook.repository_id == repository_id, Webhook.id == webhook_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def hooks(self, webhook_ids: Sequence[int]) -> dict[int, list[WebhookHook]]:
        found: dict[int, list[WebhookHook]] = {webhook_id: [] for webhook_id in webhook_ids}
        if webhook_ids:
            query = select(WebhookHook).where(WebhookHook.webhook_id.in_(webhook_ids)).order_by(WebhookHook.id)
            for hook in (await self.session.execute(query)).scalars().all():
                found[hook.webhook_id].append(hook)
        return found

    async def hook(self, webhook_id: int, hook_id: int) -> WebhookHook | None:
        query = select(WebhookHook).where(WebhookHook.webhook_id == webhook_id, WebhookHook.id == hook_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add(self, row: Webhook | WebhookHook | WebhookDelivery) -> None:
        self.session.add(row)
        await self.session.flush()

    async def delete_webhook(self, webhook_id: int) -> None:
        await self.session.execute(delete(Webhook).where(Webhook.id == webhook_id))

    async def delete_hook(self, hook_id: int) -> None:
        await self.session.execute(delete(WebhookHook).where(WebhookHook.id == hook_id))

    async def active_hooks_for(self, repository_id: int) -> Sequence[tuple[Webhook, WebhookHook]]:
        result = await self.session.execute(
            select(Webhook, WebhookHook)
            .join(WebhookHook, WebhookHook.webhook_id == Webhook.id)
            .where(Webhook.repository_id == repository_id, Webhook.active.is_(True), WebhookHook.active.is_(True))
            .order_by(WebhookHook.id)
        )
        return [(webhook, hook) for webhook, hook in result.all()]

    async def delivery_count(self, webhook_id: int) -> int:
        query = select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        return int((await self.session.execute(query)).scalar_one())

    async def deliveries(self, webhook_id: int, offset: int, limit: int) -> Sequence[WebhookDelivery]:
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def delivery(self, delivery_id: int) -> WebhookDelivery | None:
        return await self.session.get(WebhookDelivery, delivery_id)

    async def due(self, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def next_due(self) -> datetime | None:
        query = select(func.min(WebhookDelivery.next_attempt_at)).where(WebhookDelivery.status == "pending")
        value: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return value

    async def claim(self, delivery_id: int, seen: datetime, lease_until: datetime) -> bool:
        """Take a due delivery for this worker; False when another worker (replica) took it first."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at == seen,
            )
            .values(next_attempt_at=lease_until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def has_autobuild(self, repository_id: int) -> bool:
        query = select(AutoBuild.id).where(AutoBuild.repository_id == repository_id)
        return (await self.session.execute(query)).first() is not None


def push_payload(
    repository: Repository,
    *,
    tag: str,
    pusher: str | None,
    pushed_at: datetime,
    comment_count: int,
    star_count: int,
    is_trusted: bool,
    base_url: str,
) -> dict[str, Any]:
    """Docker Hub's push payload, without `callback_url` (added per delivery when it is sent)."""
    namespace, name = repository.path.split("/", 1)
    return {
        "push_data": {"pushed_at": int(pushed_at.timestamp()), "pusher": pusher or "", "tag": tag, "images": []},
        "repository": {
            "comment_count": comment_count,
            "date_created": int(repository.created_at.timestamp()),
            "description": repository.description or "",
            "dockerfile": "",
            "full_description": repository.full_description or "",
            "is_official": namespace == LIBRARY,
            "is_private": repository.is_private,
            "is_trusted": is_trusted,
            "name": name,
            "namespace": namespace,
            "owner": namespace,
            "repo_name": repository.path,
            "repo_url": f"{base_url}/r/{repository.path}",
            "star_count": star_count,
            "status": "Active",
        },
    }


class WebhooksService:
    def __init__(self, session: AsyncSession, bus: EventBus | None = None) -> None:
        self.session = session
        self.store = WebhooksStore(session)
        self.bus = bus

    async def _admin(self, subject: Subject, namespace: str, name: str) -> RepoAccess:
        return await require_repository(self.session, subject, namespace, name, Permission.ADMIN)

    async def _webhook(self, subject: Subject, namespace: str, name: str, webhook_id: int) -> Webhook:
        access = await self._admin(subject, namespace, name)
        webhook = await self.store.get(access.repository.id, webhook_id)
        if webhook is None:
            raise NotFound("Webhook not found")
        return webhook

    async def listing(
        self, subject: Subject, namespace: str, name: str, offset: int, limit: int
    ) -> tuple[int, list[tuple[Webhook, list[WebhookHook]]]]:
        access = await self._admin(subject, namespace, name)
        count = await self.store.count(access.repository.id)
        webhooks = await self.store.page(access.repository.id, offset, limit)
        hooks = await self.store.hooks([w.id for w in webhooks])
        return count, [(w, hooks[w.id]) for w in webhooks]

    async def get(
        self, subject: Subject, namespace: str, name: str, webhook_id: int
    ) -> tuple[Webhook, list[WebhookHook]]:
        webhook = await self._webhook(subject, namespace, name, webhook_id)
        return webhook, (await self.store.hooks([webhook.id]))[webhook.id]

    async def create(
        self,
        subject: Subject,
        namespace: str,
        name: str,
        webhook_name: str,
        hook_urls: Sequence[str],
        expect_final_callback: bool,
    ) -> tuple[Webhook, list[WebhookHook]]:
        access = await self._admin(subject, namespace, name)
        if len(hook_urls) > MAX_HOOKS:
            raise BadRequest(f"at most {MAX_HOOKS} hooks per webhook")
        urls = [validate_hook_url(url) for url in hook_urls]
        actor = subject.username or ""
        now = utcnow()
        webhook = Webhook(
            repository_id=access.repository.id,
            name=webhook_name,
            active=True,
            expect_final_callback=expect_final_callback,
            creator=actor,
            last_updater=actor,
            created_at=now,
            updated_at=now,
        )
        await self.store.add(webhook)
        hooks = [await self._add_hook(webhook, url, actor) for url in urls]
        self._audit(access, subject, "repo.webhook.create", {"webhook": webhook_name})
        return webhook, hooks

    async def add_hook(self, subject: Subject, namespace: str, name: str, webhook_id: int, url: str) -> WebhookHook:
        webhook = await self._webhook(subject, namespace, name, webhook_id)
        url = validate_hook_url(url)
        if len((await self.store.hooks([webhook.id]))[webhook.id]) >= MAX_HOOKS:
            raise BadRequest(f"at most {MAX_HOOKS} hooks per webhook")
        webhook.updated_at = utcnow()
        webhook.last_updater = subject.username or ""
        return await self._add_hook(webhook, url, subject.username or "")

    async def _add_hook(self, webhook: Webhook, url: str, actor: str) -> WebhookHook:
        now = utcnow()
        hook = WebhookHook(
            webhook_id=webhook.id,
            hook_url=url,
            active=True,
            creator=actor,
            last_updater=actor,
            created_at=now,
            updated_at=now,
        )
        await self.store.add(hook)
        return hook

    async def delete(self, subject: Subject, namespace: str, name: str, webhook_id: int) -> None:
        access = await self._admin(subject, namespace, name)
        webhook = await self.store.get(access.repository.id, webhook_id)
        if webhook is None:
            raise NotFound("Webhook not found")
        await self.store.delete_webhook(webhook.id)
        self._audit(access, subject, "repo.webhook.delete", {"webhook": webhook.name})

    async def delete_hook(self, subject: Subject, namespace: str, name: str, webhook_id: int, hook_id: int) -> None:
        webhook = await self._webhook(subject, namespace, name, webhook_id)
        hook = await self.store.hook(webhook.id, hook_id)
        if hook is None:
            raise NotFound("Hook not found")
        await self.store.delete_hook(hook.id)

    async def deliveries(
        self, subject: Subject, namespace: str, name: str, webhook_id: int, offset: int, limit: int
    ) -> tuple[int, Sequence[WebhookDelivery]]:
        webhook = await self._webhook(subject, namespace, name, webhook_id)
        return await self.store.delivery_count(webhook.id), await self.store.deliveries(webhook.id, offset, limit)

    async def redeliver(
        self, subject: Subject, namespace: str, name: str, webhook_id: int, delivery_id: int
    ) -> WebhookDelivery:
        """Send a past delivery's payload again, as a new delivery (the history keeps both)."""
        webhook = await self._webhook(subject, namespace, name, webhook_id)
        original = await self.store.delivery(delivery_id)
        if original is None or original.webhook_id != webhook.id:
            raise NotFound("Delivery not found")
        now = utcnow()
        copy = WebhookDelivery(
            webhook_id=webhook.id,
            hook_id=original.hook_id,
            hook_url=original.hook_url,
            payload=original.payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            redelivery_of=original.id,
            created_at=now,
        )
        await self.store.add(copy)
        return copy

    async def enqueue_push(
        self, repository: Repository, *, tag: str, pusher: str | None, pushed_at: datetime, base_url: str
    ) -> int:
        """Write one outbox row per active hook of the repository; returns how many."""
        pairs = await self.store.active_hooks_for(repository.id)
        if not pairs:
            return 0
        payload = json.dumps(
            push_payload(
                repository,
                tag=tag,
                pusher=pusher,
                pushed_at=pushed_at,
                comment_count=await CommentsStore(self.session).count(repository.id),
                star_count=(await HubStore(self.session).star_counts([repository.id])).get(repository.id, 0),
                is_trusted=await self.store.has_autobuild(repository.id),
                base_url=base_url,
            )
        )
        now = utcnow()
        for webhook, hook in pairs:
            await self.store.add(
                WebhookDelivery(
                    webhook_id=webhook.id,
                    hook_id=hook.id,
                    hook_url=hook.hook_url,
                    payload=payload,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return len(pairs)

    async def record_callback(
        self,
        key: bytes,
        delivery_id: int,
        signature: str,
        state: str,
        description: str,
        context: str,
        target_url: str,
    ) -> WebhookDelivery:
        """The receiver's verdict on a delivery, posted once to the delivery's signed callback URL."""
        delivery = await self.store.delivery(delivery_id)
        if delivery is None or not hmac.compare_digest(
            callback_signature(key, delivery_id).encode(), signature.encode()
        ):
            raise NotFound("Object not found")
        if delivery.callback_state is not None:
            raise Conflict("this callback URL was already used")
        delivery.callback_state = state
        delivery.callback_description = description[:255]
        delivery.callback_context = context[:255]
        delivery.callback_target_url = target_url[:2048]
        delivery.callback_at = utcnow()
        await self.session.flush()
        return delivery

    def _audit(self, access: RepoAccess, subject: Subject, action: str, data: dict[str, Any]) -> None:
        if self.bus is not None:
            bus, event = (
                self.bus,
                AuditEvent(access.namespace.name, subject.username, action, access.path, data, utcnow()),
            )
            after_commit(self.session, lambda: bus.publish(event))
