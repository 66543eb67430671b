"""Running the real `dockyard serve` as a child process on 127.0.0.1, for tests that drive it with real clients.

The server gets its own data directory, database URL and port, and an environment holding only the DOCKYARD_*
settings the test chose (nothing leaks in from the caller's environment). It can be stopped politely, killed with
SIGKILL in the middle of work, and started again on the same data directory, database and port.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def dockyard_executable() -> str:
    """The `dockyard` console script of the environment running the tests."""
    beside = Path(sys.executable).parent / "dockyard"
    if beside.exists():
        return str(beside)
    found = shutil.which("dockyard")
    if found is None:
        raise RuntimeError("the dockyard command is not installed in this environment (pip install -e .)")
    return found


def dockyard_env(data_dir: Path, database_url: str, settings: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """An environment for a `dockyard` command: the caller's, minus every DOCKYARD_* variable, plus these.
    A setting given as None is left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["DOCKYARD_DATA_DIR"] = str(data_dir)
    env["DOCKYARD_DATABASE_URL"] = database_url
    for key, value in (settings or {}).items():
        if value is not None:
            env[key] = value
    return env


class ServerError(RuntimeError):
    pass


_RUNNING: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Servers run in their own session, so an interrupted test run would otherwise leave them behind."""
    for process in list(_RUNNING):
        if process.poll() is None:
            process.kill()
            process.wait()


class DockyardServer:
    """One `dockyard serve` process. `start()` returns once /healthz answers; the log keeps growing across
    restarts in `log_path`."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        *,
        admin_password: str | None = "adminpass123",
        settings: Mapping[str, str | None] | None = None,
        log_path: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.admin_password = admin_password
        self.settings = dict(settings or {})
        self.log_path = log_path or self.data_dir.parent / f"{self.data_dir.name}-server.log"
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    # --- addresses -----------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> str:
        """`host:port`, the form registry clients take (`docker://127.0.0.1:5000/ns/repo`)."""
        return f"{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    # --- where the filesystem storage keeps things (for tests that check what reached the disk) ---------------
    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        return self.data_dir / "storage" / "blobs" / algorithm / hexpart[:2] / hexpart

    def upload_path(self, upload_id: str) -> Path:
        return self.data_dir / "storage" / "uploads" / upload_id

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "storage" / "uploads"

    # --- the process ---------------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        settings: dict[str, str | None] = {
            "DOCKYARD_HOST": HOST,
            "DOCKYARD_PORT": str(self.port),
            "DOCKYARD_ADMIN_PASSWORD": self.admin_password,
            "DOCKYARD_GC_INTERVAL_SECONDS": "0",
        }
        settings.update(self.settings)
        return dockyard_env(self.data_dir, self.database_url, settings)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = READY_TIMEOUT) -> DockyardServer:
        if self.running:
            raise ServerError("the server is already running")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- starting dockyard serve on {self.address}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [dockyard_executable(), "serve"],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _RUNNING.add(self.process)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ServerError(f"dockyard serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError(f"dockyard serve did not become ready in {timeout:.0f}s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, and wait for a graceful shutdown (SIGKILL if it does not come)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _RUNNING.discard(self.process)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-request, without running any shutdown code."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _RUNNING.discard(self.process)
        self.process = None

    def restart(self, *, kill: bool = False) -> DockyardServer:
        """Stop (or kill) and start again on the same data directory, database and port."""
        if kill:
            self.kill()
        else:
            self.stop()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> DockyardServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_dockyard(
    *args: str,
    data_dir: Path,
    database_url: str,
    settings: Mapping[str, str | None] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run one `dockyard` command (not `serve`) against a data directory and database; never raises on failure."""
    return subprocess.run(
        [dockyard_executable(), *args],
        env=dockyard_env(data_dir, database_url, settings),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
