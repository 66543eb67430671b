"""Registry rules: who may read or write what, and how blobs, manifests and tags change together.

Each public method is one unit of work. Uploads stream request bodies, and a database transaction must not stay
open while a client trickles bytes in (SQLite would hold its write lock), so methods open their own short
transactions around the storage work instead of receiving one from the route.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from dockyard.accounts.models import Account
from dockyard.accounts.permissions import Permission
from dockyard.accounts.store import AccountsStore
from dockyard.config import Settings
from dockyard.db import Database, utcnow
from dockyard.events import EventBus
from dockyard.registry import mediatypes as mt
from dockyard.registry.auth import Caller, RegistryAuth
from dockyard.registry.cache import CachedBlob, CachedManifest, ManifestCache
from dockyard.registry.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    Denied,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestUnknown,
    NameUnknown,
    RangeInvalid,
    TagInvalid,
)
from dockyard.registry.events import (
    BlobRequested,
    ManifestDeleted,
    ManifestPushed,
    ManifestRequested,
    TagDeleted,
)
from dockyard.registry.immutable import active_rules, immutable_tags, matching_rule
from dockyard.registry.manifests import ParsedManifest, parse_manifest
from dockyard.registry.models import Manifest, ManifestReference, Repository, Upload
from dockyard.registry.pulllimits import PullLimiter
from dockyard.registry.references import canonical_name, is_digest, is_valid_tag, parse_digest
from dockyard.registry.store import (
    RegistryStore,
    blob_link,
    blob_lookup,
    blob_stored,
    manifest_lookup,
    repository_lookup,
    upload_delete,
    upload_insert,
    upload_lookup,
    upload_touch,
)
from dockyard.storage import DigestMismatch, FilesystemStorage, UploadMissing

MAX_TAGS_PER_PUSH = 100
DIGESTERS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class Repo:
    """A repository name as the client wrote it, and its canonical path (`alpine` -> `library/alpine`)."""

    name: str
    path: str

    @property
    def namespace(self) -> str:
        return self.path.split("/", 1)[0]


@dataclass(frozen=True)
class ManifestResult:
    digest: str
    media_type: str
    size: int
    content: bytes | None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class PushResult:
    digest: str
    subject: str | None
    tags: list[str]


@dataclass(frozen=True)
class BlobResult:
    digest: str
    size: int


@dataclass(frozen=True)
class UploadState:
    id: str
    offset: int


def repo_for(name: str) -> Repo:
    return Repo(name=name, path=canonical_name(name))


def compute_digest(content: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{DIGESTERS[algorithm](content).hexdigest()}"


class RegistryService:
    def __init__(
        self, settings: Settings, db: Database, storage: FilesystemStorage, bus: EventBus, auth: RegistryAuth
    ) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.bus = bus
        self.auth = auth
        self._upload_locks: dict[str, asyncio.Lock] = {}
        self.cache = ManifestCache(settings.manifest_cache_seconds)
        self.pull_limiter = (
            PullLimiter(
                settings.pull_limit_anonymous, settings.pull_limit_authenticated, settings.pull_limit_window_seconds
            )
            if settings.pull_limit_anonymous > 0 or settings.pull_limit_authenticated > 0
            else None
        )

    # --- repositories --------------------------------------------------------------------------------------
    async def _existing(self, store: RegistryStore, repo: Repo) -> Repository:
        repository = await store.repository(repo.path)
        if repository is None:
            raise NameUnknown(f"repository {repo.name} not known to registry")
        return repository

    async def _require_repository(self, repo: Repo) -> None:
        if await self.db.first(repository_lookup(repo.path)) is None:
            raise NameUnknown(f"repository {repo.name} not known to registry")

    async def _ensure_repository(self, store: RegistryStore, repo: Repo) -> Repository:
        """The repository, created on first push (the caller's push permission was checked already)."""
        repository = await store.repository(repo.path)
        if repository is not None:
            return repository
        namespace: Account | None = await AccountsStore(store.session).by_name(repo.namespace)
        if namespace is None:
            raise NameUnknown(f"namespace {repo.namespace} does not exist")
        now = utcnow()
        return await store.add_repository_once(
            Repository(
                namespace_id=namespace.id,
                path=repo.path,
                name=repo.path.split("/", 1)[1],
                is_private=False,
                created_at=now,
                updated_at=now,
            )
        )

    # --- blobs ---------------------------------------------------------------------------------------------
    async def stat_blob(self, caller: Caller | None, repo: Repo, digest: str, method: str) -> BlobResult:
        caller = await self.auth.require(caller, repo.name, repo.path, ("pull",))
        status = 404
        try:
            parse_digest(digest)
            blob = self.cache.get_blob(repo.path, digest) or await self._lookup_blob(repo, digest)
            if not await self.storage.exists(digest):
                raise BlobUnknown(detail={"digest": digest})
            status = 200
            return BlobResult(digest=blob.digest, size=blob.size)
        finally:
            self.bus.publish(
                BlobRequested(
                    repository=repo.path,
                    digest=digest,
                    method=method,
                    status=status,
                    client_ip=caller.client_ip,
                    user_agent=caller.user_agent,
                    account=caller.account_name,
                    time=utcnow(),
                )
            )

    async def _lookup_blob(self, repo: Repo, digest: str) -> CachedBlob:
        epoch = self.cache.epoch
        row = await self.db.first(blob_lookup(repo.path, digest))
        if row is None:
            raise NameUnknown(f"repository {repo.name} not known to registry")
        if row.digest is None:
            raise BlobUnknown(detail={"digest": digest})
        found = CachedBlob(row.digest, row.size)
        self.cache.put_blob(repo.path, found, epoch)
        return found

    async def delete_blob(self, caller: Caller | None, repo: Repo, digest: str) -> None:
        await self.auth.require(caller, repo.name, repo.path, ("delete",))
        parse_digest(digest)
        async with self.db.writer() as session:
            store = RegistryStore(session)
            repository = await self._existing(store, repo)
            if not await store.unlink_blob(repository.id, digest):
                raise BlobUnknown(detail={"digest": digest})
        self.cache.invalidate(repo.path)

    # --- uploads -------------------------------------------------------------------------------------------
    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._upload_locks.setdefault(upload_id, asyncio.Lock())

    async def start_upload(self, caller: Caller | None, repo: Repo) -> UploadState:
        await self.auth.require(caller, repo.name, repo.path, ("pull", "push"))
        upload_id = str(uuid.uuid4())
        await self.storage.create_upload(upload_id)
        found = await self.db.first(repository_lookup(repo.path))
        if found is not None:
            with contextlib.suppress(IntegrityError):  # the repository was deleted a moment ago
                await self.db.write(upload_insert(found.id, upload_id, utcnow()))
                return UploadState(upload_id, 0)
        # The repository's first push creates it. (The files of uploads that never got a row are swept by gc.)
        async with self.db.writer() as session:
            store = RegistryStore(session)
            repository = await self._ensure_repository(store, repo)
            await store.add_upload(Upload(id=upload_id, repository_id=repository.id))
        return UploadState(upload_id, 0)

    async def mount_blob(self, caller: Caller | None, repo: Repo, digest: str, source: str | None) -> bool:
        """Link an existing blob into `repo` without uploading it. False when it cannot be mounted."""
        caller = await self.auth.require(caller, repo.name, repo.path, ("pull", "push"))
        parse_digest(digest)
        async with self.db.reader() as session:
            store = RegistryStore(session)
            if source is not None:
                try:
                    candidates = [repo_for(source)]
                except Exception:
                    return False
            else:
                # No `from`: any repository holding the blob that the caller can read will do.
                candidates = [Repo(r.path, r.path) for r in await store.repositories_linking(digest)]
            sources = []
            for candidate in candidates:
                repository = await store.repository(candidate.path)
                if repository is not None and await store.blob_in_repository(repository.id, digest):
                    sources.append(candidate)
        for candidate in sources:
            if await self._may_read(caller, candidate.path) and await self.storage.exists(digest):
                async with self.db.writer() as session:
                    store = RegistryStore(session)
                    repository = await self._ensure_repository(store, repo)
                    await store.link_blob(repository.id, digest)
                return True
        return False

    async def _may_read(self, caller: Caller, path: str) -> bool:
        """A mount source counts as readable if the token says so or the caller's own permissions do: a token
        scoped to the target repository alone must not stop a user copying a blob they could pull anyway."""
        if await self.auth.allowed(caller, path, "pull"):
            return True
        return await self.auth.permission(caller.subject, path) >= Permission.READ

    async def _upload_for(self, caller: Caller | None, repo: Repo, upload_id: str) -> None:
        await self.auth.require(caller, repo.name, repo.path, ("pull", "push"))
        if await self.db.first(upload_lookup(repo.path, upload_id)) is None:
            raise BlobUploadUnknown(detail={"uuid": upload_id})

    async def upload_status(self, caller: Caller | None, repo: Repo, upload_id: str) -> UploadState:
        await self._upload_for(caller, repo, upload_id)
        try:
            return UploadState(upload_id, await self.storage.upload_size(upload_id))
        except UploadMissing as exc:
            raise BlobUploadUnknown(detail={"uuid": upload_id}) from exc

    async def append_upload(
        self,
        caller: Caller | None,
        repo: Repo,
        upload_id: str,
        chunks: AsyncIterable[bytes],
        content_range: tuple[int, int] | None,
    ) -> UploadState:
        await self._upload_for(caller, repo, upload_id)
        async with self._lock(upload_id):
            try:
                await self._check_offset(repo, upload_id, content_range)
                offset = await self.storage.append(upload_id, chunks)
            except UploadMissing as exc:
                raise BlobUploadUnknown(detail={"uuid": upload_id}) from exc
        await self.db.write(upload_touch(upload_id, utcnow()))
        return UploadState(upload_id, offset)

    async def _check_offset(self, repo: Repo, upload_id: str, content_range: tuple[int, int] | None) -> None:
        """A chunk must start where the upload ends; otherwise 416 and the upload is left untouched."""
        if content_range is None:
            return
        offset = await self.storage.upload_size(upload_id)
        if content_range[0] != offset:
            raise RangeInvalid(
                f"chunk starts at {content_range[0]} but the upload has {offset} bytes",
                headers={
                    "Range": f"0-{max(offset - 1, 0)}",
                    "Docker-Upload-UUID": upload_id,
                    "Location": f"/v2/{repo.name}/blobs/uploads/{upload_id}",
                },
            )

    async def finish_upload(
        self,
        caller: Caller | None,
        repo: Repo,
        upload_id: str,
        digest: str | None,
        chunks: AsyncIterable[bytes] | None,
        content_range: tuple[int, int] | None = None,
    ) -> BlobResult:
        await self._upload_for(caller, repo, upload_id)
        if not digest:
            raise DigestInvalid("the digest query parameter is required to complete an upload")
        parse_digest(digest)
        async with self._lock(upload_id):
            try:
                if chunks is not None:
                    await self._check_offset(repo, upload_id, content_range)
                    await self.storage.append(upload_id, chunks)
                size = await self.storage.commit(upload_id, digest)
            except UploadMissing as exc:
                raise BlobUploadUnknown(detail={"uuid": upload_id}) from exc
            except DigestMismatch as exc:
                raise DigestInvalid(detail={"digest": digest}) from exc
        self._upload_locks.pop(upload_id, None)
        now, sqlite = utcnow(), self.db.is_sqlite
        await self.db.write(
            blob_stored(sqlite, digest, size, now), blob_link(sqlite, repo.path, digest, now), upload_delete(upload_id)
        )
        await self.storage.delete_upload(upload_id)
        return BlobResult(digest, size)

    async def upload_whole(
        self, caller: Caller | None, repo: Repo, digest: str, chunks: AsyncIterable[bytes]
    ) -> BlobResult:
        """A POST that carries the whole blob: one request instead of POST + PUT."""
        state = await self.start_upload(caller, repo)
        try:
            return await self.finish_upload(caller, repo, state.id, digest, chunks)
        except BaseException:
            await self._discard_upload(state.id)
            raise

    async def cancel_upload(self, caller: Caller | None, repo: Repo, upload_id: str) -> None:
        await self._upload_for(caller, repo, upload_id)
        await self._discard_upload(upload_id)

    async def _discard_upload(self, upload_id: str) -> None:
        await self.db.write(upload_delete(upload_id))
        await self.storage.delete_upload(upload_id)
        self._upload_locks.pop(upload_id, None)

    # --- manifests -----------------------------------------------------------------------------------------
    async def get_manifest(
        self, caller: Caller | None, repo: Repo, reference: str, *, accept: set[str], with_content: bool, method: str
    ) -> ManifestResult:
        caller = await self.auth.require(caller, repo.name, repo.path, ("pull",))
        limiter = self.pull_limiter
        allowance = limiter.check(caller, time.time(), blocking=method == "GET") if limiter else None
        by_digest = is_digest(reference)
        status, digest = 404, None
        try:
            if by_digest:
                parse_digest(reference)
            elif not is_valid_tag(reference):
                raise ManifestUnknown(f"invalid tag: {reference[:200]}")
            found = self.cache.get(repo.path, reference) or await self._lookup_manifest(repo, reference, by_digest)
            result = ManifestResult(found.digest, found.media_type, found.size, found.content if with_content else None)
            if not by_digest and accept and "*/*" not in accept and found.media_type not in accept:
                async with self.db.reader() as session:
                    result = await self._negotiate(
                        RegistryStore(session), found.repository_id, result, accept, with_content
                    )
            if limiter is not None and method == "GET" and result.media_type in mt.IMAGE_MANIFESTS:
                allowance = limiter.count(caller, time.time())
            if allowance is not None:
                result = replace(result, headers=allowance.headers())
            status, digest = 200, result.digest
            return result
        finally:
            self.bus.publish(
                ManifestRequested(
                    repository=repo.path,
                    reference=reference,
                    digest=digest,
                    method=method,
                    status=status,
                    client_ip=caller.client_ip,
                    user_agent=caller.user_agent,
                    account=caller.account_name,
                    time_us=time.time_ns() // 1000,
                )
            )

    async def _lookup_manifest(self, repo: Repo, reference: str, by_digest: bool) -> CachedManifest:
        epoch = self.cache.epoch
        row = await self.db.first(manifest_lookup(repo.path, reference, by_digest, with_content=True))
        if row is None:
            await self._require_repository(repo)
            raise ManifestUnknown(detail={"reference": reference})
        found = CachedManifest(row[0], row.digest, row.media_type, row.size, row.content)
        self.cache.put(repo.path, reference, found, epoch)
        return found

    async def _negotiate(
        self, store: RegistryStore, repository_id: int, found: ManifestResult, accept: set[str], with_content: bool
    ) -> ManifestResult:
        """A client that cannot read an index gets the linux/amd64 image from it, as Docker Hub does; a stored
        type the client did not ask for is otherwise not found (what distribution answers)."""
        if found.media_type in mt.INDEXES:
            manifest = await store.manifest(repository_id, found.digest)
            assert manifest is not None
            for child in parse_manifest(manifest.content, manifest.media_type).children:
                platform = child.platform or {}
                if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
                    picked = await store.manifest(repository_id, child.digest)
                    if picked is not None and picked.media_type in accept:
                        return ManifestResult(
                            picked.digest, picked.media_type, picked.size, picked.content if with_content else None
                        )
        raise ManifestUnknown(
            f"the manifest is {found.media_type}, which the Accept header does not allow",
            detail={"mediaType": found.media_type},
        )

    async def put_manifest(
        self,
        caller: Caller | None,
        repo: Repo,
        reference: str,
        content: bytes,
        content_type: str | None,
        extra_tags: Sequence[str] = (),
    ) -> PushResult:
        """Store a manifest under its digest and point the tag (or, pushed by digest, the `?tag=` tags) at it."""
        caller = await self.auth.require(caller, repo.name, repo.path, ("pull", "push"))
        if is_digest(reference):
            parse_digest(reference)
            digest = compute_digest(content, reference.split(":", 1)[0])
            if digest != reference:
                raise DigestInvalid("the manifest does not match the digest in the URL", detail={"digest": reference})
            tags = list(dict.fromkeys(extra_tags))
        else:
            tags = [reference]
            digest = compute_digest(content)
        if len(tags) > MAX_TAGS_PER_PUSH:
            raise TagInvalid(f"at most {MAX_TAGS_PER_PUSH} tags per push")
        for tag in tags:
            if not is_valid_tag(tag):
                raise TagInvalid(f"invalid tag: {tag[:200]}")
        parsed = parse_manifest(content, content_type)
        now = utcnow()
        async with self.db.writer() as session:
            store = RegistryStore(session)
            repository = await self._ensure_repository(store, repo)
            await self._check_references(store, repository.id, parsed)
            manifest = await store.manifest(repository.id, digest)
            if manifest is None:
                manifest = await store.add_manifest(
                    self._manifest_row(repository.id, digest, content, parsed, now), self._references(parsed)
                )
            else:
                manifest.pushed_at = now
            await self._set_tags(store, repository, manifest, tags, caller.subject.account_id, now)
            await store.touch_repository(repository.id, now)
        self.cache.invalidate(repo.path)
        published: list[str | None] = [*tags] or [None]
        for tag_or_none in published:
            self.bus.publish(
                ManifestPushed(
                    repo.path, digest, parsed.media_type, len(content), tag_or_none, caller.account_name, now
                )
            )
        return PushResult(digest, parsed.subject.digest if parsed.subject else None, tags)

    @staticmethod
    async def _set_tags(
        store: RegistryStore,
        repository: Repository,
        manifest: Manifest,
        tags: Sequence[str],
        account_id: int | None,
        now: datetime,
    ) -> None:
        """Point the tags at the manifest, refusing to move an immutable one, and record each move in the history."""
        rules = active_rules(repository.immutable_tags, repository.immutable_tags_rules)
        for tag in tags:
            current = await store.tag(repository.id, tag)
            moved = current is None or current.manifest_id != manifest.id
            if moved and current is not None and (rule := matching_rule(tag, rules)) is not None:
                raise Denied(
                    f"tag {tag} is immutable in {repository.path} (rule {rule!r}): push the image under a new tag"
                )
            await store.set_tag(repository.id, tag, manifest.id)
            if moved:
                await store.add_tag_history(repository.id, tag, manifest.digest, account_id, now)

    @staticmethod
    def _manifest_row(
        repository_id: int, digest: str, content: bytes, parsed: ParsedManifest, now: datetime
    ) -> Manifest:
        return Manifest(
            repository_id=repository_id,
            digest=digest,
            media_type=parsed.media_type,
            artifact_type=parsed.artifact_type,
            size=len(content),
            content=content,
            subject_digest=parsed.subject.digest if parsed.subject else None,
            annotations=json.dumps(parsed.annotations) if parsed.annotations else None,
            created_at=now,
        )

    @staticmethod
    def _references(parsed: ParsedManifest) -> list[ManifestReference]:
        references = [ManifestReference(digest=d, kind="blob") for d in parsed.blob_digests()]
        seen: set[str] = set()
        for child in parsed.children:
            if child.digest not in seen:
                seen.add(child.digest)
                platform = json.dumps(child.platform) if child.platform else None
                references.append(ManifestReference(digest=child.digest, kind="manifest", platform=platform))
        return references

    @staticmethod
    async def _check_references(store: RegistryStore, repository_id: int, parsed: ParsedManifest) -> None:
        blobs = parsed.blob_digests()
        linked = await store.linked_digests(repository_id, blobs)
        missing = [d for d in blobs if d not in linked]
        children = list(dict.fromkeys(c.digest for c in parsed.children))
        present = await store.existing_manifest_digests(repository_id, children)
        missing += [d for d in children if d not in present]
        if missing:
            raise ManifestBlobUnknown(
                f"manifest references {len(missing)} unknown blob(s) or manifest(s)",
                detail=[{"digest": d} for d in missing],
            )
        await store.mark_referenced(blobs)

    async def delete_manifest(self, caller: Caller | None, repo: Repo, reference: str) -> None:
        """By digest: the manifest and every tag on it. By tag: only the tag."""
        caller = await self.auth.require(caller, repo.name, repo.path, ("delete",))
        now = utcnow()
        events: list[object] = []
        async with self.db.writer() as session:
            store = RegistryStore(session)
            repository = await self._existing(store, repo)
            if is_digest(reference):
                parse_digest(reference)
                manifest = await store.manifest(repository.id, reference)
                if manifest is None:
                    raise ManifestUnknown(detail={"digest": reference})
                tags = await store.tags_for_manifest(manifest.id)
                self._refuse_immutable(repository, tags)
                for tag in tags:
                    events.append(TagDeleted(repo.path, tag, manifest.digest, caller.account_name, now))
                await store.delete_manifest(manifest.id)
                events.append(ManifestDeleted(repo.path, manifest.digest, caller.account_name, now))
            else:
                tag_row = await store.tag(repository.id, reference) if is_valid_tag(reference) else None
                if tag_row is None:
                    raise ManifestUnknown(detail={"tag": reference})
                self._refuse_immutable(repository, [reference])
                manifest = await session.get(Manifest, tag_row.manifest_id)
                await store.delete_tag(tag_row.id)
                events.append(
                    TagDeleted(repo.path, reference, manifest.digest if manifest else "", caller.account_name, now)
                )
        self.cache.invalidate(repo.path)
        for event in events:
            self.bus.publish(event)

    @staticmethod
    def _refuse_immutable(repository: Repository, tags: Sequence[str]) -> None:
        locked = immutable_tags(tags, active_rules(repository.immutable_tags, repository.immutable_tags_rules))
        if locked:
            raise Denied(f"tag {', '.join(locked)} is immutable in {repository.path} and cannot be deleted")

    def forget(self, path: str) -> None:
        """Drop cached state for a repository another domain changed (deleted it, moved it, changed privacy)."""
        self.cache.invalidate(path)

    # --- tags, catalog, referrers --------------------------------------------------------------------------
    async def list_tags(self, caller: Caller | None, repo: Repo, last: str | None, n: int | None) -> list[str]:
        await self.auth.require(caller, repo.name, repo.path, ("pull",))
        async with self.db.reader() as session:
            store = RegistryStore(session)
            repository = await self._existing(store, repo)
            return await store.tag_names(repository.id, last, n)

    async def catalog(self, caller: Caller | None, last: str | None, n: int) -> list[str]:
        """Repository paths the caller may pull, in order, after `last`."""
        names: list[str] = []
        cursor = last or ""
        async with self.db.reader() as session:
            store = RegistryStore(session)
            while len(names) < n:
                batch = await store.repositories_after(cursor, 200)
                if not batch:
                    break
                for repository in batch:
                    if (
                        caller is not None and (caller.subject.is_admin or await self._may_list(caller, repository))
                    ) or (caller is None and not repository.is_private):
                        names.append(repository.path)
                    if len(names) >= n:
                        break
                cursor = batch[-1].path
        return names

    async def _may_list(self, caller: Caller, repository: Repository) -> bool:
        if not repository.is_private:
            return True
        if caller.token_access is not None and caller.subject.account_id is None:
            return False
        return await self.auth.permission(caller.subject, repository.path) >= 1

    async def referrers(
        self, caller: Caller | None, repo: Repo, digest: str, artifact_type: str | None
    ) -> list[dict[str, object]]:
        await self.auth.require(caller, repo.name, repo.path, ("pull",))
        parse_digest(digest)
        async with self.db.reader() as session:
            store = RegistryStore(session)
            repository = await store.repository(repo.path)
            # The referrers API answers an empty index, never 404, for a subject (or repository) not pushed yet.
            manifests: Sequence[Manifest] = await store.referrers(repository.id, digest) if repository else []
        descriptors: list[dict[str, object]] = []
        for manifest in manifests:
            if artifact_type and manifest.artifact_type != artifact_type:
                continue
            descriptor: dict[str, object] = {
                "mediaType": manifest.media_type,
                "digest": manifest.digest,
                "size": manifest.size,
            }
            if manifest.artifact_type:
                descriptor["artifactType"] = manifest.artifact_type
            if manifest.annotations:
                descriptor["annotations"] = json.loads(manifest.annotations)
            descriptors.append(descriptor)
        return descriptors
