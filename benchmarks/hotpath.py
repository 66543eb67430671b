"""The manifest HEAD hot path in process: what one request costs Dockyard's Python code, without a network.

    .venv/bin/python benchmarks/hotpath.py [--requests 20000]

Builds the app with `create_app` on a temp data directory, pushes a small image through the ASGI interface, takes
a bearer token from /token, then calls the app directly with `HEAD /v2/admin/hot/manifests/v1` (full Accept list,
the bearer token) many times and prints microseconds per request for a few configurations, each a set of
DOCKYARD_* variables (unknown ones are simply ignored by older revisions). It also times the analytics flush
that the background task would run later, per captured event. Pair it with `benchmarks/registry.py`, whose
figures include the HTTP server and the kernel.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
PASSWORD = "hotpath-admin-password"
BASIC = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
VARIANTS: list[tuple[str, dict[str, str]]] = [
    ("as configured (cache on, analytics capture on)", {}),
    ("analytics capture off", {"DOCKYARD_ANALYTICS_CAPTURE": "false"}),
    ("manifest cache off (database on every request)", {"DOCKYARD_MANIFEST_CACHE_SECONDS": "0"}),
]


async def call(
    app: Any, method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes = b"", query: str = ""
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 5000),
        "extensions": {},
        "state": {},
    }
    delivered = False
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    response_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    content = b"".join(m.get("body", b"") for m in messages[1:])
    return int(start["status"]), response_headers, content


def _digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


async def push_image(app: Any, repo: str) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    layer = os.urandom(1024)
    blobs = [config.encode(), layer]
    for blob in blobs:
        status, _, body = await call(
            app, "POST", f"/v2/{repo}/blobs/uploads/", [("authorization", BASIC)], blob, f"digest={_digest(blob)}"
        )
        if status != 201:
            raise RuntimeError(f"blob upload answered {status}: {body[:300]!r}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _digest(blobs[0]),
            "size": len(blobs[0]),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": _digest(layer),
                "size": len(layer),
            }
        ],
    }
    headers = [("authorization", BASIC), ("content-type", "application/vnd.oci.image.manifest.v1+json")]
    status, _, body = await call(app, "PUT", f"/v2/{repo}/manifests/v1", headers, json.dumps(manifest).encode())
    if status != 201:
        raise RuntimeError(f"manifest PUT answered {status}: {body[:300]!r}")


async def measure(env: dict[str, str], requests: int) -> tuple[float, float, float | None]:
    """(wall us/request, CPU us/request, deferred analytics flush us/event or None) for one configuration."""
    from dockyard.app import create_app
    from dockyard.config import Settings

    with tempfile.TemporaryDirectory(prefix="dockyard-hotpath-") as tmp:
        base = {
            "DOCKYARD_DATA_DIR": tmp,
            "DOCKYARD_ADMIN_PASSWORD": PASSWORD,
            "DOCKYARD_TOKEN_TTL_SECONDS": "86400",
            "DOCKYARD_LOG_LEVEL": "warning",
            "DOCKYARD_FSYNC": "false",
            "DOCKYARD_GC_INTERVAL_SECONDS": "0",
        }
        settings = Settings.from_env({**base, **env})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            repo = "admin/hot"
            await push_image(app, repo)
            status, _, body = await call(
                app, "GET", "/token", [("authorization", BASIC)], query=f"service=dockyard&scope=repository:{repo}:pull"
            )
            token = json.loads(body)["token"]
            headers = [("accept", ACCEPT), ("authorization", f"Bearer {token}"), ("user-agent", "hotpath/1")]
            path = f"/v2/{repo}/manifests/v1"
            for _ in range(200):
                status, _, _ = await call(app, "HEAD", path, headers)
            if status != 200:
                raise RuntimeError(f"HEAD answered {status}")
            capture = getattr(getattr(app.state, "services", None), "capture", None)
            if capture is not None:
                with contextlib.suppress(Exception):
                    await capture.flush()
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(requests):
                await call(app, "HEAD", path, headers)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            flush_us = None
            if capture is not None:
                started = time.perf_counter()
                written = await capture.flush()
                if written:
                    flush_us = 1e6 * (time.perf_counter() - started) / written
    return 1e6 * wall / requests, 1e6 * cpu / requests, flush_us


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(f"in-process ASGI calls of HEAD manifest by tag with a bearer token, {args.requests} requests each")
    for label, env in VARIANTS:
        wall, cpu, flush = asyncio.run(measure(env, args.requests))
        deferred = f", + analytics flush later {flush:.1f} us/event" if flush is not None else ""
        print(f"  {label:<50} {wall:7.1f} us/request wall, {cpu:7.1f} us CPU{deferred}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
