"""Names and addresses the SDK and the CLI share, in a module that imports nothing (the CLI reads these when it
builds its commands, before any command needs the SDK itself)."""

from __future__ import annotations

DOCKER_HUB_API = "https://hub.docker.com"
DOCKER_HUB_REGISTRY = "https://registry-1.docker.io"
DOCKER_HUB_AUTH = "https://auth.docker.io/token"
DOCKER_HUB_SERVICE = "registry.docker.io"
DVP_PATH = "/api/publisher/analytics/v1"
# hub-tool's probe for the pull rate limit: a HEAD of this repository's `latest` manifest.
RATE_LIMIT_PROBE = "ratelimitpreview/test"

TIMESPANS = ("months", "weeks")
PERIODS = ("last-2-months", "last-3-months", "last-6-months", "last-12-months")
GROUPS = ("repo", "namespace")
VIEWS = ("raw", "summary", "repo-summary", "namespace-summary")
MAX_REPOS = 50
