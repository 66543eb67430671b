"""Hub API routes for audit logs: `/v2/auditlogs/{account}` and its actions catalogue."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from dockyard.api.deps import CurrentSubject, ReadSession
from dockyard.api.errors import BadRequest, NotFound
from dockyard.api.routing import HubRouter
from dockyard.hub.auditlog import CATALOGUE, AuditLogService, LogFilter, describe
from dockyard.hub.community_access import Text, is_plain, iso
from dockyard.hub.community_models import AuditLog

router = HubRouter(tags=["audit logs"])

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


class LogEntry(BaseModel):
    account: str
    action: str
    name: str
    actor: str
    data: dict[str, Any]
    timestamp: str
    action_description: str


class LogPage(BaseModel):
    logs: list[LogEntry]


class ActionInfo(BaseModel):
    name: str
    description: str
    label: str


class ActionGroup(BaseModel):
    actions: list[ActionInfo]
    label: str


class ActionCatalogue(BaseModel):
    actions: dict[str, ActionGroup]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _entry(row: AuditLog) -> LogEntry:
    try:
        data = json.loads(row.data)
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    return LogEntry(
        account=row.account,
        action=row.action,
        name=row.name,
        actor=row.actor or "",
        data=data,
        timestamp=iso(row.timestamp) or "",
        action_description=describe(row.action, row.name, data),
    )


@router.get("/v2/auditlogs/{account}/actions", response_model=ActionCatalogue, summary="The audit-log actions")
async def actions(account: str, subject: CurrentSubject, session: ReadSession) -> ActionCatalogue:
    if not is_plain(account):
        raise NotFound("Object not found")
    await AuditLogService(session).require_reader(subject, account)
    groups = {
        key: ActionGroup(
            label=label,
            actions=[ActionInfo(name=a.name, description=a.description, label=a.label) for a in entries],
        )
        for key, (label, entries) in CATALOGUE.items()
    }
    return ActionCatalogue(actions=groups)


@router.get("/v2/auditlogs/{account}", response_model=LogPage, summary="An account's audit log, newest first")
async def logs(
    account: str,
    subject: CurrentSubject,
    session: ReadSession,
    action: Annotated[Text | None, Query(max_length=64)] = None,
    name: Annotated[Text | None, Query(max_length=512)] = None,
    actor: Annotated[Text | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1)] = DEFAULT_PAGE_SIZE,
) -> LogPage:
    if not is_plain(account):
        raise NotFound("Object not found")
    since, until = _utc(since), _utc(until)
    if since and until and since > until:
        raise BadRequest("'from' is after 'to'")
    size = min(page_size, MAX_PAGE_SIZE)
    where = LogFilter(action=action, name=name, actor=actor, since=since, until=until)
    rows = await AuditLogService(session).entries(subject, account, where, (page - 1) * size, size)
    return LogPage(logs=[_entry(row) for row in rows])
