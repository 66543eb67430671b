"""An ASGI app factory for serving experiments (more uvicorn workers, granian); not used by `dockyard serve`.

    uvicorn --factory benchmarks.asgi:app --workers 2 ...
    granian --interface asgi --factory benchmarks.asgi:app --workers 2 ...

Settings come from DOCKYARD_* variables. With several workers, initialise the data directory first (the benchmark
runs `dockyard admin list-users`, which migrates, writes the server secret and creates the administrator), so the
workers do not race to create them and every worker signs tokens with the same secret.
"""

from __future__ import annotations

from starlette.applications import Starlette

from dockyard.app import create_app
from dockyard.config import Settings


def app() -> Starlette:
    return create_app(Settings.from_env())
