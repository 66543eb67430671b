"""User-agent strings of registry clients -> (tool, version), by an ordered table of rules.

The first rule that matches wins, so specific rules come before the generic ones they would otherwise lose to
(cosign and crane before go-containerregistry, docker before the `name/version` fallback). A registry sees few
distinct user agents, so results are cached per distinct string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Stored user agents are cut to this length (by capture's `encoded`): the column is a grouping dimension, not a
# place for arbitrary text.
MAX_USER_AGENT = 512
MAX_VERSION = 64
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class UserAgent:
    tool: str
    version: str | None
    # What a docker daemon passes through from the API client that asked for the pull (moby#21306), when known.
    upstream: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    tool: str
    pattern: re.Pattern[str]


def _rule(tool: str, pattern: str) -> Rule:
    # Every pattern captures the version as the group "v" (optional: some clients send none).
    return Rule(tool, re.compile(pattern, re.IGNORECASE))


_V = r"v?(?P<v>[0-9][\w.+~-]*)"

RULES: tuple[Rule, ...] = (
    # Docker Engine: `docker/24.0.2 go/go1.20.4 git-commit/… os/linux arch/amd64 UpstreamClient(Docker-Client/…)`.
    _rule("docker", rf"^docker/(?:{_V}|(?P<dev>dev)\b)"),
    _rule("docker", rf"^Docker-Client/{_V}"),
    _rule("docker-scout", rf"^docker-scout/{_V}"),
    # containerd (ctr, nerdctl, k3s, and dockerd < 24 with the containerd image store).
    _rule("containerd", rf"^containerd/{_V}"),
    _rule("cri-o", rf"^cri-o/{_V}"),
    _rule("buildkit", rf"^buildkit/{_V}"),
    # containers/image and the tools on it: older releases sent the tool's own name.
    _rule("containers-image", rf"^containers/{_V}(?: \(github\.com/containers/image\))?"),
    _rule("skopeo", rf"^skopeo/{_V}"),
    _rule("buildah", rf"^buildah/{_V}"),
    _rule("podman", rf"^(?:podman|libpod)/{_V}"),
    # go-containerregistry appends its own token to its users' agents, so its users are matched first.
    _rule("cosign", rf"^cosign/{_V}"),
    _rule("crane", rf"^crane/{_V}"),
    _rule("ko", rf"^ko/{_V}"),
    _rule("kaniko", rf"^kaniko/{_V}"),
    _rule("go-containerregistry", rf"^go-containerregistry/{_V}"),
    _rule("oras", rf"^oras(?:-go)?/{_V}"),
    _rule("helm", rf"^helm/{_V}"),
    _rule("flux", rf"^(?:flux|source-controller)/{_V}"),
    _rule("watchtower", rf"^watchtower/{_V}"),
    _rule("renovate", rf"^renovate(?:bot)?/{_V}"),
    _rule("diun", rf"^diun/{_V}"),
    _rule("argocd-image-updater", rf"^argocd-image-updater/{_V}"),
    _rule("regclient", rf"^regclient/regclient \({_V}\)"),
    _rule("regclient", rf"^(?:regclient|regctl|regsync|regbot)/{_V}"),
    _rule("trivy", rf"^trivy/{_V}"),
    _rule("syft", rf"^syft/{_V}"),
    _rule("grype", rf"^grype/{_V}"),
    _rule("harbor", rf"^harbor(?:-registry-client)?(?:/{_V})?"),
    _rule("artifactory", rf"^artifactory/{_V}"),
    _rule("nexus", rf"^nexus/{_V}"),
    _rule("docker-registry", rf"^docker-distribution/{_V}"),
    _rule("python-requests", rf"^python-requests/{_V}"),
    _rule("python-httpx", rf"^python-httpx/{_V}"),
    _rule("aiohttp", rf"^python/[\d.]+ aiohttp/{_V}"),
    _rule("go-http-client", rf"^go-http-client/{_V}"),
    _rule("curl", rf"^curl/{_V}"),
    _rule("wget", rf"^wget/{_V}"),
    _rule("node-fetch", rf"^node-fetch(?:/{_V})?"),
    _rule("axios", rf"^axios/{_V}"),
    _rule("okhttp", rf"^okhttp/{_V}"),
    _rule("java", rf"^java/{_V}"),
    _rule("apache-httpclient", rf"^apache-httpclient/{_V}"),
    _rule("browser", r"^mozilla/\d"),
)

# Anything else of the form `name/version`: keep the name, so new clients show up without a code change.
_GENERIC = re.compile(r"^(?P<tool>[A-Za-z][\w.+-]{0,47})/" + _V)
_DOCKER_CLIENT = re.compile(r"^Docker-Client/" + _V)
_UPSTREAM = re.compile(r"UpstreamClient\((?P<up>[^()]*(?:\([^()]*\))?[^()]*)\)")


@lru_cache(maxsize=8192)
def parse(user_agent: str) -> UserAgent:
    """The tool and version a user agent names; tool "unknown" (version None) when nothing matches."""
    text = user_agent.strip()
    for rule in RULES:
        match = rule.pattern.match(text)
        if match is None:
            continue
        version = match.groupdict().get("v") or match.groupdict().get("dev")
        if rule.tool != "docker":
            return UserAgent(rule.tool, _version(version))
        upstream = _upstream(text)
        # A development build of the daemon says "dev"; the CLI that asked for the pull still has a release.
        client = _DOCKER_CLIENT.match(upstream or "")
        if version == "dev" and client is not None:
            version = client.group("v")
        return UserAgent(rule.tool, _version(version), upstream)
    generic = _GENERIC.match(text)
    if generic is not None:
        return UserAgent(generic.group("tool").lower(), _version(generic.group("v")))
    return UserAgent(UNKNOWN, None)


def _version(value: str | None) -> str | None:
    return value[:MAX_VERSION] if value else None


def _upstream(text: str) -> str | None:
    match = _UPSTREAM.search(text)
    if match is None:
        return None
    # Docker escapes the parentheses of the client's own agent: `Docker-Client/24.0.2 \(linux\)`.
    return match.group("up").replace("\\(", "(").replace("\\)", ")").replace("\\", "").strip() or None
