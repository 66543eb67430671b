"""Pulls for the DVP Data API end-to-end tests: manifest GETs in a complete past month, imported into a running
server's data directory with `dockyard analytics import` and processed with `dockyard analytics run`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.server import DockyardServer, run_dockyard

USER_AGENT = "docker/27.0.3 go/go1.21.11 git-commit/662f78c os/linux arch/amd64"


def seed_pulls(server: DockyardServer, repository: str, directory: Path, count: int = 6) -> datetime:
    """`count` pulls by tag of `repository` from distinct addresses on the 3rd of last month (a complete month,
    so its export exists); the time of the first one. Should the run cross into a new month before the server is
    asked, that month is still complete and within the last 3 months, the shortest series the tests ask for."""
    start = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).replace(day=3, hour=12, minute=0, second=0)
    lines = [
        {
            "time": (start + timedelta(minutes=index)).isoformat().replace("+00:00", "Z"),
            "client_ip": f"198.51.100.{index + 1}",
            "user_agent": USER_AGENT,
            "method": "GET",
            "repository": repository,
            "reference": "latest",
            "digest": "sha256:" + "1" * 64,
        }
        for index in range(count)
    ]
    events = directory / "events.jsonl"
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    for args in (("analytics", "import", str(events), "--format", "jsonl"), ("analytics", "run")):
        ran = run_dockyard(*args, data_dir=server.data_dir, database_url=server.database_url)
        assert ran.returncode == 0, f"dockyard {' '.join(args)}:\n{ran.stdout}{ran.stderr}"
    return start
