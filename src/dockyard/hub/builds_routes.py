"""Hub API routes for automated builds (the npm client's `buildSettings`, `createAutomatedBuild`,
`createBuildTag`, `saveBuildTag`, `deleteBuildTag`, `triggerBuild`, `buildHistory`, `buildDetails`,
`buildTrigger`, `buildTriggerHistory`, `buildLinks`, `createBuildLink`, `deleteBuildLink`) and the trigger URL."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import BackgroundTasks, Body, Request, Response

from dockyard.accounts.service import LIBRARY
from dockyard.api.deps import CurrentSubject, OptionalSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.errors import BadRequest
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.http import client_ip
from dockyard.hub.build_schemas import (
    AutoBuildIn,
    AutoBuildOut,
    BuildDetailOut,
    BuildMetrics,
    BuildOut,
    BuildPage,
    BuildResults,
    BuildTagIn,
    BuildTagOut,
    LinkIn,
    LinkOut,
    LinkPage,
    TriggerBuildIn,
    TriggeredOut,
    TriggerEventOut,
    TriggerEventPage,
    TriggerOut,
    TriggerSettingsIn,
)
from dockyard.hub.builds import AutoBuildView, BuildsService, trigger_token
from dockyard.hub.builds_store import STATUS_TEXT
from dockyard.hub.community import community
from dockyard.hub.community_access import IdPath, iso
from dockyard.hub.community_models import AutoBuild, Build, BuildTag, BuildTriggerEvent
from dockyard.registry.models import Repository

router = HubRouter(tags=["automated builds"])

REPO = "/v2/repositories/{namespace}/{name}"
MAX_TRIGGER_BODY = 16 * 1024


def familiar(path: str) -> str:
    """Docker Hub shows library repositories by their bare name."""
    return path.split("/", 1)[1] if path.startswith(LIBRARY + "/") else path


def rule_out(rule: BuildTag) -> BuildTagOut:
    return BuildTagOut(
        id=rule.id,
        name=rule.name,
        dockerfile_location=rule.dockerfile_location,
        source_name=rule.source_name,
        source_type=rule.source_type,
    )


def autobuild_out(view: AutoBuildView) -> AutoBuildOut:
    autobuild = view.autobuild
    return AutoBuildOut(
        repository=view.repository.id,
        build_name=autobuild.build_name,
        provider=autobuild.provider,
        source_url=autobuild.source_url,
        docker_url=view.repository.path,
        repo_web_url=autobuild.source_url.removesuffix(".git"),
        repo_type="git",
        active=autobuild.active,
        repo_id=str(autobuild.id),
        build_tags=[rule_out(rule) for rule in view.rules],
    )


def build_out(build: Build) -> BuildOut:
    return BuildOut(
        id=build.id,
        status=build.status,
        status_description=STATUS_TEXT.get(build.status, "Unknown"),
        created_date=iso(build.created_at) or "",
        last_updated=iso(build.updated_at) or "",
        build_code=build.build_code,
        dockertag_name=build.docker_tag,
        cause=build.cause,
        source_type=build.source_type,
        source_name=build.source_name,
    )


def build_detail(repository: Repository, build: Build) -> BuildDetailOut:
    failed = build.error is not None
    results = BuildResults(
        build_code=build.build_code,
        build_path=build.dockerfile_location,
        buildmetrics=BuildMetrics(
            created=iso(build.created_at),
            claimed=iso(build.started_at),
            started=iso(build.started_at),
            cloned=iso(build.cloned_at),
            finished=iso(build.finished_at) if not failed else None,
            error=iso(build.finished_at) if failed else None,
            failure=iso(build.finished_at) if failed else None,
        ),
        created_at=iso(build.created_at) or "",
        docker_repo=repository.path,
        docker_tag=build.docker_tag,
        docker_user=repository.path.split("/", 1)[0],
        dockerfile_contents=build.dockerfile_contents,
        error=build.error,
        failure=f"Build failed: {build.error}" if failed else None,
        last_updated=iso(build.updated_at) or "",
        logs=build.logs,
        readme_contents="",
        source_branch=build.source_name,
        source_type="git",
        source_url=build.source_url,
        digest=build.digest,
    )
    return BuildDetailOut(**build_out(build).model_dump(), build_results=results)


def trigger_out(base_url: str, key: bytes, repository: Repository, autobuild: AutoBuild) -> TriggerOut:
    token = trigger_token(key, autobuild.trigger_nonce)
    return TriggerOut(
        token=token,
        active=autobuild.trigger_active,
        trigger_url=f"{base_url}/v2/repositories/{repository.path}/trigger/{token}/",
    )


def event_out(event: BuildTriggerEvent) -> TriggerEventOut:
    return TriggerEventOut(
        ip_address=event.ip_address,
        result=event.result,
        result_desc=event.result_desc,
        user_agent=event.user_agent,
        request_body=event.request_body,
        created=iso(event.created_at) or "",
        build_code=event.build_codes.split(",")[0] if event.build_codes else None,
    )


# --- configuration ---------------------------------------------------------------------------------------------
@router.get(REPO + "/autobuild/", response_model=AutoBuildOut, summary="A repository's automated-build settings")
async def build_settings(
    namespace: str, name: str, subject: OptionalSubject, session: ReadSession, services: ServicesDep
) -> AutoBuildOut:
    return autobuild_out(await BuildsService(session, services.settings).settings_of(subject, namespace, name))


@router.post(REPO + "/autobuild/", response_model=AutoBuildOut, status_code=201, summary="Set up automated builds")
async def create_automated_build(
    namespace: str,
    name: str,
    body: Annotated[AutoBuildIn, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> AutoBuildOut:
    source = body.source_url or (body.vcs_repo_name if body.vcs_repo_name and "://" in body.vcs_repo_name else None)
    if not source:
        raise BadRequest(
            "source_url is required: a git URL this server can reach (Dockyard does not call GitHub or Bitbucket)",
            extra={"fields": {"source_url": ["required"]}},
        )
    view = await BuildsService(session, services.settings).configure(
        subject,
        namespace,
        name,
        source_url=source,
        provider=body.provider,
        build_name=body.build_name,
        active=body.active,
        rules=[tag.rule() for tag in body.build_tags] if body.build_tags is not None else None,
    )
    return autobuild_out(view)


@router.delete(REPO + "/autobuild/", status_code=204, response_class=Response, summary="Stop automated builds")
async def delete_automated_build(
    namespace: str, name: str, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    await BuildsService(session, services.settings).remove(subject, namespace, name)
    return Response(status_code=204)


@router.post(REPO + "/autobuild/tags/", response_model=BuildTagOut, status_code=201, summary="Add a build tag")
async def create_build_tag(
    namespace: str,
    name: str,
    body: Annotated[BuildTagIn, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> BuildTagOut:
    return rule_out(await BuildsService(session, services.settings).add_rule(subject, namespace, name, body.rule()))


@router.put(REPO + "/autobuild/tags/{tag_id}/", response_model=BuildTagOut, summary="Change a build tag")
async def save_build_tag(
    namespace: str,
    name: str,
    tag_id: IdPath,
    body: Annotated[BuildTagIn, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> BuildTagOut:
    service = BuildsService(session, services.settings)
    return rule_out(await service.save_rule(subject, namespace, name, tag_id, body.rule()))


@router.delete(
    REPO + "/autobuild/tags/{tag_id}/", status_code=204, response_class=Response, summary="Delete a build tag"
)
async def delete_build_tag(
    namespace: str, name: str, tag_id: IdPath, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    await BuildsService(session, services.settings).delete_rule(subject, namespace, name, tag_id)
    return Response(status_code=204)


# --- builds ----------------------------------------------------------------------------------------------------
@router.post(
    REPO + "/autobuild/trigger-build/",
    response_model=list[TriggeredOut],
    status_code=202,
    summary="Build the rules matching a branch or tag",
)
async def trigger_build(
    namespace: str,
    name: str,
    body: Annotated[TriggerBuildIn, Body()],
    request: Request,
    background: BackgroundTasks,
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> list[TriggeredOut]:
    queued = await BuildsService(session, services.settings, services.bus).trigger(
        subject,
        namespace,
        name,
        source_type=body.source_type,
        source_name=body.source_name,
        dockerfile_location=body.dockerfile_location,
    )
    background.add_task(community(request).builds.wake)
    return [
        TriggeredOut(
            source_type=plan.rule.source_type,
            source_name=plan.source_name,
            evaluated_tag_name=plan.docker_tag,
            build_code=build.build_code,
            msg="Build submitted",
            queued_for_retry=False,
        )
        for plan, build in queued
    ]


@router.get(REPO + "/buildhistory/", response_model=BuildPage, summary="A repository's builds, newest first")
async def build_history(
    namespace: str,
    name: str,
    request: Request,
    pages: Pages,
    subject: OptionalSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, object]:
    service = BuildsService(session, services.settings)
    count, builds = await service.history(subject, namespace, name, pages.offset, pages.page_size)
    return paginate(request, services.settings.base_url, pages, count, [build_out(build) for build in builds])


@router.get(REPO + "/buildhistory/{build_code}/", response_model=BuildDetailOut, summary="One build, with its log")
async def build_details(
    namespace: str, name: str, build_code: str, subject: OptionalSubject, session: ReadSession, services: ServicesDep
) -> BuildDetailOut:
    repository, build = await BuildsService(session, services.settings).details(subject, namespace, name, build_code)
    return build_detail(repository, build)


# --- the trigger -----------------------------------------------------------------------------------------------
@router.get(REPO + "/buildtrigger/", response_model=TriggerOut, summary="The build trigger URL")
async def build_trigger(
    namespace: str, name: str, request: Request, subject: CurrentSubject, session: ReadSession, services: ServicesDep
) -> TriggerOut:
    repository, autobuild = await BuildsService(session, services.settings).trigger_info(subject, namespace, name)
    return trigger_out(services.settings.base_url, community(request).trigger_key, repository, autobuild)


@router.post(REPO + "/buildtrigger/", response_model=TriggerOut, summary="Activate, pause or regenerate the trigger")
async def change_build_trigger(
    namespace: str,
    name: str,
    body: Annotated[TriggerSettingsIn, Body()],
    request: Request,
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> TriggerOut:
    repository, autobuild = await BuildsService(session, services.settings).reset_trigger(
        subject, namespace, name, active=body.active, regenerate=body.regenerate
    )
    return trigger_out(services.settings.base_url, community(request).trigger_key, repository, autobuild)


@router.get(REPO + "/buildtrigger/history/", response_model=TriggerEventPage, summary="Calls of the trigger URL")
async def build_trigger_history(
    namespace: str,
    name: str,
    request: Request,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, object]:
    service = BuildsService(session, services.settings)
    count, events = await service.trigger_history(subject, namespace, name, pages.offset, pages.page_size)
    return paginate(request, services.settings.base_url, pages, count, [event_out(event) for event in events])


@router.post(REPO + "/trigger/{token}/", response_model=list[TriggeredOut], status_code=202, summary="Trigger URL")
async def trigger_url(
    namespace: str,
    name: str,
    token: str,
    request: Request,
    background: BackgroundTasks,
    session: WriteSession,
    services: ServicesDep,
) -> list[TriggeredOut]:
    """Starts builds without credentials: the token in the URL is the credential. An empty body builds every
    rule; `{source_type, source_name}` builds the matching rules; `{docker_tag}` the rule producing that tag."""
    raw = await request.body()
    if len(raw) > MAX_TRIGGER_BODY:
        raise BadRequest("request body too large")
    fields: dict[str, Any] = {}
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise BadRequest("the body is not JSON") from exc
        if not isinstance(parsed, dict):
            raise BadRequest("the body is a JSON object")
        fields = parsed
    text = {key: fields.get(key) for key in ("source_type", "source_name", "docker_tag")}
    if any(value is not None and (not isinstance(value, str) or len(value) > 255) for value in text.values()):
        raise BadRequest("source_type, source_name and docker_tag are short strings")
    builds = await BuildsService(session, services.settings, services.bus).trigger_by_token(
        community(request).trigger_key,
        namespace,
        name,
        token,
        source_type=text["source_type"],
        source_name=text["source_name"],
        docker_tag=text["docker_tag"],
        ip_address=client_ip(request, services.settings.trusted_proxies),
        user_agent=request.headers.get("user-agent", ""),
        request_body=raw.decode(errors="replace").replace("\x00", "") if raw else None,
    )
    background.add_task(community(request).builds.wake)
    return [
        TriggeredOut(
            source_type=build.source_type,
            source_name=build.source_name,
            evaluated_tag_name=build.docker_tag,
            build_code=build.build_code,
            msg="Build submitted",
            queued_for_retry=False,
        )
        for build in builds
    ]


# --- links -----------------------------------------------------------------------------------------------------
@router.get(REPO + "/links/", response_model=LinkPage, summary="Repositories whose pushes rebuild this one")
async def build_links(
    namespace: str,
    name: str,
    request: Request,
    pages: Pages,
    subject: OptionalSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, object]:
    links = await BuildsService(session, services.settings).links(subject, namespace, name)
    page = links[pages.offset : pages.offset + pages.page_size]
    results = [LinkOut(id=link.id, from_repo=familiar(src), to_repo=familiar(dst)) for link, src, dst in page]
    return paginate(request, services.settings.base_url, pages, len(links), results)


@router.post(REPO + "/links/", response_model=LinkOut, status_code=201, summary="Rebuild on another repo's pushes")
async def create_build_link(
    namespace: str,
    name: str,
    body: Annotated[LinkIn, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> LinkOut:
    link, src, dst = await BuildsService(session, services.settings).add_link(subject, namespace, name, body.to_repo)
    return LinkOut(id=link.id, from_repo=familiar(src), to_repo=familiar(dst))


@router.delete(REPO + "/links/{link_id}/", status_code=204, response_class=Response, summary="Remove a build link")
async def delete_build_link(
    namespace: str, name: str, link_id: IdPath, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    await BuildsService(session, services.settings).delete_link(subject, namespace, name, link_id)
    return Response(status_code=204)
