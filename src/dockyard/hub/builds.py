"""Automated builds: a repository's source (a git URL the server can reach), its build rules (tags), build
links to other repositories, a trigger URL, and the history of builds. build_runner.py runs the builds.

Build rules follow Docker Hub: `source_type` Branch or Tag, `source_name` a name or a `/regex/`, and a tag name
that may use `{sourceref}` (the matched branch or tag) or `{\\1}`… (the regex's groups).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.api.errors import BadRequest, NotFound
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.events import AuditEvent, EventBus
from dockyard.hub.access import RepoAccess, namespace_name
from dockyard.hub.builds_store import QUEUED, BuildsStore
from dockyard.hub.community_access import REPO_PART_RE, require_repository, split_path
from dockyard.hub.community_models import AutoBuild, Build, BuildLink, BuildTag, BuildTriggerEvent
from dockyard.registry.management import after_commit
from dockyard.registry.models import Repository
from dockyard.registry.references import is_valid_tag

SOURCE_TYPES = ("Branch", "Tag")
REF_RE = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/-]{0,254}$")
TAG_TEMPLATE_RE = re.compile(r"^[A-Za-z0-9_.{}\\-]{1,128}$")
MAX_BUILD_TAGS = 50
CODE_ALPHABET = string.ascii_lowercase + string.digits


def new_build_code() -> str:
    return "b" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(21))


def trigger_key(secret: bytes) -> bytes:
    return hashlib.sha256(b"build-trigger:" + secret).digest()


def trigger_token(key: bytes, nonce: str) -> str:
    """The trigger token is derived from a stored nonce and the server secret, so it is never stored itself."""
    digest = hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def validate_source_url(url: str, settings: Settings) -> str:
    url = url.strip()
    allowed = ("http", "https", "file") if settings.build_allow_file_urls else ("http", "https")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        parts, hostname = urlsplit(""), None
    if parts.scheme not in allowed or (parts.scheme != "file" and not hostname):
        schemes = ", ".join(f"{scheme}://" for scheme in allowed)
        raise BadRequest(f"source_url must be a git URL using {schemes}", extra={"fields": {"source_url": ["invalid"]}})
    return url


def normalise_location(location: str | None) -> str:
    location = (location or "/").strip() or "/"
    parts = [part for part in location.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BadRequest("dockerfile_location must stay inside the source")
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class RuleIn:
    name: str = "latest"
    source_type: str = "Branch"
    source_name: str = "master"
    dockerfile_location: str = "/"


def validate_rule(rule: RuleIn) -> RuleIn:
    if rule.source_type not in SOURCE_TYPES:
        raise BadRequest("source_type is Branch or Tag", extra={"fields": {"source_type": ["invalid"]}})
    if is_regex(rule.source_name):
        try:
            re.compile(rule.source_name[1:-1])
        except re.error as exc:
            raise BadRequest(f"source_name is not a valid regular expression: {exc}") from exc
    elif not REF_RE.match(rule.source_name):
        raise BadRequest(
            "source_name is not a valid branch or tag name", extra={"fields": {"source_name": ["invalid"]}}
        )
    if not TAG_TEMPLATE_RE.match(rule.name):
        raise BadRequest("name is not a valid tag name", extra={"fields": {"name": ["invalid"]}})
    return RuleIn(rule.name, rule.source_type, rule.source_name, normalise_location(rule.dockerfile_location))


def is_regex(source_name: str) -> bool:
    return len(source_name) >= 2 and source_name.startswith("/") and source_name.endswith("/")


def evaluate(rule: BuildTag, source_type: str, source_name: str) -> str | None:
    """The image tag `rule` builds `source_name` into, or None when the rule does not match it."""
    if rule.source_type != source_type:
        return None
    groups: Sequence[str] = ()
    if is_regex(rule.source_name):
        match = re.fullmatch(rule.source_name[1:-1], source_name)
        if match is None:
            return None
        groups = [group or "" for group in match.groups()]
    elif rule.source_name != source_name:
        return None
    tag = rule.name.replace("{sourceref}", source_name)
    for index, group in enumerate(groups, start=1):
        tag = tag.replace("{\\" + str(index) + "}", group)
    return tag if is_valid_tag(tag) else None


@dataclass(frozen=True)
class Planned:
    rule: BuildTag
    source_name: str
    docker_tag: str


@dataclass
class AutoBuildView:
    repository: Repository
    autobuild: AutoBuild
    rules: Sequence[BuildTag]


class BuildsService:
    def __init__(self, session: AsyncSession, settings: Settings, bus: EventBus | None = None) -> None:
        self.session = session
        self.settings = settings
        self.store = BuildsStore(session)
        self.bus = bus

    async def _access(self, subject: Subject, namespace: str, name: str, need: Permission) -> RepoAccess:
        return await require_repository(self.session, subject, namespace, name, need)

    async def _autobuild(self, access: RepoAccess) -> AutoBuild:
        autobuild = await self.store.autobuild(access.repository.id)
        if autobuild is None:
            raise NotFound("This repository has no automated build")
        return autobuild

    # --- configuration -------------------------------------------------------------------------------------
    async def settings_of(self, subject: Subject, namespace: str, name: str) -> AutoBuildView:
        access = await self._access(subject, namespace, name, Permission.READ)
        autobuild = await self._autobuild(access)
        return AutoBuildView(access.repository, autobuild, await self.store.rules(access.repository.id))

    async def configure(
        self,
        subject: Subject,
        namespace: str,
        name: str,
        *,
        source_url: str,
        provider: str,
        build_name: str,
        active: bool,
        rules: Sequence[RuleIn] | None,
    ) -> AutoBuildView:
        """Create (or reconfigure) the repository's automated build. Without rules it builds `master` as `latest`."""
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        url = validate_source_url(source_url, self.settings)
        checked = [validate_rule(rule) for rule in (rules if rules else [RuleIn()])]
        if len(checked) > MAX_BUILD_TAGS:
            raise BadRequest(f"at most {MAX_BUILD_TAGS} build tags")
        now = utcnow()
        autobuild = await self.store.autobuild(access.repository.id)
        if autobuild is None:
            autobuild = AutoBuild(
                repository_id=access.repository.id,
                trigger_nonce=secrets.token_hex(16),
                trigger_active=True,
                creator=subject.username or "",
                created_at=now,
            )
        autobuild.source_url = url
        autobuild.provider = provider
        autobuild.build_name = build_name or access.path
        autobuild.active = active
        autobuild.updated_at = now
        await self.store.add(autobuild)
        if rules is not None or not await self.store.rules(access.repository.id):
            await self.store.delete_rules(access.repository.id)
            for rule in checked:
                await self.store.add(self._rule_row(access.repository.id, rule))
        return AutoBuildView(access.repository, autobuild, await self.store.rules(access.repository.id))

    async def remove(self, subject: Subject, namespace: str, name: str) -> None:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        await self._autobuild(access)
        await self.store.delete_rules(access.repository.id)
        await self.store.delete_autobuild(access.repository.id)

    @staticmethod
    def _rule_row(repository_id: int, rule: RuleIn) -> BuildTag:
        return BuildTag(
            repository_id=repository_id,
            name=rule.name,
            source_type=rule.source_type,
            source_name=rule.source_name,
            dockerfile_location=rule.dockerfile_location,
            created_at=utcnow(),
        )

    async def add_rule(self, subject: Subject, namespace: str, name: str, rule: RuleIn) -> BuildTag:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        await self._autobuild(access)
        if len(await self.store.rules(access.repository.id)) >= MAX_BUILD_TAGS:
            raise BadRequest(f"at most {MAX_BUILD_TAGS} build tags")
        row = self._rule_row(access.repository.id, validate_rule(rule))
        await self.store.add(row)
        return row

    async def save_rule(self, subject: Subject, namespace: str, name: str, rule_id: int, rule: RuleIn) -> BuildTag:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        row = await self.store.rule(access.repository.id, rule_id)
        if row is None:
            raise NotFound("Build tag not found")
        checked = validate_rule(rule)
        row.name, row.source_type = checked.name, checked.source_type
        row.source_name, row.dockerfile_location = checked.source_name, checked.dockerfile_location
        await self.session.flush()
        return row

    async def delete_rule(self, subject: Subject, namespace: str, name: str, rule_id: int) -> None:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        row = await self.store.rule(access.repository.id, rule_id)
        if row is None:
            raise NotFound("Build tag not found")
        await self.store.delete_rule(row.id)

    # --- starting builds -----------------------------------------------------------------------------------
    async def trigger(
        self,
        subject: Subject,
        namespace: str,
        name: str,
        *,
        source_type: str,
        source_name: str,
        dockerfile_location: str | None,
    ) -> list[tuple[Planned, Build]]:
        """Queue a build for every rule matching the source (none match: nothing happens)."""
        access = await self._access(subject, namespace, name, Permission.WRITE)
        autobuild = await self._autobuild(access)
        location = normalise_location(dockerfile_location) if dockerfile_location else None
        plans = [
            plan
            for plan in await self._plans(access.repository.id, source_type, source_name)
            if location is None or plan.rule.dockerfile_location == location
        ]
        builds = await self._queue(access.repository, autobuild, plans, "api", subject.username or "", [])
        if builds:
            self._audit(access.namespace.name, subject.username, access.path, {"cause": "api", "builds": len(builds)})
        return list(zip(plans, builds, strict=True))

    async def _plans(self, repository_id: int, source_type: str, source_name: str) -> list[Planned]:
        plans = []
        for rule in await self.store.rules(repository_id):
            tag = evaluate(rule, source_type, source_name)
            if tag is not None:
                plans.append(Planned(rule, source_name, tag))
        return plans

    async def _every_rule(self, repository_id: int) -> list[Planned]:
        """What "build everything" means: each rule with a plain (non-regex) source."""
        plans = []
        for rule in await self.store.rules(repository_id):
            if not is_regex(rule.source_name):
                tag = evaluate(rule, rule.source_type, rule.source_name)
                if tag is not None:
                    plans.append(Planned(rule, rule.source_name, tag))
        return plans

    async def _queue(
        self,
        repository: Repository,
        autobuild: AutoBuild,
        plans: Sequence[Planned],
        cause: str,
        requested_by: str,
        chain: Sequence[str],
    ) -> list[Build]:
        if not autobuild.active:
            return []
        now = utcnow()
        builds = []
        for plan in plans:
            build = Build(
                repository_id=repository.id,
                build_code=new_build_code(),
                status=QUEUED,
                docker_tag=plan.docker_tag,
                source_type=plan.rule.source_type,
                source_name=plan.source_name,
                source_url=autobuild.source_url,
                dockerfile_location=plan.rule.dockerfile_location,
                cause=cause,
                chain=json.dumps(list(chain)),
                requested_by=requested_by,
                logs="",
                dockerfile_contents="",
                created_at=now,
                updated_at=now,
            )
            await self.store.add(build)
            builds.append(build)
        return builds

    async def trigger_by_token(
        self,
        key: bytes,
        namespace: str,
        name: str,
        token: str,
        *,
        source_type: str | None,
        source_name: str | None,
        docker_tag: str | None,
        ip_address: str,
        user_agent: str,
        request_body: str | None,
    ) -> list[Build]:
        """The trigger URL: no credentials but the token in the URL. Every call is recorded in its history."""
        namespace = namespace_name(namespace)
        plain = REPO_PART_RE.match(namespace) and REPO_PART_RE.match(name)
        repository = await self.store.repository_by_path(f"{namespace}/{name}") if plain else None
        autobuild = await self.store.autobuild(repository.id) if repository else None
        if (
            repository is None
            or autobuild is None
            or not hmac.compare_digest(trigger_token(key, autobuild.trigger_nonce).encode(), token.encode())
        ):
            raise NotFound("Object not found")
        if source_name is not None:
            plans = await self._plans(repository.id, source_type or "Branch", source_name)
        else:
            plans = await self._every_rule(repository.id)
            if docker_tag is not None:
                plans = [plan for plan in plans if plan.docker_tag == docker_tag]
        builds: list[Build] = []
        if not autobuild.trigger_active:
            result, description = "inactive", "Trigger is not active"
        elif not autobuild.active:
            result, description = "inactive", "Automated builds are not active"
        else:
            builds = await self._queue(repository, autobuild, plans, "trigger", "", [])
            result, description = ("triggered", "Build Triggered") if builds else ("ignored", "No build tag matched")
        await self.store.add(
            BuildTriggerEvent(
                repository_id=repository.id,
                ip_address=ip_address[:64],
                user_agent=user_agent[:512],
                request_body=request_body,
                result=result,
                result_desc=description,
                build_codes=",".join(build.build_code for build in builds)[:1024],
                created_at=utcnow(),
            )
        )
        if builds:
            self._audit(repository.path.split("/", 1)[0], None, repository.path, {"cause": "trigger"})
        return builds

    async def queue_for_push(self, path: str, chain: Sequence[str]) -> list[Build]:
        """A tag was pushed to `path`: rebuild every repository linked to it (skipping those already in the chain
        of builds that led here, so links that form a cycle stop)."""
        pushed = await self.store.repository_by_path(path)
        if pushed is None:
            return []
        chain = [*chain, path] if path not in chain else list(chain)
        queued: list[Build] = []
        for repository in await self.store.linking_to(pushed.id):
            if repository.path in chain:
                continue
            autobuild = await self.store.autobuild(repository.id)
            if autobuild is None:
                continue
            plans = await self._every_rule(repository.id)
            queued += await self._queue(repository, autobuild, plans, "link", "", chain)
        return queued

    # --- reading builds ------------------------------------------------------------------------------------
    async def history(
        self, subject: Subject, namespace: str, name: str, offset: int, limit: int
    ) -> tuple[int, Sequence[Build]]:
        access = await self._access(subject, namespace, name, Permission.READ)
        return await self.store.build_count(access.repository.id), await self.store.builds(
            access.repository.id, offset, limit
        )

    async def details(self, subject: Subject, namespace: str, name: str, code: str) -> tuple[Repository, Build]:
        access = await self._access(subject, namespace, name, Permission.READ)
        build = await self.store.build(access.repository.id, code) if code.isalnum() and len(code) <= 40 else None
        if build is None:
            raise NotFound("Build not found")
        return access.repository, build

    # --- the trigger ---------------------------------------------------------------------------------------
    async def trigger_info(self, subject: Subject, namespace: str, name: str) -> tuple[Repository, AutoBuild]:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        return access.repository, await self._autobuild(access)

    async def reset_trigger(
        self, subject: Subject, namespace: str, name: str, *, active: bool | None, regenerate: bool
    ) -> tuple[Repository, AutoBuild]:
        repository, autobuild = await self.trigger_info(subject, namespace, name)
        if regenerate:
            autobuild.trigger_nonce = secrets.token_hex(16)
        if active is not None:
            autobuild.trigger_active = active
        autobuild.updated_at = utcnow()
        await self.session.flush()
        return repository, autobuild

    async def trigger_history(
        self, subject: Subject, namespace: str, name: str, offset: int, limit: int
    ) -> tuple[int, Sequence[BuildTriggerEvent]]:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        repository_id = access.repository.id
        return await self.store.trigger_event_count(repository_id), await self.store.trigger_events(
            repository_id, offset, limit
        )

    # --- links ---------------------------------------------------------------------------------------------
    async def links(self, subject: Subject, namespace: str, name: str) -> Sequence[tuple[BuildLink, str, str]]:
        access = await self._access(subject, namespace, name, Permission.READ)
        return await self.store.links_from(access.repository.id)

    async def add_link(self, subject: Subject, namespace: str, name: str, to_repo: str) -> tuple[BuildLink, str, str]:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        to_namespace, to_name = split_path(to_repo)
        if not to_name:
            raise BadRequest("to_repo names a repository", extra={"fields": {"to_repo": ["invalid"]}})
        target = await require_repository(self.session, subject, to_namespace, to_name)
        if target.repository.id == access.repository.id:
            raise BadRequest("a repository cannot link to itself")
        link = await self.store.link_between(access.repository.id, target.repository.id)
        if link is None:
            link = BuildLink(
                from_repository_id=access.repository.id, to_repository_id=target.repository.id, created_at=utcnow()
            )
            await self.store.add(link)
        return link, access.path, target.path

    async def delete_link(self, subject: Subject, namespace: str, name: str, link_id: int) -> None:
        access = await self._access(subject, namespace, name, Permission.ADMIN)
        link = await self.store.link(access.repository.id, link_id)
        if link is None:
            raise NotFound("Link not found")
        await self.store.delete_link(link.id)

    def _audit(self, account: str, actor: str | None, path: str, data: dict[str, object]) -> None:
        if self.bus is not None:
            bus, event = self.bus, AuditEvent(account, actor, "repo.build.trigger", path, dict(data), utcnow())
            after_commit(self.session, lambda: bus.publish(event))
