"""buildah and podman against the running server, with vfs storage and all configuration in temporary directories.

buildah builds images from scratch and pushes them (alone, and as a multi-arch list with `manifest push --all`);
podman, with a storage of its own, pulls them back, anonymously, as a fresh client would.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN, ADMIN_CREDS
from tests.support.clients import HOST_ARCH, ContainerTools, RegistryHTTP
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> ContainerTools:
    return ContainerTools(tmp_path_factory.mktemp("buildah"))


@pytest.fixture
def puller(tmp_path: Path) -> Iterator[ContainerTools]:
    """podman with an empty storage of its own, so every pull really comes from the server."""
    yield ContainerTools(tmp_path / "podman")


def build(builder: ContainerTools, name: str, content: str, *, arch: str = "amd64", variant: str = "") -> None:
    """`buildah from scratch`, copy one file in, set the platform and a label, commit as localhost/<name>."""
    policy = str(builder.policy)
    container = builder.buildah("from", "--signature-policy", policy, "--name", f"{name}-work", "scratch").stdout
    container = container.strip()
    source = builder.root / f"{name}.txt"
    source.write_text(content)
    builder.buildah("copy", container, str(source), "/hello.txt")
    config = ["config", "--arch", arch, "--os", "linux", "--label", f"dockyard.test={name}"]
    if variant:
        config += ["--variant", variant]
    builder.buildah(*config, container)
    builder.buildah("commit", "--signature-policy", policy, "--rm", container, f"localhost/{name}:v1")


def layer_files(http: RegistryHTTP, repo: str, manifest: dict[str, object]) -> dict[str, bytes]:
    """Every regular file in the image's layers, read back from the server's blobs."""
    files: dict[str, bytes] = {}
    for layer in manifest["layers"]:  # type: ignore[attr-defined]
        response = http.blob(repo, layer["digest"])
        assert response.status_code == 200
        data = response.content
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files[member.name.lstrip("./")] = extracted.read()
    return files


def test_buildah_build_and_push_then_podman_pull(
    builder: ContainerTools,
    puller: ContainerTools,
    server: DockyardServer,
    admin_http: RegistryHTTP,
    tmp_path: Path,
    unique: str,
) -> None:
    name = f"bld-{unique}"
    build(builder, name, f"built by buildah {unique}\n")
    repo = f"{ADMIN}/{name}"
    digest_file = tmp_path / "digest"
    builder.buildah(
        "push",
        "--signature-policy",
        str(builder.policy),
        "--tls-verify=false",
        "--creds",
        ADMIN_CREDS,
        "--digestfile",
        str(digest_file),
        f"localhost/{name}:v1",
        f"docker://{server.address}/{repo}:v1",
    )
    pushed_digest = digest_file.read_text().strip()

    response = admin_http.manifest(repo, "v1")
    assert response.status_code == 200
    assert response.headers["docker-content-digest"] == pushed_digest
    manifest = response.json()
    config = json.loads(admin_http.blob(repo, manifest["config"]["digest"]).content)
    assert config["architecture"] == "amd64"
    assert config["config"]["Labels"]["dockyard.test"] == name
    assert layer_files(admin_http, repo, manifest) == {"hello.txt": f"built by buildah {unique}\n".encode()}

    policy = str(puller.policy)
    puller.podman("pull", "--signature-policy", policy, "--tls-verify=false", f"{server.address}/{repo}:v1")
    inspected = json.loads(puller.podman("image", "inspect", f"{server.address}/{repo}:v1").stdout)[0]
    assert inspected["Digest"] == pushed_digest
    assert inspected["Labels"]["dockyard.test"] == name

    # By digest too, and a missing tag is an error rather than something else.
    puller.podman(
        "pull", "--signature-policy", policy, "--tls-verify=false", f"{server.address}/{repo}@{pushed_digest}"
    )
    missing = puller.podman(
        "pull", "--signature-policy", policy, "--tls-verify=false", f"{server.address}/{repo}:nope", check=False
    )
    assert missing.returncode != 0
    assert "manifest unknown" in missing.stderr.lower()


def test_podman_push_mounts_from_another_repository(
    builder: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, unique: str
) -> None:
    name = f"mnt-{unique}"
    build(builder, name, f"mounted {unique}\n")
    source, target = f"{ADMIN}/{name}", f"{ADMIN}/{name}-copy"
    policy = str(builder.policy)
    for repo in (source, target):
        builder.podman(
            "push",
            "--signature-policy",
            policy,
            "--tls-verify=false",
            "--creds",
            ADMIN_CREDS,
            f"localhost/{name}:v1",
            f"docker://{server.address}/{repo}:v1",
        )
    original = admin_http.manifest(source, "v1").json()
    copied = admin_http.manifest(target, "v1").json()
    assert copied["layers"] == original["layers"]
    assert admin_http.missing_blobs(target, [layer["digest"] for layer in copied["layers"]]) == []


def test_buildah_manifest_push_all(
    builder: ContainerTools,
    puller: ContainerTools,
    server: DockyardServer,
    admin_http: RegistryHTTP,
    unique: str,
) -> None:
    policy = str(builder.policy)
    platforms = {"amd64": "", "arm64": "v8"}
    for arch, variant in platforms.items():
        build(builder, f"list-{unique}-{arch}", f"{arch} {unique}\n", arch=arch, variant=variant)
    local_list = f"localhost/list-{unique}:v1"
    builder.buildah("manifest", "create", local_list)
    for arch in platforms:
        builder.buildah("manifest", "add", local_list, f"containers-storage:localhost/list-{unique}-{arch}:v1")
    repo = f"{ADMIN}/list-{unique}"
    builder.buildah(
        "manifest",
        "push",
        "--all",
        "--signature-policy",
        policy,
        "--tls-verify=false",
        "--creds",
        ADMIN_CREDS,
        local_list,
        f"docker://{server.address}/{repo}:v1",
    )

    response = admin_http.manifest(repo, "v1")
    assert response.status_code == 200
    assert response.headers["content-type"] in INDEX_TYPES
    index = response.json()
    found = {entry["platform"]["architecture"]: entry for entry in index["manifests"]}
    assert set(found) == set(platforms)
    assert found["arm64"]["platform"].get("variant") == "v8"
    configs = {}
    for arch, entry in found.items():
        child = admin_http.manifest(repo, entry["digest"])
        assert child.status_code == 200, arch
        manifest = child.json()
        assert layer_files(admin_http, repo, manifest) == {"hello.txt": f"{arch} {unique}\n".encode()}
        configs[arch] = manifest["config"]["digest"]
        config = json.loads(admin_http.blob(repo, configs[arch]).content)
        assert config["architecture"] == arch
    assert admin_http.tags(repo) == ["v1"]

    puller.podman("pull", "--signature-policy", str(puller.policy), "--tls-verify=false", f"{server.address}/{repo}:v1")
    inspected = json.loads(puller.podman("image", "inspect", f"{server.address}/{repo}:v1").stdout)[0]
    assert inspected["Architecture"] == HOST_ARCH
    assert inspected["Digest"] == response.headers["docker-content-digest"]
    assert "sha256:" + inspected["Id"] == configs[HOST_ARCH]


def test_podman_login(puller: ContainerTools, server: DockyardServer) -> None:
    authfile = puller.root / "podman-auth.json"
    wrong = puller.podman(
        "login",
        "--tls-verify=false",
        "--authfile",
        str(authfile),
        "--username",
        ADMIN,
        "--password-stdin",
        server.address,
        input="wrong-password\n",
        check=False,
    )
    assert wrong.returncode != 0
    result = puller.podman(
        "login",
        "--tls-verify=false",
        "--authfile",
        str(authfile),
        "--username",
        ADMIN,
        "--password-stdin",
        server.address,
        input=ADMIN_PASSWORD + "\n",
    )
    assert "Login Succeeded" in result.stdout
    assert server.address in json.loads(authfile.read_text())["auths"]
