"""Running automated builds for real: `git clone` of the configured source, `buildah bud` with vfs storage in a
per-build temporary directory, `buildah push` to an OCI layout there, and then a push of that image into this
registry through the registry service, authorised by a five-minute registry token for that one repository.

Pushing through the service rather than over HTTP means the server never has to reach itself on the network
(behind a proxy or in tests its public address may not be reachable from inside), while the push still goes
through the registry's own checks and publishes its ManifestPushed events (webhooks, audit log, build links).

A background task claims queued builds (a conditional update, so replicas can share the queue) and runs at most
`build_concurrency` at a time. The log of every step is kept with the build.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from dockyard.accounts.permissions import Subject
from dockyard.background import Background
from dockyard.db import utcnow
from dockyard.events import EventBus
from dockyard.hub.builds import BuildsService
from dockyard.hub.builds_store import FAILED, SUCCESS, BuildsStore
from dockyard.hub.community_models import Build
from dockyard.registry.errors import RegistryError
from dockyard.registry.events import ManifestPushed
from dockyard.registry.service import repo_for

if TYPE_CHECKING:
    from dockyard.app import Services

log = logging.getLogger(__name__)

MAX_LOG_CHARS = 512 * 1024
POLL_SECONDS = 5.0
CHUNK = 1024 * 1024
STALE_CHECK_SECONDS = 300.0


class BuildFailed(Exception):
    pass


@dataclass
class Workspace:
    root: Path
    log: list[str] = field(default_factory=list)

    def write(self, text: str) -> None:
        self.log.append(text if text.endswith("\n") else text + "\n")

    def text(self) -> str:
        joined = "".join(self.log).replace("\x00", "")
        if len(joined) > MAX_LOG_CHARS:
            joined = "[log truncated]\n" + joined[-MAX_LOG_CHARS:]
        return joined


def _tool_env(root: Path) -> dict[str, str]:
    """buildah and git with every file they read or write inside the build's own directory."""
    dirs = {name: root / name for name in ("home", "config", "data", "cache", "run", "tmp")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    dirs["run"].chmod(0o700)
    (root / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{root / "storage"}"\nrunroot = "{root / "storage-run"}"\n'
    )
    (root / "containers.conf").write_text(
        f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\ntmp_dir = "{dirs["tmp"]}"\n'
    )
    (root / "registries.conf").write_text('unqualified-search-registries = []\nshort-name-mode = "disabled"\n')
    (root / "policy.json").write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    keep = ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    env = {key: value for key, value in os.environ.items() if key.upper() in keep}
    env.update(
        {
            "HOME": str(dirs["home"]),
            "XDG_CONFIG_HOME": str(dirs["config"]),
            "XDG_DATA_HOME": str(dirs["data"]),
            "XDG_CACHE_HOME": str(dirs["cache"]),
            "XDG_RUNTIME_DIR": str(dirs["run"]),
            "TMPDIR": str(dirs["tmp"]),
            "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
            "CONTAINERS_CONF": str(root / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
            "REGISTRY_AUTH_FILE": str(root / "auth.json"),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "BUILDAH_ISOLATION": "chroot",
        }
    )
    (root / "auth.json").write_text('{"auths": {}}')
    return env


def _run(work: Workspace, env: dict[str, str], args: list[str], timeout: float, step: str) -> str:
    work.write(f"$ {' '.join(args)}")
    try:
        result = subprocess.run(
            args, env=env, cwd=work.root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise BuildFailed(f"{args[0]} is not installed on the server") from exc
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed(f"{step} timed out after {int(timeout)} seconds") from exc
    if result.stdout:
        work.write(result.stdout)
    if result.stderr:
        work.write(result.stderr)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()
        raise BuildFailed(f"{step} failed: {last[-1] if last else f'exit status {result.returncode}'}")
    return result.stdout


def _dockerfile(checkout: Path, location: str) -> tuple[Path, Path]:
    """(Dockerfile, context) for a Docker Hub `dockerfile_location`: a directory holding a Dockerfile, or a file."""
    target = (checkout / location.lstrip("/")).resolve()
    root = checkout.resolve()
    if target != root and root not in target.parents:
        raise BuildFailed("dockerfile_location points outside the source")
    if target.is_dir():
        dockerfile, context = target / "Dockerfile", target
    else:
        dockerfile, context = target, target.parent
    if not dockerfile.is_file() or root not in dockerfile.resolve().parents:
        raise BuildFailed(f"no Dockerfile at {location}")
    return dockerfile, context


@dataclass(frozen=True)
class Built:
    layout: Path
    dockerfile: str


def build_image(
    work: Workspace, build: Build, *, allow_file_urls: bool, timeout: float, on_cloned: Any = None
) -> Built:
    """Clone, build and export the image to an OCI layout (blocking: runs in a worker thread)."""
    env = _tool_env(work.root)
    checkout = work.root / "source"
    protocols = ["-c", "protocol.allow=never", "-c", "protocol.http.allow=always", "-c", "protocol.https.allow=always"]
    if allow_file_urls:
        protocols += ["-c", "protocol.file.allow=always"]
    git = ["git", *protocols, "clone", "--depth", "1", "--branch", build.source_name, "--", build.source_url]
    _run(work, env, [*git, str(checkout)], timeout, "git clone")
    if on_cloned is not None:
        on_cloned()
    dockerfile, context = _dockerfile(checkout, build.dockerfile_location)
    contents = dockerfile.read_text(errors="replace")[:65536]
    buildah = [
        "buildah",
        "--root",
        str(work.root / "storage"),
        "--runroot",
        str(work.root / "storage-run"),
        "--storage-driver",
        "vfs",
    ]
    policy = str(work.root / "policy.json")
    image = f"localhost/dockyard-build:{build.build_code}"
    _run(
        work,
        env,
        [
            *buildah,
            "bud",
            "--isolation",
            "chroot",
            "--signature-policy",
            policy,
            "--format",
            "oci",
            "-f",
            str(dockerfile),
            "-t",
            image,
            str(context),
        ],
        timeout,
        "buildah bud",
    )
    layout = work.root / "layout"
    _run(
        work,
        env,
        [*buildah, "push", "--signature-policy", policy, image, f"oci:{layout}:{build.docker_tag}"],
        timeout,
        "buildah push",
    )
    return Built(layout, contents)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await anyio.to_thread.run_sync(path.open, "rb")
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


class BuildRunner:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.concurrency = max(self.settings.build_concurrency, 0)
        self.timeout = float(self.settings.extra.get("build_timeout_seconds", 3600))
        self._notes: list[tuple[str, list[str]]] = []
        self._pushing: dict[str, list[str]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._background = Background("build queue", self.cycle, POLL_SECONDS, at_start=True)
        self._next_stale_check = 0.0

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ManifestPushed, self.on_push)

    def on_push(self, event: ManifestPushed) -> None:
        if event.tag is None:
            return
        # A push made by one of our builds carries that build's chain, so a cycle of links ends.
        self._notes.append((event.repository, list(self._pushing.get(event.repository, []))))
        self._background.wake()

    def wake(self) -> None:
        self._background.wake()

    async def cycle(self) -> None:
        async with self._lock:
            notes, self._notes = self._notes, []
            for path, chain in notes:
                try:
                    async with self.services.db.writer() as session:
                        queued = await BuildsService(session, self.settings).queue_for_push(path, chain)
                    if queued:
                        log.info("push to %s queued %d linked build(s)", path, len(queued))
                except Exception:
                    log.exception("queueing linked builds for %s failed", path)
            free = self.concurrency - len(self._running)
            if free <= 0:
                return
            loop = asyncio.get_running_loop()
            if loop.time() >= self._next_stale_check:
                self._next_stale_check = loop.time() + STALE_CHECK_SECONDS
                async with self.services.db.writer() as session:
                    # Each of a build's three steps may take the whole timeout; past that, nobody is running it.
                    await BuildsStore(session).fail_stale(utcnow() - timedelta(seconds=3 * self.timeout + 300))
            # Look before taking the write lock: most passes find nothing queued.
            async with self.services.db.reader() as session:
                waiting = await BuildsStore(session).queued(free)
            if not waiting:
                return
            async with self.services.db.writer() as session:
                store = BuildsStore(session)
                claimed = [build for build in waiting if await store.claim(build.id)]
            for build in claimed:
                task = asyncio.create_task(self._execute(build.id))
                self._running.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._background.wake()

    async def drain(self, deadline_seconds: float = 300.0) -> None:
        """Run until no build is queued or running (tests use it; builds are real, so this takes seconds)."""
        if self.concurrency == 0:
            return
        # Builds that nobody runs any more count as unfinished until the stale check fails them: check now, not
        # up to STALE_CHECK_SECONDS later (the periodic loop may have just done it).
        self._next_stale_check = 0.0
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_seconds
        while loop.time() < end:
            await self.cycle()
            if self._running:
                await asyncio.wait(set(self._running), timeout=max(end - loop.time(), 0.0))
                continue
            async with self.services.db.reader() as session:
                if not self._notes and await BuildsStore(session).unfinished_count() == 0:
                    return
            await asyncio.sleep(0.05)

    async def _execute(self, build_id: int) -> None:
        async with self.services.db.reader() as session:
            build = await session.get(Build, build_id)
        if build is None:
            return
        root = Path(tempfile.mkdtemp(prefix=f"build-{build.build_code}-", dir=self._builds_dir()))
        work = Workspace(root)
        status, error, digest, dockerfile = FAILED, None, None, ""
        try:
            # Abandoned on cancel: shutdown must not wait for a long build; its tools end on their own timeout.
            built = await anyio.to_thread.run_sync(
                lambda: build_image(
                    work,
                    build,
                    allow_file_urls=self.settings.build_allow_file_urls,
                    timeout=self.timeout,
                    on_cloned=lambda: anyio.from_thread.run(self._mark, build_id, {"cloned_at": utcnow()}),
                ),
                abandon_on_cancel=True,
            )
            dockerfile = built.dockerfile
            digest = await self._push(work, build, built.layout)
            status = SUCCESS
            work.write(f"Pushed {build.docker_tag} ({digest})")
        except BuildFailed as exc:
            error = str(exc)
            work.write(f"Build failed: {error}")
        except RegistryError as exc:
            # The registry refused the push (an immutable tag, say): the user's problem, told in its words.
            error = f"the registry refused the push: {exc.code}: {exc.message}"
            work.write(f"Build failed: {error}")
        except asyncio.CancelledError:
            work.write("Build failed: the server stopped during the build")
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self._mark(
                        build_id,
                        {
                            "status": FAILED,
                            "error": "interrupted: the server stopped",
                            "logs": work.text(),
                            "finished_at": utcnow(),
                        },
                    )
                )
            raise
        except Exception as exc:
            log.exception("build %s failed unexpectedly", build.build_code)
            error = f"internal error: {type(exc).__name__}: {exc}"
            work.write(f"Build failed: {error}")
        finally:
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(root, ignore_errors=True))
        await self._mark(
            build_id,
            {
                "status": status,
                "error": error,
                "digest": digest,
                "logs": work.text(),
                "dockerfile_contents": dockerfile,
                "finished_at": utcnow(),
            },
        )

    def _builds_dir(self) -> Path:
        path = self.settings.data_dir / "builds"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def _mark(self, build_id: int, values: dict[str, Any]) -> None:
        async with self.services.db.writer() as session:
            build = await session.get(Build, build_id)
            if build is not None:
                for key, value in values.items():
                    setattr(build, key, value)
                build.updated_at = utcnow()

    async def _push(self, work: Workspace, build: Build, layout: Path) -> str:
        """Push the OCI layout's image into this registry with a short-lived token for the one repository."""
        async with self.services.db.reader() as session:
            repository = await BuildsStore(session).repository_by_id(build.repository_id)
        if repository is None:
            raise BuildFailed("the repository was deleted during the build")
        index = json.loads((layout / "index.json").read_text())
        descriptor = index["manifests"][0]
        manifest_digest: str = descriptor["digest"]
        media_type: str = descriptor.get("mediaType", "application/vnd.oci.image.manifest.v1+json")
        blob_dir = layout / "blobs"
        content = (blob_dir / manifest_digest.replace(":", "/")).read_bytes()
        manifest = json.loads(content)
        registry = self.services.registry
        subject = Subject(username=build.requested_by or repository.path.split("/", 1)[0])
        access = [{"type": "repository", "name": repository.path, "actions": ["pull", "push"]}]
        token, _, _ = registry.auth.issue(subject, access)
        caller = await registry.auth.caller(f"Bearer {token}", "127.0.0.1", "dockyard-autobuild")
        repo = repo_for(repository.path)
        blobs = [manifest["config"], *manifest.get("layers", [])]
        for blob in blobs:
            work.write(f"Uploading {blob['digest']} ({blob.get('size', 0)} bytes)")
            path = blob_dir / blob["digest"].replace(":", "/")
            await registry.upload_whole(caller, repo, blob["digest"], _file_chunks(path))
        chain = json.loads(build.chain or "[]")
        self._pushing[repository.path] = [*chain, repository.path]
        try:
            result = await registry.put_manifest(caller, repo, build.docker_tag, content, media_type)
        finally:
            self._pushing.pop(repository.path, None)
        return result.digest

    # --- the background task -------------------------------------------------------------------------------
    def start(self) -> None:
        if self.concurrency > 0:
            self._background.start()

    async def stop(self) -> None:
        await self._background.stop()
        # A running build spends nearly all its time in its tools' thread, which a cancellation abandons; its
        # handler marks the build failed ("the server stopped") in a shielded write.
        running = list(self._running)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
