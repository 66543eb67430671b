"""skopeo against the running server: push, pull (by tag, by digest, multi-arch), inspect, list-tags, delete, login.

Images come from tests.support.layout, so every byte skopeo pushes is known and what comes back can be compared
byte for byte. Pulls run without credentials: repositories are public, and anonymous pull must work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN, ADMIN_CREDS
from tests.support.clients import HOST_ARCH, ContainerTools, RegistryHTTP
from tests.support.layout import DOCKER, ImageLayout, Platform
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e


def push(tools: ContainerTools, source: str, dest: str, *extra: str, creds: str | None = ADMIN_CREDS) -> None:
    args = ["copy", "--dest-tls-verify=false", *extra]
    if creds:
        args += ["--dest-creds", creds]
    tools.skopeo(*args, source, dest)


def pull(tools: ContainerTools, source: str, dest: str, *extra: str) -> None:
    tools.skopeo("copy", "--src-tls-verify=false", "--src-no-creds", *extra, source, dest)


def test_push_by_tag_then_pull_by_tag_and_by_digest_anonymously(
    tools: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str
) -> None:
    layout = ImageLayout(tmp_path / "src")
    image = layout.add_image("v1", label=f"push-{unique}")
    repo = f"{ADMIN}/push-{unique}"

    push(tools, layout.ref("v1"), f"docker://{server.address}/{repo}:v1")

    response = admin_http.manifest(repo, "v1")
    assert response.status_code == 200
    assert response.content == image.manifest_bytes
    assert response.headers["docker-content-digest"] == image.digest
    assert admin_http.missing_blobs(repo, image.blob_digests) == []

    for name, source in {
        "by-tag": f"docker://{server.address}/{repo}:v1",
        "by-digest": f"docker://{server.address}/{repo}@{image.digest}",
    }.items():
        pulled = ImageLayout(tmp_path / name)
        pull(tools, source, pulled.ref("pulled"))
        pulled.reload()
        assert pulled.descriptor("pulled")["digest"] == image.digest
        assert pulled.blob(image.digest) == image.manifest_bytes
        for digest in image.blob_digests:
            assert pulled.blob(digest) == layout.blob(digest), f"{name}: {digest} differs"


def test_anonymous_push_is_refused(tools: ContainerTools, server: DockyardServer, tmp_path: Path, unique: str) -> None:
    layout = ImageLayout(tmp_path / "src")
    layout.add_image("v1", label=f"anon-{unique}")
    result = tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-no-creds",
        layout.ref("v1"),
        f"docker://{server.address}/{ADMIN}/anon-{unique}:v1",
        check=False,
    )
    assert result.returncode != 0
    assert "unauthorized" in result.stderr.lower() or "authentication required" in result.stderr.lower()


def test_multi_arch_push_all_and_pull(
    tools: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str
) -> None:
    layout = ImageLayout(tmp_path / "src")
    index = layout.add_index("multi", label=f"multi-{unique}")
    repo = f"{ADMIN}/multi-{unique}"

    push(tools, layout.ref("multi"), f"docker://{server.address}/{repo}:multi", "--all")

    raw = tools.skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{server.address}/{repo}:multi").stdout
    assert raw.encode() == index.index_bytes
    for child in index.children:
        response = admin_http.manifest(repo, child.digest)
        assert response.status_code == 200, child.platform
        assert response.content == child.manifest_bytes
        assert admin_http.missing_blobs(repo, child.blob_digests) == []
    # The children were pushed by digest only.
    assert admin_http.tags(repo) == ["multi"]

    everything = ImageLayout(tmp_path / "all")
    pull(tools, f"docker://{server.address}/{repo}:multi", everything.ref("multi"), "--all")
    everything.reload()
    assert everything.descriptor("multi")["digest"] == index.digest
    assert everything.blob(index.digest) == index.index_bytes
    for child in index.children:
        assert everything.blob(child.digest) == child.manifest_bytes
        for digest in child.blob_digests:
            assert everything.has_blob(digest), (child.platform, digest)

    host = ImageLayout(tmp_path / "host")
    pull(tools, f"docker://{server.address}/{repo}:multi", host.ref("host"))
    host.reload()
    wanted = index.child(HOST_ARCH)
    assert host.descriptor("host")["digest"] == wanted.digest
    assert host.blob(wanted.digest) == wanted.manifest_bytes
    others = [c for c in index.children if c is not wanted]
    assert all(not host.has_blob(c.digest) and not host.has_blob(c.config.digest) for c in others)

    arm = ImageLayout(tmp_path / "arm")
    tools.skopeo(
        "--override-arch",
        "arm64",
        "--override-variant",
        "v8",
        "copy",
        "--src-tls-verify=false",
        "--src-no-creds",
        f"docker://{server.address}/{repo}@{index.digest}",
        arm.ref("arm"),
    )
    arm.reload()
    assert arm.descriptor("arm")["digest"] == index.child("arm64").digest


def test_push_without_all_sends_only_the_host_image(
    tools: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str
) -> None:
    layout = ImageLayout(tmp_path / "src")
    index = layout.add_index("multi", label=f"single-{unique}")
    repo = f"{ADMIN}/hostonly-{unique}"
    push(tools, layout.ref("multi"), f"docker://{server.address}/{repo}:multi")
    wanted = index.child(HOST_ARCH)
    response = admin_http.manifest(repo, "multi")
    assert response.status_code == 200
    assert response.content == wanted.manifest_bytes
    assert admin_http.manifest(repo, index.digest).status_code == 404


def test_inspect(
    tools: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str
) -> None:
    layout = ImageLayout(tmp_path / "src")
    image = layout.add_image("v1", label=f"inspect-{unique}", platform=Platform("arm64", variant="v8"))
    repo = f"{ADMIN}/inspect-{unique}"
    push(tools, layout.ref("v1"), f"docker://{server.address}/{repo}:v1")
    push(tools, layout.ref("v1"), f"docker://{server.address}/{repo}:also")
    ref = f"docker://{server.address}/{repo}:v1"

    info = json.loads(tools.skopeo("inspect", "--tls-verify=false", ref).stdout)
    assert info["Digest"] == image.digest
    assert sorted(info["RepoTags"]) == ["also", "v1"]
    assert info["Architecture"] == "arm64"
    assert info["Os"] == "linux"
    assert info["Labels"] == {"dockyard.test": f"inspect-{unique}"}
    assert info["Layers"] == [layer.digest for layer in image.layers]

    by_digest = json.loads(
        tools.skopeo(
            "inspect", "--tls-verify=false", "--no-tags", f"docker://{server.address}/{repo}@{image.digest}"
        ).stdout
    )
    assert by_digest["Digest"] == image.digest

    raw = tools.skopeo("inspect", "--tls-verify=false", "--raw", ref).stdout
    assert raw.encode() == image.manifest_bytes

    config_raw = tools.skopeo("inspect", "--tls-verify=false", "--config", "--raw", ref).stdout
    assert config_raw.encode() == image.config_bytes
    config = json.loads(tools.skopeo("inspect", "--tls-verify=false", "--config", ref).stdout)
    assert config["architecture"] == "arm64"
    assert config["rootfs"]["diff_ids"] == json.loads(image.config_bytes)["rootfs"]["diff_ids"]

    missing = tools.skopeo("inspect", "--tls-verify=false", f"docker://{server.address}/{repo}:nope", check=False)
    assert missing.returncode != 0
    assert "manifest unknown" in missing.stderr.lower()


def test_list_tags(tools: ContainerTools, server: DockyardServer, tmp_path: Path, unique: str) -> None:
    layout = ImageLayout(tmp_path / "src")
    layout.add_image("v1", label=f"tags-{unique}")
    repo = f"{ADMIN}/tags-{unique}"
    for tag in ("v1", "latest", "1.0.0"):
        push(tools, layout.ref("v1"), f"docker://{server.address}/{repo}:{tag}")
    listed = json.loads(tools.skopeo("list-tags", "--tls-verify=false", f"docker://{server.address}/{repo}").stdout)
    assert listed["Repository"] == f"{server.address}/{repo}"
    assert sorted(listed["Tags"]) == ["1.0.0", "latest", "v1"]

    unknown = tools.skopeo(
        "list-tags", "--tls-verify=false", f"docker://{server.address}/{ADMIN}/never-{unique}", check=False
    )
    assert unknown.returncode != 0


def test_delete_removes_every_tag_on_the_digest(
    tools: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str
) -> None:
    layout = ImageLayout(tmp_path / "src")
    doomed = layout.add_image("a", label=f"doomed-{unique}")
    kept = layout.add_image("c", label=f"kept-{unique}")
    repo = f"{ADMIN}/del-{unique}"
    for source, tag in (("a", "a"), ("a", "b"), ("c", "c")):
        push(tools, layout.ref(source), f"docker://{server.address}/{repo}:{tag}")
    assert sorted(admin_http.tags(repo)) == ["a", "b", "c"]

    anonymous = tools.skopeo(
        "delete", "--tls-verify=false", "--no-creds", f"docker://{server.address}/{repo}:a", check=False
    )
    assert anonymous.returncode != 0
    assert sorted(admin_http.tags(repo)) == ["a", "b", "c"]

    tools.skopeo("delete", "--tls-verify=false", "--creds", ADMIN_CREDS, f"docker://{server.address}/{repo}:a")

    assert admin_http.tags(repo) == ["c"]
    assert admin_http.manifest(repo, doomed.digest).status_code == 404
    assert admin_http.manifest(repo, "b").status_code == 404
    assert admin_http.manifest(repo, "c").content == kept.manifest_bytes
    gone = tools.skopeo("inspect", "--tls-verify=false", f"docker://{server.address}/{repo}:b", check=False)
    assert gone.returncode != 0


def test_docker_media_types(
    tools: ContainerTools, server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str
) -> None:
    layout = ImageLayout(tmp_path / "src")
    image = layout.add_image("v1", media=DOCKER, label=f"docker-{unique}")
    index = layout.add_index("list", media=DOCKER, label=f"dockerlist-{unique}")
    repo = f"{ADMIN}/docker-{unique}"

    # skopeo 1.9 reads only OCI media types from an OCI layout, so these go through its dir: format.
    push(tools, layout.export_dir(image, tmp_path / "image"), f"docker://{server.address}/{repo}:v1")
    push(tools, layout.export_dir(index, tmp_path / "list"), f"docker://{server.address}/{repo}:list", "--all")

    response = admin_http.manifest(repo, "v1", accept=DOCKER.manifest)
    assert response.status_code == 200
    assert response.headers["content-type"] == DOCKER.manifest
    assert response.content == image.manifest_bytes

    response = admin_http.manifest(repo, "list", accept=f"{DOCKER.index}, {DOCKER.manifest}")
    assert response.status_code == 200
    assert response.headers["content-type"] == DOCKER.index
    assert response.content == index.index_bytes
    for child in index.children:
        assert admin_http.manifest(repo, child.digest, accept=DOCKER.manifest).content == child.manifest_bytes

    info = json.loads(tools.skopeo("inspect", "--tls-verify=false", f"docker://{server.address}/{repo}:v1").stdout)
    assert info["Digest"] == image.digest
    pulled = tmp_path / "dir"
    tools.skopeo("copy", "--src-tls-verify=false", f"docker://{server.address}/{repo}:v1", f"dir:{pulled}")
    assert (pulled / "manifest.json").read_bytes() == image.manifest_bytes


def test_login(tools: ContainerTools, server: DockyardServer, tmp_path: Path, unique: str) -> None:
    authfile = tmp_path / "auth.json"
    wrong = tools.skopeo(
        "login",
        "--tls-verify=false",
        "--authfile",
        str(authfile),
        "--username",
        ADMIN,
        "--password-stdin",
        server.address,
        input="not-the-password\n",
        check=False,
    )
    assert wrong.returncode != 0
    assert server.address not in (json.loads(authfile.read_text()) if authfile.exists() else {}).get("auths", {})

    result = tools.skopeo(
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

    # The stored credentials push without --dest-creds.
    layout = ImageLayout(tmp_path / "src")
    image = layout.add_image("v1", label=f"login-{unique}")
    repo = f"{ADMIN}/login-{unique}"
    tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-authfile",
        str(authfile),
        layout.ref("v1"),
        f"docker://{server.address}/{repo}:v1",
    )
    info = json.loads(
        tools.skopeo(
            "inspect", "--tls-verify=false", "--authfile", str(authfile), f"docker://{server.address}/{repo}:v1"
        ).stdout
    )
    assert info["Digest"] == image.digest

    tools.skopeo("logout", "--authfile", str(authfile), server.address)
    assert server.address not in json.loads(authfile.read_text()).get("auths", {})
