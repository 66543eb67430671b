"""Real registry clients, run in isolation, and a small HTTP helper for checking what the server holds.

`ContainerTools` runs skopeo, buildah and podman with every piece of configuration they read or write pointed into
one temporary directory: storage (vfs driver), containers.conf, registries.conf, the signature policy, the auth
file, HOME, the XDG directories and TMPDIR. Nothing on the host is read for configuration or changed, except the
blob-info cache that containers/image keeps for root in /var/lib/containers/cache, which has no setting.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

TOOL_TIMEOUT = 300.0
ACCEPT_ALL = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
# The architecture clients pick from a multi-arch image on this machine, in OCI's words.
HOST_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "amd64")
_CLEARED_ENV_PREFIXES = ("CONTAINERS_", "REGISTRY_AUTH_FILE", "BUILDAH_", "STORAGE_", "XDG_", "DOCKER_")


def require_tool(name: str) -> str:
    """The path of a client the tests need; a test failure (not a skip) when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run ./scripts/setup.sh --test", pytrace=False)
    return found


class ContainerTools:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        dirs = {
            name: self.root / name for name in ("home", "config", "data", "cache", "run", "tmp", "networks", "libpod")
        }
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        dirs["run"].chmod(0o700)
        self.storage_conf = self.root / "storage.conf"
        self.storage_conf.write_text(
            "[storage]\n"
            'driver = "vfs"\n'
            f'graphroot = "{self.root / "storage"}"\n'
            f'runroot = "{self.root / "storage-run"}"\n'
        )
        self.containers_conf = self.root / "containers.conf"
        self.containers_conf.write_text(
            "[engine]\n"
            f'tmp_dir = "{dirs["libpod"]}"\n'
            f'volume_path = "{self.root / "volumes"}"\n'
            f'static_dir = "{self.root / "libpod-static"}"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "none"\n'
            "[network]\n"
            f'network_config_dir = "{dirs["networks"]}"\n'
        )
        self.registries_conf = self.root / "registries.conf"
        self.registries_conf.write_text('unqualified-search-registries = []\nshort-name-mode = "disabled"\n')
        self.policy = self.root / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        (dirs["config"] / "containers").mkdir(exist_ok=True)
        shutil.copyfile(self.policy, dirs["config"] / "containers" / "policy.json")
        self.auth_file = self.root / "auth.json"
        self.auth_file.write_text(json.dumps({"auths": {}}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_ENV_PREFIXES)}
        env.update(
            {
                "HOME": str(dirs["home"]),
                "XDG_CONFIG_HOME": str(dirs["config"]),
                "XDG_DATA_HOME": str(dirs["data"]),
                "XDG_CACHE_HOME": str(dirs["cache"]),
                "XDG_RUNTIME_DIR": str(dirs["run"]),
                "TMPDIR": str(dirs["tmp"]),
                "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
                "CONTAINERS_CONF": str(self.containers_conf),
                "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
                "REGISTRY_AUTH_FILE": str(self.auth_file),
            }
        )
        self.env = env

    def run(
        self, tool: str, *args: str, check: bool = True, input: str | None = None, timeout: float = TOOL_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        executable = require_tool(tool)
        result = subprocess.run(
            [executable, *args],
            env=self.env,
            cwd=self.root,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{tool} {' '.join(args)} exited with {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
                pytrace=False,
            )
        return result

    def skopeo(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run("skopeo", "--policy", str(self.policy), *args, **kwargs)

    def buildah(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run("buildah", *args, **kwargs)

    def podman(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run("podman", *args, **kwargs)


# --- HTTP ------------------------------------------------------------------------------------------------------
def anonymous_headers(base_url: str, repository: str, actions: str = "pull") -> dict[str, str]:
    """A bearer token for an anonymous caller, from the server's /token service."""
    response = httpx.get(
        f"{base_url}/token", params={"service": "dockyard", "scope": f"repository:{repository}:{actions}"}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


class RegistryHTTP:
    """Plain HTTP against /v2 with Basic credentials (the registry accepts them on every request)."""

    def __init__(self, base_url: str, username: str | None, password: str | None) -> None:
        auth = httpx.BasicAuth(username, password) if username is not None and password is not None else None
        self.client = httpx.Client(base_url=base_url, auth=auth, timeout=60)

    def close(self) -> None:
        self.client.close()

    def manifest(self, repository: str, reference: str, *, accept: str = ACCEPT_ALL) -> httpx.Response:
        return self.client.get(f"/v2/{repository}/manifests/{reference}", headers={"Accept": accept})

    def head_manifest(self, repository: str, reference: str, *, accept: str = ACCEPT_ALL) -> httpx.Response:
        return self.client.head(f"/v2/{repository}/manifests/{reference}", headers={"Accept": accept})

    def blob(self, repository: str, digest: str) -> httpx.Response:
        return self.client.get(f"/v2/{repository}/blobs/{digest}")

    def head_blob(self, repository: str, digest: str) -> httpx.Response:
        return self.client.head(f"/v2/{repository}/blobs/{digest}")

    def tags(self, repository: str) -> list[str]:
        response = self.client.get(f"/v2/{repository}/tags/list")
        response.raise_for_status()
        return list(response.json()["tags"])

    def missing_blobs(self, repository: str, digests: Iterable[str]) -> list[str]:
        return [d for d in digests if self.head_blob(repository, d).status_code != 200]
