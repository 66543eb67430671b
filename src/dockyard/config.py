"""Settings: built once at start-up from arguments and DOCKYARD_* environment variables, then passed in."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _networks(value: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    host: str = "127.0.0.1"
    port: int = 5000
    public_url: str = ""
    database_url: str = ""
    admin_username: str = "admin"
    admin_password: str = ""
    token_service: str = "dockyard"
    token_ttl_seconds: int = 300
    hub_token_ttl_seconds: int = 3600
    trusted_proxies: tuple[IPNetwork, ...] = ()
    max_manifest_bytes: int = 4 * 1024 * 1024
    fsync: bool = True
    gc_interval_seconds: int = 3600
    gc_grace_seconds: int = 3600
    upload_expiry_seconds: int = 24 * 3600
    log_level: str = "info"
    manifest_cache_seconds: float = 5.0
    allow_signup: bool = False
    build_concurrency: int = 2
    build_allow_file_urls: bool = False
    api_rate_limit_per_minute: int = 600
    pull_limit_anonymous: int = 0
    pull_limit_authenticated: int = 0
    pull_limit_window_seconds: int = 6 * 3600
    analytics_capture: bool = True
    analytics_flush_seconds: float = 10.0
    analytics_flush_events: int = 50_000
    analytics_mmdb: str = ""
    events_token: str = ""
    analytics_window_seconds: int = 60
    analytics_interval_seconds: int = 600
    analytics_export_max_rows: int = 1_000_000
    analytics_download_ttl_seconds: int = 3600
    analytics_memory_limit: str = "1GB"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The URL clients use to reach this server, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'dockyard.db').resolve()}"

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "secret.key"

    def load_secret(self) -> bytes:
        """The server secret signs tokens and keys pseudonyms; it lives beside the data, never in the database."""
        path = self.secret_path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(secrets.token_bytes(32))
            tmp.chmod(0o600)
            os.replace(tmp, path)
        return path.read_bytes()

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        converters: dict[str, tuple[str, Any]] = {
            "DOCKYARD_DATA_DIR": ("data_dir", Path),
            "DOCKYARD_HOST": ("host", str),
            "DOCKYARD_PORT": ("port", int),
            "DOCKYARD_PUBLIC_URL": ("public_url", str),
            "DOCKYARD_DATABASE_URL": ("database_url", str),
            "DOCKYARD_ADMIN_USERNAME": ("admin_username", str),
            "DOCKYARD_ADMIN_PASSWORD": ("admin_password", str),
            "DOCKYARD_TOKEN_SERVICE": ("token_service", str),
            "DOCKYARD_TOKEN_TTL_SECONDS": ("token_ttl_seconds", int),
            "DOCKYARD_HUB_TOKEN_TTL_SECONDS": ("hub_token_ttl_seconds", int),
            "DOCKYARD_TRUSTED_PROXIES": ("trusted_proxies", _networks),
            "DOCKYARD_FSYNC": ("fsync", _env_bool),
            "DOCKYARD_GC_INTERVAL_SECONDS": ("gc_interval_seconds", int),
            "DOCKYARD_GC_GRACE_SECONDS": ("gc_grace_seconds", int),
            "DOCKYARD_UPLOAD_EXPIRY_SECONDS": ("upload_expiry_seconds", int),
            "DOCKYARD_LOG_LEVEL": ("log_level", str),
            "DOCKYARD_MANIFEST_CACHE_SECONDS": ("manifest_cache_seconds", float),
            "DOCKYARD_ALLOW_SIGNUP": ("allow_signup", _env_bool),
            "DOCKYARD_BUILD_CONCURRENCY": ("build_concurrency", int),
            "DOCKYARD_BUILD_ALLOW_FILE_URLS": ("build_allow_file_urls", _env_bool),
            "DOCKYARD_API_RATE_LIMIT_PER_MINUTE": ("api_rate_limit_per_minute", int),
            "DOCKYARD_PULL_LIMIT_ANONYMOUS": ("pull_limit_anonymous", int),
            "DOCKYARD_PULL_LIMIT_AUTHENTICATED": ("pull_limit_authenticated", int),
            "DOCKYARD_PULL_LIMIT_WINDOW_SECONDS": ("pull_limit_window_seconds", int),
            "DOCKYARD_ANALYTICS_CAPTURE": ("analytics_capture", _env_bool),
            "DOCKYARD_ANALYTICS_FLUSH_SECONDS": ("analytics_flush_seconds", float),
            "DOCKYARD_ANALYTICS_FLUSH_EVENTS": ("analytics_flush_events", int),
            "DOCKYARD_ANALYTICS_MMDB": ("analytics_mmdb", str),
            "DOCKYARD_EVENTS_TOKEN": ("events_token", str),
            "DOCKYARD_ANALYTICS_WINDOW_SECONDS": ("analytics_window_seconds", int),
            "DOCKYARD_ANALYTICS_INTERVAL_SECONDS": ("analytics_interval_seconds", int),
            "DOCKYARD_ANALYTICS_EXPORT_MAX_ROWS": ("analytics_export_max_rows", int),
            "DOCKYARD_ANALYTICS_DOWNLOAD_TTL_SECONDS": ("analytics_download_ttl_seconds", int),
            "DOCKYARD_ANALYTICS_MEMORY_LIMIT": ("analytics_memory_limit", str),
        }
        for name, (attr, convert) in converters.items():
            if env.get(name):
                values[attr] = convert(env[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        return cls(**values)
