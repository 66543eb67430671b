"""Manifest requests from outside: CNCF distribution notification envelopes and Dockyard's own JSON lines.

A distribution registry (`registry:2`) configured with a notification endpoint POSTs `{"events": [...]}` for every
push, pull, mount and delete, blobs included. Only manifest pulls are analytics events: a `pull` whose
`target.mediaType` is a manifest type (blob events always carry `application/octet-stream`) or whose `target.url`
points at `/manifests/`. Everything else a registry legitimately sends is *ignored*; an event that cannot be read
(not an object, an unknown action, a missing or malformed field) is *rejected* with its index and a reason, and
never stops the valid events of the same batch from being kept.

Distribution does not say how it answered the request, so notification events are recorded with status 200 (it
sends pull events for manifests it served, and also for the rare manifest GET it answered 404 because of the
Accept header, which we cannot tell apart).

The JSON lines format (`dockyard analytics import --format jsonl`) is one flat object per line, with the fields of
the registry's own ManifestRequested event: `time` (RFC 3339), `client_ip`, `user_agent`, `method` (GET|HEAD),
`repository` (`ns/repo`, or `repo` for library), `reference` (tag or digest), `digest` (optional), `status`
(optional, default 200) and `account` (optional).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from dockyard.analytics.periods import micros
from dockyard.registry.events import ManifestRequested

EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
ACCEPTED_CONTENT_TYPES = frozenset({EVENTS_MEDIA_TYPE, "application/json"})
MANIFEST_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.artifact.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
KNOWN_ACTIONS = frozenset({"pull", "push", "mount", "delete"})
METHODS = frozenset({"GET", "HEAD"})
MAX_EVENTS_PER_ENVELOPE = 10_000
MAX_FIELD = 1024

# The OCI distribution grammar for repository names, tags and digests (full-string matches).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


class EnvelopeError(ValueError):
    """The body as a whole cannot be read: nothing in it was kept."""


class EventRejected(ValueError):
    """One event cannot be read; the reason is reported to the sender."""


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    reason: str
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "reason": self.reason}
        if self.line is not None:
            body["line"] = self.line
        return body


@dataclass
class IngestResult:
    accepted: list[ManifestRequested] = field(default_factory=list)
    ignored: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "ignored": self.ignored,
            "rejected": [rejection.to_json() for rejection in self.rejected],
        }

    def merge(self, other: IngestResult) -> None:
        self.accepted.extend(other.accepted)
        self.ignored += other.ignored
        self.rejected.extend(other.rejected)


# --- envelopes ----------------------------------------------------------------------------------------------
def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_envelope(body: bytes) -> list[Any]:
    """The `events` list of a notification envelope; EnvelopeError with a message fit for the sender otherwise."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"the body is not JSON: {exc}") from None
    return envelope_events(document)


def envelope_events(document: Any) -> list[Any]:
    if not isinstance(document, dict) or "events" not in document:
        raise EnvelopeError('expected a notification envelope: {"events": [...]}')
    events = document["events"]
    if not isinstance(events, list):
        raise EnvelopeError('"events" must be a list')
    if len(events) > MAX_EVENTS_PER_ENVELOPE:
        raise EnvelopeError(f"too many events in one envelope ({len(events)}; at most {MAX_EVENTS_PER_ENVELOPE})")
    return events


def ingest_notifications(events: list[Any], *, line: int | None = None) -> IngestResult:
    result = IngestResult()
    for index, event in enumerate(events):
        try:
            found = notification_event(event)
        except EventRejected as exc:
            result.rejected.append(Rejection(index, str(exc), line))
            continue
        if found is None:
            result.ignored += 1
        else:
            result.accepted.append(found)
    return result


# --- one notification event ---------------------------------------------------------------------------------
def notification_event(event: Any) -> ManifestRequested | None:
    """A manifest pull as a ManifestRequested; None for events that are not analytics events (pushes, mounts,
    deletes, blob pulls); EventRejected when the event cannot be read."""
    if not isinstance(event, Mapping):
        raise EventRejected("the event is not a JSON object")
    action = event.get("action")
    if not isinstance(action, str) or not action:
        raise EventRejected("missing action")
    if action not in KNOWN_ACTIONS:
        raise EventRejected(f"unknown action {_show(action)} (expected one of pull, push, mount, delete)")
    target = _object(event, "target")
    request = _object(event, "request")
    if action != "pull" or not _is_manifest(target):
        return None
    repository = _repository(_string(target, "target", "repository"))
    digest = _string(target, "target", "digest")
    if not DIGEST_RE.fullmatch(digest):
        raise EventRejected(f"target.digest is not a digest: {_show(digest)}")
    tag = target.get("tag")
    if tag is not None and (not isinstance(tag, str) or not TAG_RE.fullmatch(tag)):
        raise EventRejected(f"target.tag is not a tag: {_show(tag)}")
    method = _string(request, "request", "method").upper()
    if method not in METHODS:
        raise EventRejected(f"request.method must be GET or HEAD for a pull, not {_show(method)}")
    address = client_address(_string(request, "request", "addr"))
    user_agent = request.get("useragent") or ""
    if not isinstance(user_agent, str):
        raise EventRejected("request.useragent must be a string")
    actor = event.get("actor")
    account = actor.get("name") if isinstance(actor, Mapping) else None
    return ManifestRequested(
        repository=repository,
        reference=tag or digest,
        digest=digest,
        method=method,
        status=200,
        client_ip=address,
        user_agent=user_agent,
        account=account[:MAX_FIELD] if isinstance(account, str) and account else None,
        time_us=micros(timestamp(event.get("timestamp"), "timestamp")),
    )


def _is_manifest(target: Mapping[str, Any]) -> bool:
    media = target.get("mediaType")
    if isinstance(media, str) and media_type(media) in MANIFEST_MEDIA_TYPES:
        return True
    url = target.get("url")
    return isinstance(url, str) and "/manifests/" in url


def client_address(addr: str) -> str:
    """`request.addr` without the port: `1.2.3.4:5678`, `[2001:db8::1]:5678`, or a bare address (distribution
    puts the X-Forwarded-For address there without a port)."""
    text = addr.strip()
    if text.startswith("["):
        host = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        host = text.partition(":")[0]
    else:
        host = text
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise EventRejected(f"request.addr is not an address: {_show(addr)}") from None
    return host


def timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise EventRejected(f"missing {name}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise EventRejected(f"{name} is not an RFC 3339 time: {_show(value)}") from None
    if parsed.tzinfo is None:
        raise EventRejected(f"{name} has no time zone: {_show(value)}")
    return parsed.astimezone(UTC)


def _object(event: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = event.get(name)
    if not isinstance(value, Mapping):
        raise EventRejected(f"missing {name}")
    return value


def _string(container: Mapping[str, Any], prefix: str, name: str) -> str:
    value = container.get(name)
    if not isinstance(value, str) or not value:
        raise EventRejected(f"missing {prefix}.{name}")
    if len(value) > MAX_FIELD:
        raise EventRejected(f"{prefix}.{name} is too long")
    return value


def _repository(name: str) -> str:
    if not REPOSITORY_RE.fullmatch(name):
        raise EventRejected(f"not a repository name: {_show(name)}")
    return name if "/" in name else f"library/{name}"


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- Dockyard's JSON lines ----------------------------------------------------------------------------------
def jsonl_event(event: Any) -> ManifestRequested:
    if not isinstance(event, Mapping):
        raise EventRejected("the line is not a JSON object")
    repository = _repository(_string(event, "event", "repository"))
    reference = _string(event, "event", "reference")
    if not (TAG_RE.fullmatch(reference) or DIGEST_RE.fullmatch(reference)):
        raise EventRejected(f"reference is neither a tag nor a digest: {_show(reference)}")
    digest = event.get("digest")
    if digest is not None and (not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest)):
        raise EventRejected(f"digest is not a digest: {_show(digest)}")
    method = _string(event, "event", "method").upper()
    if method not in METHODS:
        raise EventRejected(f"method must be GET or HEAD, not {_show(method)}")
    status = event.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise EventRejected(f"status is not an HTTP status: {_show(status)}")
    user_agent = event.get("user_agent") or ""
    account = event.get("account")
    if not isinstance(user_agent, str) or (account is not None and not isinstance(account, str)):
        raise EventRejected("user_agent and account must be strings")
    return ManifestRequested(
        repository=repository,
        reference=reference,
        digest=digest,
        method=method,
        status=status,
        client_ip=client_address(_string(event, "event", "client_ip")),
        user_agent=user_agent,
        account=account or None,
        time_us=micros(timestamp(event.get("time"), "time")),
    )


# --- files ----------------------------------------------------------------------------------------------------
FORMATS = ("distribution", "jsonl")


def read_file(handle: TextIO, file_format: str) -> Iterator[IngestResult]:
    """Results line by line (one per non-blank line), so a large file is never held in memory. A line that is
    not JSON is one rejection with its line number. For `distribution`, a line holds an envelope or one event;
    a file holding a single pretty-printed envelope is read whole."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}")
    lines: Iterator[str] = iter(handle)
    number = 0
    first = True
    for line in lines:
        number += 1
        text = line.strip()
        if not text:
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            if first and file_format == "distribution" and text.startswith("{"):
                rest = handle.read()
                try:
                    yield ingest_notifications(envelope_events(json.loads(text + "\n" + rest)), line=number)
                    return
                except (json.JSONDecodeError, EnvelopeError):
                    # Not one document after all: go on line by line through what was read.
                    lines = iter(rest.splitlines(keepends=True))
            yield IngestResult(rejected=[Rejection(0, f"not JSON: {exc.msg}", number)])
            first = False
            for line in lines:
                number += 1
                yield from _text_result(line, file_format, number)
            return
        first = False
        yield _line_result(document, file_format, number)


def _text_result(line: str, file_format: str, number: int) -> Iterator[IngestResult]:
    text = line.strip()
    if not text:
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield IngestResult(rejected=[Rejection(0, f"not JSON: {exc.msg}", number)])
        return
    yield _line_result(document, file_format, number)


def _line_result(document: Any, file_format: str, number: int) -> IngestResult:
    if file_format == "jsonl":
        try:
            return IngestResult(accepted=[jsonl_event(document)])
        except EventRejected as exc:
            return IngestResult(rejected=[Rejection(0, str(exc), number)])
    if isinstance(document, Mapping) and "events" in document:
        try:
            return ingest_notifications(envelope_events(document), line=number)
        except EnvelopeError as exc:
            return IngestResult(rejected=[Rejection(0, str(exc), number)])
    return ingest_notifications([document], line=number)
