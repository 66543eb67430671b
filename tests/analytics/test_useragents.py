"""User-agent parsing against real strings, seen in registry logs, client source and issue threads."""

from __future__ import annotations

import pytest

from dockyard.analytics.useragents import parse

# (user agent verbatim, tool, version, upstream client)
REAL_USER_AGENTS: list[tuple[str, str, str | None, str | None]] = [
    # docker pull of nginx, from a public nginx access log (HEAD by tag, then GET by digest)
    (
        "docker/24.0.2 go/go1.20.4 git-commit/659604f kernel/5.4.0-169-generic os/linux arch/amd64 "
        "UpstreamClient(Docker-Client/24.0.2 \\(linux\\))",
        "docker",
        "24.0.2",
        "Docker-Client/24.0.2 (linux)",
    ),
    # moby/moby#45669: a dev build with the containerd image store
    (
        "docker/dev go/go1.20.4 git-commit/8d67d0c1a8 kernel/5.15.49-linuxkit-pr os/linux arch/arm64 "
        "UpstreamClient(Docker-Client/24.0.2 \\(linux\\))",
        "docker",
        "24.0.2",
        "Docker-Client/24.0.2 (linux)",
    ),
    # bufbuild/buf#1678: the API client's agent passed through by the daemon
    (
        "docker/20.10.21 go/go1.18.7 git-commit/3056208 kernel/5.15.49-linuxkit os/linux arch/arm64 "
        "UpstreamClient(buf-cli-1.11.0-dev)",
        "docker",
        "20.10.21",
        "buf-cli-1.11.0-dev",
    ),
    # ACR webhook documentation
    (
        "docker/18.03.0-ce go/go1.9.4 git-commit/0520e24 os/windows arch/amd64 "
        "UpstreamClient(Docker-Client/18.03.0-ce \\(windows\\))",
        "docker",
        "18.03.0-ce",
        "Docker-Client/18.03.0-ce (windows)",
    ),
    ("docker/1.13.1 go/go1.7.5 git-commit/092cba3 kernel/4.9.0 os/linux arch/amd64", "docker", "1.13.1", None),
    ("containerd/v1.7.2", "containerd", "1.7.2", None),
    ("containerd/1.6.21+unknown", "containerd", "1.6.21+unknown", None),
    ("containerd/v1.6.19-k3s1", "containerd", "1.6.19-k3s1", None),
    ("containerd/v1.7.31 cri/Distribution", "containerd", "1.7.31", None),
    ("cri-o/1.28.1 go/go1.20.10 os/linux arch/amd64", "cri-o", "1.28.1", None),
    ("buildkit/v0.12", "buildkit", "0.12", None),
    ("buildkit/v0.28", "buildkit", "0.28", None),
    ("containers/5.29.2 (github.com/containers/image)", "containers-image", "5.29.2", None),
    ("containers/5.39.2 (github.com/containers/image)", "containers-image", "5.39.2", None),
    ("skopeo/1.9.3", "skopeo", "1.9.3", None),
    ("Buildah/1.28.2 (linux/amd64)", "buildah", "1.28.2", None),
    ("libpod/4.3.1", "podman", "4.3.1", None),
    ("crane/v0.19.0 go-containerregistry/v0.19.0", "crane", "0.19.0", None),
    ("cosign/v2.2.4 (linux; amd64) go-containerregistry/v0.19.1", "cosign", "2.2.4", None),
    ("go-containerregistry/v0.20.3", "go-containerregistry", "0.20.3", None),
    ("ko/v0.15.1 go-containerregistry/v0.19.0", "ko", "0.15.1", None),
    ("oras/1.1.0+Homebrew (darwin/arm64)", "oras", "1.1.0+Homebrew", None),
    ("Helm/3.14.0", "helm", "3.14.0", None),
    ("Watchtower/v1.7.1", "watchtower", "1.7.1", None),
    ("RenovateBot/37.100.0 (https://github.com/renovatebot/renovate)", "renovate", "37.100.0", None),
    ("regclient/regclient (v0.5.0)", "regclient", "0.5.0", None),
    ("diun/4.28.0 go/go1.22.1 (linux/amd64)", "diun", "4.28.0", None),
    ("argocd-image-updater/v0.12.2 (linux/amd64)", "argocd-image-updater", "0.12.2", None),
    ("Trivy/0.50.1", "trivy", "0.50.1", None),
    # python-dxf and oras-py both send requests' default agent
    ("python-requests/2.34.2", "python-requests", "2.34.2", None),
    ("python-httpx/0.28.1", "python-httpx", "0.28.1", None),
    # the OCI conformance suite, vmware/vic#2934's imagec
    ("Go-http-client/1.1", "go-http-client", "1.1", None),
    ("curl/7.88.1", "curl", "7.88.1", None),
    ("Wget/1.21.3", "wget", "1.21.3", None),
    ("Artifactory/7.77.5 77705900", "artifactory", "7.77.5", None),
    ("Nexus/3.61.0-02 (PRO; Linux; amd64)", "nexus", "3.61.0-02", None),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "node-fetch", "1.0", None),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "browser", None, None),
    # no rule: the generic name/version fallback keeps new clients visible
    ("kubectl-image-scan/2.3.4 (linux)", "kubectl-image-scan", "2.3.4", None),
    ("", "unknown", None, None),
    ("   ", "unknown", None, None),
    ("some client without a version", "unknown", None, None),
]


@pytest.mark.parametrize(("raw", "tool", "version", "upstream"), REAL_USER_AGENTS, ids=lambda v: str(v)[:40])
def test_real_user_agents(raw: str, tool: str, version: str | None, upstream: str | None) -> None:
    parsed = parse(raw)
    assert (parsed.tool, parsed.version, parsed.upstream) == (tool, version, upstream)


def test_specific_rules_come_before_the_libraries_they_embed() -> None:
    assert parse("cosign/v2.2.4 (linux; amd64) go-containerregistry/v0.19.1").tool == "cosign"
    assert parse("go-containerregistry/v0.19.1 cosign/v2.2.4").tool == "go-containerregistry"


def test_results_are_cached_per_distinct_string() -> None:
    parse.cache_clear()
    for _ in range(100):
        parse("containerd/v1.7.2")
    info = parse.cache_info()
    assert (info.misses, info.hits) == (1, 99)


def test_versions_of_long_agents_are_bounded() -> None:
    # Stored agents are clipped by capture (tests/analytics/test_event_writer.py); parse takes any length.
    parsed = parse("docker/" + "1" * 5000)
    assert parsed.tool == "docker" and parsed.version is not None and len(parsed.version) <= 64
