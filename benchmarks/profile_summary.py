"""Where Dockyard's time goes: summarise py-spy `--format raw` profiles by component.

    .venv/bin/python benchmarks/profile_summary.py PROFILE.txt [...]

`benchmarks/registry.py --profile DIR` writes such files (one per manifest HEAD run). Each sample is charged to
the innermost frame that belongs to a known component, so standard-library helpers (dataclass `__init__`, `time`,
`re`, `contextlib`) count for whoever called them. A second table gives inclusive shares of the functions on the
manifest HEAD path (a sample counts once per function however deep it recurses).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# (component, path prefixes) in the order they are tried against a frame's file.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("dockyard auth (token cache, Caller)", ("dockyard/registry/auth.py",)),
    ("PyJWT (token decode)", ("jwt/",)),
    ("dockyard event publishing", ("dockyard/events.py", "dockyard/registry/events.py")),
    ("dockyard analytics", ("dockyard/analytics/",)),
    ("dockyard manifest cache", ("dockyard/registry/cache.py",)),
    ("dockyard registry service", ("dockyard/registry/service.py",)),
    ("dockyard registry routes", ("dockyard/registry/routes.py", "dockyard/registry/errors.py")),
    ("dockyard Accept/name parsing", ("dockyard/registry/mediatypes.py", "dockyard/registry/references.py")),
    ("dockyard client_ip", ("dockyard/http.py",)),
    ("dockyard db sessions", ("dockyard/db/",)),
    ("dockyard (other)", ("dockyard/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("aiosqlite / sqlite3", ("aiosqlite/", "sqlite3/")),
    ("Starlette routing", ("starlette/routing.py", "starlette/convertors.py")),
    ("Starlette middleware", ("starlette/middleware/", "starlette/_exception_handler.py", "starlette/applications.py")),
    ("Starlette request/response", ("starlette/",)),
    ("FastAPI", ("fastapi/",)),
    ("uvicorn httptools protocol", ("uvicorn/protocols/http/httptools_impl.py", "httptools/")),
    ("uvicorn h11 protocol", ("uvicorn/protocols/http/h11_impl.py", "h11/")),
    ("uvicorn (other)", ("uvicorn/",)),
    ("granian", ("granian/",)),
    ("event loop (asyncio/uvloop)", ("asyncio/", "uvloop/")),
    ("anyio / threads", ("anyio/", "threading.py", "concurrent/")),
]
# Functions on the manifest HEAD path whose inclusive share is worth knowing.
FUNCTIONS = [
    "RequestResponseCycle.run_asgi",
    "HttpToolsProtocol.data_received",
    "HttpToolsProtocol.on_headers_complete",
    "RequestResponseCycle.send",
    "Router.__call__",
    "RegistryRoute.matches",
    "Route.matches",
    "ServerErrorMiddleware.__call__",
    "endpoint.<locals>.run",
    "RegistryAuth.caller",
    "RegistryAuth._verify_token",
    "RegistryAuth.require",
    "client_ip",
    "manifest",
    "parse_accept",
    "RegistryService.get_manifest",
    "ManifestCache.get",
    "RegistryService._lookup_manifest",
    "RegistryStore.manifest_row",
    "EventBus.publish",
    "utcnow",
    "Response.__init__",
    "Response.__call__",
]
FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*?)(?::\d+)?\)$")


def parse(path: Path) -> list[tuple[list[str], int]]:
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    return samples


def component(frames: list[str]) -> str:
    for frame in reversed(frames):
        match = FRAME_RE.match(frame)
        if not match:
            continue
        file = match.group("file")
        for name, prefixes in COMPONENTS:
            if any(prefix in file for prefix in prefixes):
                return name
    return "other (stdlib, native, unattributed)"


def summarise(path: Path) -> str:
    samples = parse(path)
    total = sum(count for _, count in samples)
    if not total:
        return f"{path}: no samples"
    threads: Counter[str] = Counter()
    components: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in samples:
        thread = next((f.split(": ", 1)[-1] for f in frames if f.startswith("thread (")), "?")
        threads["MainThread" if thread == "MainThread" else "other threads (aiosqlite, anyio)"] += count
        components[component(frames)] += count
        names = {m.group("func") for m in map(FRAME_RE.match, frames) if m}
        for function in FUNCTIONS:
            if function in names:
                inclusive[function] += count
    lines = [f"{path.name}: {total} samples (non-idle, all threads)"]
    lines += [f"  {share(n, total)}  {name}" for name, n in threads.most_common()]
    lines.append("  self time by component (stdlib helpers charged to their caller):")
    lines += [f"    {share(n, total)}  {name}" for name, n in components.most_common()]
    lines.append("  inclusive time of functions on the HEAD path:")
    lines += [f"    {share(inclusive[f], total)}  {f}" for f in FUNCTIONS if inclusive[f]]
    return "\n".join(lines)


def share(count: int, total: int) -> str:
    return f"{100 * count / total:5.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.profiles:
        print(summarise(path))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
