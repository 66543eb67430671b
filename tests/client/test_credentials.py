"""The CLI's credentials file: under $XDG_CONFIG_HOME (or ~/.config), mode 0600 in a 0700 directory, holding
tokens and never a password."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dockyard.client.credentials import CredentialStore, StoredLogin, config_dir, normalise_server


def test_the_file_lives_in_the_config_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "dockyard"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".config" / "dockyard"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/path")  # not absolute: ignored, as the spec says
    assert config_dir() == tmp_path / "home" / ".config" / "dockyard"


def test_saved_with_owner_only_permissions(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "conf" / "dockyard" / "credentials.json")
    store.save(StoredLogin("hub.example.com/", "alice", token="jwt", refresh_token="refresh"))
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    text = store.path.read_text()
    assert "password" not in text
    loaded = store.get()
    assert loaded is not None
    assert (loaded.server, loaded.username, loaded.token, loaded.refresh_token) == (
        "https://hub.example.com",
        "alice",
        "jwt",
        "refresh",
    )
    assert "jwt" not in repr(loaded) and "refresh" not in repr(loaded)
    assert list(store.path.parent.iterdir()) == [store.path]  # no temporary file left behind


def test_several_servers_and_the_current_one(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    store.save(StoredLogin("http://one:5000", "alice", token="a"))
    store.save(StoredLogin("http://two:5000", "bob", token="b"))
    assert store.current_server() == "http://two:5000"
    assert store.get("http://ONE:5000/") is not None
    store.update_tokens("http://one:5000", "a2", "r2")
    one = store.get("http://one:5000")
    assert one is not None and (one.token, one.refresh_token) == ("a2", "r2")
    removed = store.remove()
    assert removed is not None and removed.username == "bob"
    assert store.current_server() == "http://one:5000"
    assert store.remove("http://nowhere") is None
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_server_names_are_normalised() -> None:
    assert normalise_server("hub.example.com") == "https://hub.example.com"
    assert normalise_server("HTTP://Hub.Example.com:5000/") == "http://hub.example.com:5000"
