"""An in-process event bus. Publishers (the registry) know nothing of subscribers (webhooks, analytics).

Handlers run synchronously inside `publish`, on the request path, so they must only hand the event over (append
to a buffer, put on a queue) and return. A failing handler is logged and never fails the request.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Stop calling `handler` for `event_type`; nothing happens if it was not subscribed."""
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)

    def has_subscribers(self, event_type: type) -> bool:
        return bool(self._handlers.get(event_type))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something an account's audit log records, published by whichever domain made the change.

    `account` is the namespace (user or organisation) whose log it belongs to, `action` a dotted name from the
    audit-log actions catalogue (for example "repo.create", "org.member.add", "org.access_token.create"),
    and `name` the object acted on (a repository path, a username, a token label)."""

    account: str
    actor: str | None
    action: str
    name: str
    data: dict[str, Any]
    time: datetime
