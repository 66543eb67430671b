"""The audit log: every AuditEvent other domains publish, and the registry's tag pushes and deletes.

Publishing happens on the request path, so the bus handlers only append to an in-memory buffer; a background
task writes the buffer in batches, and `stop()` (at shutdown) writes what is left.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Subject
from dockyard.accounts.service import AccountsService
from dockyard.api.errors import NotFound
from dockyard.background import Background
from dockyard.db import Database
from dockyard.events import AuditEvent, EventBus
from dockyard.hub.community_models import AuditLog
from dockyard.registry.events import ManifestPushed, TagDeleted

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
MAX_BATCH = 500


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    description: str


# The catalogue `GET /v2/auditlogs/{account}/actions` serves, grouped as Docker Hub groups it. An action is named
# after the kind of thing it happened to (org., repo., user.); tests/hub/test_audit_actions.py checks that every
# action published anywhere in src/ is listed here and that every entry here is published somewhere.
CATALOGUE: dict[str, tuple[str, tuple[Action, ...]]] = {
    "org": (
        "Organization",
        (
            Action("org.create", "Organization created", "Activities related to the creation of a new organization"),
            Action("org.delete", "Organization deleted", "Activities related to the deletion of an organization"),
            Action("org.member.add", "Member added", "Activities related to a member being added to the organization"),
            Action("org.member.remove", "Member removed", "Activities related to a member being removed"),
            Action("org.member.role.change", "Member role changed", "Activities related to a member's role changing"),
            Action("org.invite.create", "Invite sent", "Activities related to inviting a user to the organization"),
            Action("org.invite.delete", "Invite removed", "Activities related to an invite being cancelled"),
            Action("org.invite.resend", "Invite resent", "Activities related to an invite being sent again"),
            Action("org.invite.accept", "Invite accepted", "Activities related to a user accepting an invite"),
            Action("org.invite.decline", "Invite declined", "Activities related to a user declining an invite"),
            Action("org.team.create", "Team created", "Activities related to the creation of a team"),
            Action("org.team.delete", "Team deleted", "Activities related to the deletion of a team"),
            Action("org.team.change", "Team changed", "Activities related to a team's name or description changing"),
            Action("org.team.member.add", "Team member added", "Activities related to a member joining a team"),
            Action("org.team.member.remove", "Team member removed", "Activities related to a member leaving a team"),
            Action("org.team.permission.change", "Team permission changed", "A team's permission on a repository"),
            Action("org.settings.change", "Settings changed", "Activities related to organization settings"),
            Action("org.access_token.create", "Access token created", "An organization access token was created"),
            Action("org.access_token.update", "Access token updated", "An organization access token was changed"),
            Action("org.access_token.delete", "Access token deleted", "An organization access token was deleted"),
        ),
    ),
    "repo": (
        "Repository",
        (
            Action("repo.create", "Repository created", "Activities related to the creation of a new repository"),
            Action("repo.delete", "Repository deleted", "Activities related to the deletion of a repository"),
            Action("repo.change_privacy", "Privacy changed", "Activities related to privacy policies of a repository"),
            Action("repo.tag.push", "Tag pushed", "Activities related to a tag being pushed"),
            Action("repo.tag.delete", "Tag deleted", "Activities related to a tag being deleted"),
            Action("repo.update", "Repository updated", "Activities related to a repository's description changing"),
            Action(
                "repo.immutable.tags.updated", "Immutable tags updated", "The repository's immutable tag rules changed"
            ),
            Action("repo.collaborator.add", "Collaborator added", "A collaborator was given access to a repository"),
            Action("repo.collaborator.remove", "Collaborator removed", "A collaborator lost access to a repository"),
            Action("repo.webhook.create", "Webhook created", "A webhook was added to a repository"),
            Action("repo.webhook.delete", "Webhook deleted", "A webhook was removed from a repository"),
            Action("repo.build.trigger", "Build triggered", "An automated build was started"),
        ),
    ),
    "user": (
        "Account",
        (
            Action("user.access_token.create", "Access token created", "A personal access token was created"),
            Action("user.access_token.update", "Access token updated", "A personal access token was changed"),
            Action("user.access_token.delete", "Access token deleted", "A personal access token was deleted"),
            Action("user.2fa.enable", "Two-factor enabled", "Two-factor authentication was turned on"),
            Action("user.2fa.disable", "Two-factor disabled", "Two-factor authentication was turned off"),
        ),
    ),
}
LABELS = {action.name: action.label for _, actions in CATALOGUE.values() for action in actions}


def describe(action: str, name: str, data: dict[str, Any]) -> str:
    """A sentence for the log entry, in the style of Docker Hub's `action_description`."""
    if action == "repo.tag.push":
        return f"pushed the tag {data.get('tag', '')} with the digest {data.get('digest', '')} to the repository {name}"
    if action == "repo.tag.delete":
        return f"deleted the tag {data.get('tag', '')} from the repository {name}"
    if action == "repo.create":
        return f"created the repository {name}"
    if action == "repo.delete":
        return f"deleted the repository {name}"
    if action == "repo.change_privacy":
        visibility = "private" if data.get("is_private") else "public"
        return f"made the repository {name} {visibility}"
    label = LABELS.get(action)
    return f"{label.lower()}: {name}" if label else f"{action}: {name}"


class AuditRecorder:
    """Buffers audit entries from the bus and writes them in batches."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._buffer: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._background = Background("audit log writer", self._flush_round, FLUSH_SECONDS)

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(AuditEvent, self.on_audit)
        bus.subscribe(ManifestPushed, self.on_push)
        bus.subscribe(TagDeleted, self.on_tag_deleted)

    # --- bus handlers: append and return ---------------------------------------------------------------------
    def on_audit(self, event: AuditEvent) -> None:
        self._add(event.account, event.action, event.name, event.actor, dict(event.data), event.time)

    def on_push(self, event: ManifestPushed) -> None:
        if event.tag is None:
            return
        data = {"tag": event.tag, "digest": event.digest, "media_type": event.media_type}
        self._add(event.repository.split("/", 1)[0], "repo.tag.push", event.repository, event.account, data, event.time)

    def on_tag_deleted(self, event: TagDeleted) -> None:
        data = {"tag": event.tag, "digest": event.digest}
        namespace = event.repository.split("/", 1)[0]
        self._add(namespace, "repo.tag.delete", event.repository, event.account, data, event.time)

    def _add(
        self, account: str, action: str, name: str, actor: str | None, data: dict[str, Any], time: datetime
    ) -> None:
        self._buffer.append(
            {
                "account": account[:255],
                "action": action[:64],
                "name": name[:512],
                "actor": actor[:255] if actor else None,
                "data": json.dumps(data, default=str),
                "timestamp": time,
            }
        )
        if len(self._buffer) >= MAX_BATCH:
            self._background.wake()

    # --- writing -------------------------------------------------------------------------------------------
    async def flush(self) -> int:
        """Write everything buffered so far; returns how many entries were written."""
        async with self._lock:
            written = 0
            while self._buffer:
                batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
                try:
                    async with self.db.writer() as session:
                        await session.execute(insert(AuditLog), batch)
                except BaseException:
                    # Put the batch back so a passing database hiccup, or a cancellation at shutdown, loses
                    # nothing: the next flush (or the final one in stop()) writes it.
                    self._buffer[:0] = batch
                    raise
                written += len(batch)
            return written

    async def _flush_round(self) -> None:
        # A failed flush keeps its entries for the next round; the loop logs the failure.
        await self.flush()

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()
        try:
            await self.flush()
        except Exception:
            log.exception("writing the audit log at shutdown failed; %d entries lost", len(self._buffer))


# --- reading ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogFilter:
    action: str | None = None
    name: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLogStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def entries(self, account: str, where: LogFilter, offset: int, limit: int) -> Sequence[AuditLog]:
        query = select(AuditLog).where(AuditLog.account == account)
        if where.action:
            query = query.where(AuditLog.action == where.action)
        if where.name:
            query = query.where(AuditLog.name == where.name)
        if where.actor:
            query = query.where(AuditLog.actor == where.actor)
        if where.since:
            query = query.where(AuditLog.timestamp >= where.since)
        if where.until:
            query = query.where(AuditLog.timestamp <= where.until)
        query = query.order_by(AuditLog.timestamp.desc(), AuditLog.id.desc()).offset(offset).limit(limit)
        return (await self.session.execute(query)).scalars().all()


class AuditLogService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.store = AuditLogStore(session)

    async def require_reader(self, subject: Subject, account: str) -> None:
        """Only the user themself, an owner of the organisation and site admins read an account's log."""
        accounts = AccountsService(self.session)
        found = await accounts.store.by_name(account)
        if found is None or subject.account_id is None:
            raise NotFound("Object not found")
        if subject.is_admin or found.id == subject.account_id:
            return
        if found.is_org and await accounts.store.role(found.id, subject.account_id) == "owner":
            return
        raise NotFound("Object not found")

    async def entries(
        self, subject: Subject, account: str, where: LogFilter, offset: int, limit: int
    ) -> Sequence[AuditLog]:
        await self.require_reader(subject, account)
        return await self.store.entries(account, where, offset, limit)
