"""schemathesis against the server's own OpenAPI document (/api/openapi.json): every operation, signed in as the
site admin so authenticated routes get past their first check, with a few generated requests each. No answer may
be a 5xx, and every answer must match what the document declares: status code, content type and body schema.

The run is bounded (a fixed seed, a handful of examples per operation) so it finishes in a minute or two.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import FAST
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXCLUDED = [
    # Signing out revokes the admin token every other operation is sent with.
    "--exclude-path",
    "/v2/logout/",
    "--exclude-path",
    "/v2/logout",
]


@pytest.fixture(scope="module")
def fuzz_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    root = tmp_path_factory.mktemp("fuzz")
    # With an events token, the registry-events route is on (it answers 503 when switched off).
    settings = {**FAST, "DOCKYARD_EVENTS_TOKEN": "fuzz-events-token"}
    running = DockyardServer(root / "data", module_database_url, admin_password=ADMIN_PASSWORD, settings=settings)
    running.start()
    yield running
    running.stop()


def schemathesis() -> str:
    found = Path(sys.executable).parent / "st"
    if not found.exists():
        which = shutil.which("st")
        if which is None:
            pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
        return which
    return str(found)


def test_every_operation_answers_as_documented(fuzz_server: DockyardServer, tmp_path: Path) -> None:
    base = fuzz_server.base_url
    login = httpx.post(f"{base}/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    run = subprocess.run(
        [
            schemathesis(),
            "run",
            f"{base}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {login.json()['token']}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "10",
            "--seed",
            "20261122",
            "--generation-deterministic",
            "--workers",
            "2",
            "--no-color",
            *EXCLUDED,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
