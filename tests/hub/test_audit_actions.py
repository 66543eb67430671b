"""Every audit action the code publishes is in the catalogue `GET /v2/auditlogs/{account}/actions` serves, and the
catalogue lists nothing that is never published: one naming scheme (org., repo., user.) for both.

The published names are found in the source, as the string literals of that shape outside the catalogue (and the
recorder's own, for the registry's tag pushes and deletes): an
AuditEvent is built in several domains, some from a variable holding one of those literals, so reading the source
finds them all where exercising every flow would take a long test.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from dockyard.hub.auditlog import CATALOGUE
from tests.conftest import ADMIN_PASSWORD

SRC = Path(__file__).resolve().parents[2] / "src" / "dockyard"
CATALOGUE_FILE = SRC / "hub" / "auditlog.py"
ACTION = re.compile(r"""["']((?:org|repo|user|account)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)["']""")


def published() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if path == CATALOGUE_FILE:
            # Past the catalogue and describe(): the recorder publishes the registry's tag pushes and deletes.
            text = text.partition("class AuditRecorder")[2]
            assert text
        for name in ACTION.findall(text):
            found.setdefault(name, set()).add(str(path.relative_to(SRC)))
    return found


def test_every_published_action_is_in_the_catalogue() -> None:
    catalogued = {action.name for _, actions in CATALOGUE.values() for action in actions}
    names = published()
    assert {name: files for name, files in names.items() if name not in catalogued} == {}
    assert catalogued - set(names) == set()
    for group, (_, actions) in CATALOGUE.items():
        assert all(action.name.startswith(f"{group}.") for action in actions), group


def test_the_catalogue_route_serves_them(client: TestClient) -> None:
    token = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
    answer = client.get("/v2/auditlogs/admin/actions", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    served = {a["name"] for group in answer.json()["actions"].values() for a in group["actions"]}
    assert {"user.access_token.create", "user.2fa.enable", "org.delete", "org.invite.accept"} <= served
