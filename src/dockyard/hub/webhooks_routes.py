"""Hub API routes for repository webhooks (npm `webhooks`, `createWebhook`, `createWebhookHook`,
`deleteWebhook`), their delivery history, redelivery, and the receivers' callback URL."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import BackgroundTasks, Body, Request, Response
from pydantic import BaseModel, Field

from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.hub.community import community
from dockyard.hub.community_access import IdPath, Text, iso
from dockyard.hub.community_models import Webhook, WebhookDelivery, WebhookHook
from dockyard.hub.webhooks import WebhooksService

router = HubRouter(tags=["webhooks"])

BASE = "/v2/repositories/{namespace}/{name}/webhooks/"
# The npm client's `webhooks()` doubles the `repositories/` segment; answering that path lets it work unchanged.
NPM_LIST = "/v2/repositories/{namespace}/{name}/repositories/webhooks/"


class HookIn(BaseModel):
    hook_url: Text = Field(min_length=1, max_length=2048)


class WebhookIn(BaseModel):
    name: Text = Field(min_length=1, max_length=255)
    expect_final_callback: bool = True
    webhooks: list[HookIn] = Field(default_factory=list)


class HookOut(BaseModel):
    id: int
    creator: str
    last_updater: str
    hook_url: str
    date_added: str
    last_updated: str
    active: bool


class WebhookOut(BaseModel):
    id: int
    name: str
    active: bool
    expect_final_callback: bool
    creator: str
    last_updated: str
    last_updater: str
    hooks: list[HookOut]


class WebhookPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[WebhookOut]


class CallbackOut(BaseModel):
    state: str
    description: str
    context: str
    target_url: str
    received_at: str


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    hook_id: int
    hook_url: str
    status: Literal["pending", "success", "failed"]
    attempts: int
    response_status: int | None
    error: str | None
    created_at: str
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    redelivery_of: int | None
    callback: CallbackOut | None


class DeliveryPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[DeliveryOut]


class CallbackIn(BaseModel):
    state: Literal["success", "failure", "error"]
    description: Text = Field(default="", max_length=255)
    context: Text = Field(default="", max_length=255)
    target_url: Text = Field(default="", max_length=2048)


class CallbackAck(BaseModel):
    id: int
    state: str


def hook_out(hook: WebhookHook) -> HookOut:
    return HookOut(
        id=hook.id,
        creator=hook.creator,
        last_updater=hook.last_updater,
        hook_url=hook.hook_url,
        date_added=iso(hook.created_at) or "",
        last_updated=iso(hook.updated_at) or "",
        active=hook.active,
    )


def webhook_out(webhook: Webhook, hooks: list[WebhookHook]) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        name=webhook.name,
        active=webhook.active,
        expect_final_callback=webhook.expect_final_callback,
        creator=webhook.creator,
        last_updated=iso(webhook.updated_at) or "",
        last_updater=webhook.last_updater,
        hooks=[hook_out(hook) for hook in hooks],
    )


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    callback = None
    if delivery.callback_state is not None:
        callback = CallbackOut(
            state=delivery.callback_state,
            description=delivery.callback_description or "",
            context=delivery.callback_context or "",
            target_url=delivery.callback_target_url or "",
            received_at=iso(delivery.callback_at) or "",
        )
    status: Literal["pending", "success", "failed"] = (
        "success" if delivery.status == "success" else "failed" if delivery.status == "failed" else "pending"
    )
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        hook_id=delivery.hook_id,
        hook_url=delivery.hook_url,
        status=status,
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        error=delivery.error,
        created_at=iso(delivery.created_at) or "",
        last_attempt_at=iso(delivery.last_attempt_at),
        next_attempt_at=iso(delivery.next_attempt_at) if status == "pending" else None,
        delivered_at=iso(delivery.delivered_at),
        redelivery_of=delivery.redelivery_of,
        callback=callback,
    )


async def _list(
    namespace: str,
    name: str,
    request: Request,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, object]:
    count, rows = await WebhooksService(session).listing(subject, namespace, name, pages.offset, pages.page_size)
    results = [webhook_out(webhook, hooks) for webhook, hooks in rows]
    return paginate(request, services.settings.base_url, pages, count, results)


router.add_api_route(BASE, _list, methods=["GET"], response_model=WebhookPage, summary="List a repository's webhooks")
router.add_api_route(
    NPM_LIST, _list, methods=["GET"], response_model=WebhookPage, summary="List webhooks (the npm client's path)"
)


@router.post(BASE, response_model=WebhookOut, status_code=201, summary="Create a webhook")
async def create_webhook(
    namespace: str,
    name: str,
    body: Annotated[WebhookIn, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> WebhookOut:
    webhook, hooks = await WebhooksService(session, services.bus).create(
        subject, namespace, name, body.name, [hook.hook_url for hook in body.webhooks], body.expect_final_callback
    )
    return webhook_out(webhook, hooks)


@router.get(BASE + "{webhook_id}/", response_model=WebhookOut, summary="Read a webhook")
async def get_webhook(
    namespace: str, name: str, webhook_id: IdPath, subject: CurrentSubject, session: ReadSession
) -> WebhookOut:
    return webhook_out(*await WebhooksService(session).get(subject, namespace, name, webhook_id))


@router.delete(BASE + "{webhook_id}/", status_code=204, response_class=Response, summary="Delete a webhook")
async def delete_webhook(
    namespace: str,
    name: str,
    webhook_id: IdPath,
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> Response:
    await WebhooksService(session, services.bus).delete(subject, namespace, name, webhook_id)
    return Response(status_code=204)


@router.post(BASE + "{webhook_id}/hooks/", response_model=HookOut, status_code=201, summary="Add a hook URL")
async def add_hook(
    namespace: str,
    name: str,
    webhook_id: IdPath,
    body: Annotated[HookIn, Body()],
    subject: CurrentSubject,
    session: WriteSession,
) -> HookOut:
    return hook_out(await WebhooksService(session).add_hook(subject, namespace, name, webhook_id, body.hook_url))


@router.delete(
    BASE + "{webhook_id}/hooks/{hook_id}/", status_code=204, response_class=Response, summary="Remove a hook URL"
)
async def delete_hook(
    namespace: str, name: str, webhook_id: IdPath, hook_id: IdPath, subject: CurrentSubject, session: WriteSession
) -> Response:
    await WebhooksService(session).delete_hook(subject, namespace, name, webhook_id, hook_id)
    return Response(status_code=204)


@router.get(BASE + "{webhook_id}/deliveries/", response_model=DeliveryPage, summary="A webhook's deliveries")
async def deliveries(
    namespace: str,
    name: str,
    webhook_id: IdPath,
    request: Request,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, object]:
    count, rows = await WebhooksService(session).deliveries(
        subject, namespace, name, webhook_id, pages.offset, pages.page_size
    )
    return paginate(request, services.settings.base_url, pages, count, [delivery_out(row) for row in rows])


@router.post(
    BASE + "{webhook_id}/deliveries/{delivery_id}/redeliver/",
    response_model=DeliveryOut,
    status_code=202,
    summary="Send a delivery's payload again",
)
async def redeliver(
    namespace: str,
    name: str,
    webhook_id: IdPath,
    delivery_id: IdPath,
    request: Request,
    background: BackgroundTasks,
    subject: CurrentSubject,
    session: WriteSession,
) -> DeliveryOut:
    delivery = await WebhooksService(session).redeliver(subject, namespace, name, webhook_id, delivery_id)
    # Background tasks run after the response, so after the commit: the dispatcher will find the new row.
    background.add_task(community(request).webhooks.wake)
    return delivery_out(delivery)


@router.post(
    "/v2/webhooks/callback/{delivery_id}/{signature}/",
    response_model=CallbackAck,
    summary="A webhook receiver reports the outcome of a delivery (once)",
)
async def callback(
    delivery_id: IdPath,
    signature: str,
    body: Annotated[CallbackIn, Body()],
    request: Request,
    session: WriteSession,
) -> CallbackAck:
    delivery = await WebhooksService(session).record_callback(
        community(request).webhooks.key,
        delivery_id,
        signature,
        body.state,
        body.description,
        body.context,
        body.target_url,
    )
    return CallbackAck(id=delivery.id, state=body.state)
