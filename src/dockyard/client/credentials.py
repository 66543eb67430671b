"""The CLI's stored sign-ins: one JSON file, `$XDG_CONFIG_HOME/dockyard/credentials.json` (by default
`~/.config/dockyard/credentials.json`), readable by its owner only (0600, in a 0700 directory).

What is kept per server: the username, the Hub access token and the refresh token the server issued at login —
never the password. The access token lives minutes; the refresh token (30 days on Dockyard) renews it, is
accepted by the registry's token service in place of a password, and is revoked by `dockyard logout`. Keeping the
password would let the CLI sign in again forever, but a leaked file would then give away the account (and, with a
second factor, the password alone would not even be enough to sign in); a refresh token limits the damage in time
and can be revoked. When it expires, `dockyard login` asks again.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FILE_NAME = "credentials.json"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "dockyard"


def normalise_server(url: str) -> str:
    """`hub.example.com` -> `https://hub.example.com`; no trailing slash; scheme and host in lower case."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"


@dataclass
class StoredLogin:
    server: str
    username: str
    token: str | None = None
    refresh_token: str | None = None
    registry_url: str | None = None

    def __repr__(self) -> str:  # never print the secrets
        return f"StoredLogin(server={self.server!r}, username={self.username!r})"


class CredentialStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / FILE_NAME

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": None, "servers": {}}
        except ValueError as exc:
            raise ValueError(f"{self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            return {"current": None, "servers": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(prefix=".credentials-", dir=directory)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.write("\n")
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def current_server(self) -> str | None:
        current = self._read().get("current")
        return current if isinstance(current, str) else None

    def get(self, server: str | None = None) -> StoredLogin | None:
        data = self._read()
        key = normalise_server(server) if server else data.get("current")
        if not isinstance(key, str):
            return None
        entry = data["servers"].get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("username"), str):
            return None
        return StoredLogin(
            server=key,
            username=entry["username"],
            token=entry.get("token"),
            refresh_token=entry.get("refresh_token"),
            registry_url=entry.get("registry_url"),
        )

    def save(self, login: StoredLogin, *, make_current: bool = True) -> None:
        data = self._read()
        login.server = normalise_server(login.server)
        entry = asdict(login)
        entry.pop("server")
        data["servers"][login.server] = entry
        if make_current or not data.get("current"):
            data["current"] = login.server
        self._write(data)

    def update_tokens(self, server: str, token: str | None, refresh_token: str | None) -> None:
        data = self._read()
        key = normalise_server(server)
        entry = data["servers"].get(key)
        if not isinstance(entry, dict):
            return
        entry["token"], entry["refresh_token"] = token, refresh_token
        self._write(data)

    def remove(self, server: str | None = None) -> StoredLogin | None:
        data = self._read()
        key = normalise_server(server) if server else data.get("current")
        if not isinstance(key, str) or key not in data["servers"]:
            return None
        removed = self.get(key)
        del data["servers"][key]
        if data.get("current") == key:
            data["current"] = next(iter(data["servers"]), None)
        self._write(data)
        return removed
