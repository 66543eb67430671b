"""`POST /api/registry-events`: where a CNCF distribution registry's notifications land.

    notifications:
      endpoints:
        - name: dockyard
          url: https://hub.example.com/api/registry-events
          headers: {Authorization: [Bearer <DOCKYARD_EVENTS_TOKEN>]}

Answers:
- 200 `{"accepted": n, "ignored": n, "rejected": [{"index": i, "reason": "..."}]}` when anything in the batch was
  kept or deliberately ignored: the rejected events are listed, the others are not lost (a 4xx would make
  distribution send the whole batch again and count the good events twice);
- 400 with the same report when every event was rejected, or with a message when the envelope itself is malformed;
- 401 for a missing or wrong token; 415 for a body that is neither the events media type nor JSON; 413 for a body
  over the size limit;
- 503 when DOCKYARD_EVENTS_TOKEN is not set: ingest is off, and a registry already pointed here keeps its events
  queued and retries until it is switched on, instead of dropping them as it would on a 404.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from dockyard.analytics.ingest import ACCEPTED_CONTENT_TYPES, EnvelopeError, ingest_notifications, media_type
from dockyard.analytics.ingest import parse_envelope as parse
from dockyard.api.deps import ServicesDep
from dockyard.api.errors import ApiError, BadRequest, Unauthorized
from dockyard.api.routing import HubRouter

MAX_BODY = 16 * 1024 * 1024
router = HubRouter(tags=["analytics"])


class ServiceUnavailable(ApiError):
    status = 503


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


def _authorize(request: Request, token: str) -> None:
    if not token:
        raise ServiceUnavailable("registry event ingest is disabled: set DOCKYARD_EVENTS_TOKEN to enable it")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    # Constant-time comparison, on bytes so a non-ASCII header cannot raise.
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise Unauthorized(
            "a valid 'Authorization: Bearer <DOCKYARD_EVENTS_TOKEN>' header is required",
            headers={"WWW-Authenticate": 'Bearer realm="dockyard-registry-events"'},
        )


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/registry-events",
    summary="Receive CNCF distribution notifications",
    responses={
        413: {"description": "The body is too large"},
        415: {"description": "Not a notification envelope's media type"},
        503: {"description": "Ingest is disabled (no DOCKYARD_EVENTS_TOKEN) or capture is not running"},
    },
)
async def registry_events(request: Request, services: ServicesDep) -> dict[str, object]:
    _authorize(request, services.settings.events_token)
    content_type = media_type(request.headers.get("content-type"))
    if content_type and content_type not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"unsupported media type {content_type!r}: send application/vnd.docker.distribution.events.v1+json "
            "or application/json"
        )
    capture = services.capture
    if capture is None:
        raise ServiceUnavailable("analytics capture is not running")
    try:
        events = parse(await _body(request))
    except EnvelopeError as exc:
        raise BadRequest(str(exc)) from None
    result = ingest_notifications(events)
    report = result.to_json()
    if result.rejected and not result.accepted and not result.ignored:
        raise BadRequest(
            f"all {len(result.rejected)} events were rejected; first: {result.rejected[0].reason}", extra=report
        )
    capture.submit(result.accepted, "distribution")
    return report
