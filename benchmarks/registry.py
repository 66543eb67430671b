"""Dockyard against CNCF distribution, side by side, with the same load tool and concurrency.

    .venv/bin/python benchmarks/registry.py [--duration 10] [--connections 2,32] [--smoke]

Starts Dockyard (SQLite, token auth on) and `docker-registry` (distribution 2.8, filesystem storage, no auth, quiet
logs) on 127.0.0.1, pushes the same deterministic image to both with skopeo, then measures manifest HEAD and GET by
tag and 10 MiB blob GETs with `hey`, and the wall time of a skopeo push of a ~100 MiB image to a fresh repository.
Prints a table with the ratio against the targets. Every process it starts is stopped by its PID, even on errors.

Experiments: `--server uvicorn --workers 2` or `--server granian --workers 2` serve Dockyard through
`benchmarks/asgi.py` instead of `dockyard serve`; `--profile DIR` records py-spy profiles of Dockyard during its
manifest HEAD runs (those figures carry the profiler's cost); `--workloads head` runs a subset.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from machine import CLK_TCK, host_ticks, tree_ticks
from oci_layout import MIB, Image, write_layout

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_USER = "admin"
ADMIN_PASSWORD = "bench-admin-password"
BENCH_REPO = "admin/bench"
BENCH_TAG = "v1"
# What skopeo/podman send (six types); one header, comma-separated, since hey keeps only the last -H of a name.
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
DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: error
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""
# (key, label, unit, target): ratio is dockyard/distribution for rates, distribution/dockyard for push seconds.
WORKLOADS = {
    "head": ("manifest HEAD by tag", "req/s", 2.0),
    "get": ("manifest GET by tag", "req/s", 2.0),
    "blob": ("blob GET 10 MiB", "MB/s", 1.0),
    "push": ("skopeo push ~100 MiB", "s", 1.0),
}
CONTENDED_CORES = 0.25


class BenchError(Exception):
    pass


# --- processes -----------------------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    authorization: str | None = None  # the bearer header hey sends
    creds: str | None = None  # skopeo --dest-creds

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


class Processes:
    """Every long-running process this script starts, stopped by PID on the way out."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: Sequence[str], *, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(server: Server, timeout: float = 60) -> None:
    """Wait until the server answers /v2/ at all (Dockyard says 401 without credentials, distribution 200)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.proc.returncode}:\n{tail(server.log)}")
        try:
            with urllib.request.urlopen(f"{server.base}/v2/", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{server.name} did not answer within {timeout:.0f}s:\n{tail(server.log)}")


def start_distribution(procs: Processes, tmp: Path) -> Server:
    exe = shutil.which("docker-registry")
    if exe is None:
        raise BenchError("docker-registry not found: apt-get install -y docker-registry")
    port = free_port()
    root = tmp / "distribution"
    root.mkdir()
    config = tmp / "distribution.yml"
    config.write_text(DISTRIBUTION_CONFIG.format(root=root, port=port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    log = tmp / "distribution.log"
    server = Server("distribution", port, procs.start([exe, "serve", str(config)], log=log, env=env), log)
    wait_ready(server)
    return server


def snapshot_source(rev: str, tmp: Path) -> Path:
    """Extract src/ as of `rev` (the working tree may hold other people's half-done edits); returns its src dir."""
    target = tmp / "source"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"], capture_output=True, timeout=120, check=False
    )
    if archive.returncode != 0:
        raise BenchError(f"git archive {rev} failed: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def dockyard_env(
    data_dir: Path, port: int, ttl: int, fsync: bool, extra: dict[str, str], source: Path | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(
        DOCKYARD_DATA_DIR=str(data_dir),
        DOCKYARD_HOST="127.0.0.1",
        DOCKYARD_PORT=str(port),
        DOCKYARD_ADMIN_USERNAME=ADMIN_USER,
        DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
        DOCKYARD_TOKEN_TTL_SECONDS=str(ttl),
        DOCKYARD_LOG_LEVEL="warning",
        DOCKYARD_FSYNC="true" if fsync else "false",
        # A snapshot's src/ goes before the editable install's path entry; ROOT makes benchmarks.asgi importable.
        PYTHONPATH=os.pathsep.join([*([str(source)] if source else []), str(ROOT)]),
    )
    env.update(extra)
    return env


def dockyard_command(kind: str, port: int, data_dir: Path, workers: int) -> list[str]:
    if kind == "serve":
        if workers != 1:
            raise BenchError("`dockyard serve` runs one worker; use --server uvicorn or granian for more")
        # The data directory comes from DOCKYARD_DATA_DIR: `serve --data-dir` hands Settings a str, not a Path.
        return [str(BIN / "dockyard"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if kind == "uvicorn":
        return [
            *(str(BIN / "uvicorn"), "--factory", "benchmarks.asgi:app", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers), "--log-level", "warning", "--no-access-log", "--no-server-header"),
        ]
    if kind == "granian":
        return [
            *(str(BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers), "--loop", "uvloop", "--log-level", "warning", "--no-access-log"),
            "benchmarks.asgi:app",
        ]
    raise BenchError(f"unknown server kind {kind}")


def start_dockyard(procs: Processes, tmp: Path, args: argparse.Namespace) -> Server:
    exe = BIN / "dockyard"
    if not exe.exists():
        raise BenchError(f"{exe} not found: run scripts/setup.sh (or pip install -e .) first")
    port = free_port()
    data_dir = tmp / "dockyard"
    source = snapshot_source(args.rev, tmp) if args.rev else None
    env = dockyard_env(data_dir, port, args.token_ttl, args.fsync, dict(args.env), source)
    # Migrate, write the server secret and create the administrator before any worker starts, so that several
    # workers neither race to do it nor sign tokens with different secrets.
    init = subprocess.run(
        [str(exe), "admin", "list-users"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if init.returncode != 0:
        raise BenchError(f"initialising Dockyard's data directory failed:\n{init.stdout}{init.stderr}")
    log = tmp / "dockyard.log"
    cmd = dockyard_command(args.server, port, data_dir, args.workers)
    server = Server("dockyard", port, procs.start(cmd, log=log, env=env), log)
    server.creds = f"{ADMIN_USER}:{ADMIN_PASSWORD}"
    wait_ready(server)
    return server


# --- HTTP checks and the token -------------------------------------------------------------------------------
def bearer_token(server: Server, scope: str) -> str:
    basic = base64.b64encode(f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()
    url = f"{server.base}/token?service=dockyard&scope={scope}"
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["token"])


def probe(server: Server, path: str, method: str, accept: str | None = None) -> tuple[int, dict[str, str], int]:
    headers = {"Accept": accept} if accept else {}
    if server.authorization:
        headers["Authorization"] = server.authorization
    request = urllib.request.Request(server.base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            size = len(response.read()) if method == "GET" else 0
            return response.status, dict(response.headers.items()), size
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), 0


# --- hey -----------------------------------------------------------------------------------------------------
@dataclass
class HeyResult:
    rps: float
    seconds: float
    size: int
    p50: float
    p99: float
    statuses: dict[int, int]
    errors: list[str]
    foreign_cores: float = 0.0
    server_cpu_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and set(self.statuses) == {200} and self.rps > 0

    @property
    def mbps(self) -> float:
        return self.rps * self.size / 1e6


def _number(pattern: str, text: str, default: float = 0.0) -> float:
    match = re.search(pattern, text)
    return float(match.group(1)) if match else default


def parse_hey(text: str) -> HeyResult:
    statuses = {int(code): int(count) for code, count in re.findall(r"\[(\d+)\]\s+(\d+) responses", text)}
    errors: list[str] = []
    if "Error distribution:" in text:
        errors = [line.strip() for line in text.split("Error distribution:", 1)[1].splitlines() if line.strip()]
    return HeyResult(
        rps=_number(r"Requests/sec:\s+([\d.]+)", text),
        seconds=_number(r"Total:\s+([\d.]+) secs", text),
        size=int(_number(r"Size/request:\s+(\d+) bytes", text)),
        p50=_number(r"50%+ in ([\d.]+) secs", text),
        p99=_number(r"99%+ in ([\d.]+) secs", text),
        statuses=statuses,
        errors=errors,
    )


def hey_command(url: str, *, method: str, headers: Sequence[str], conns: int, duration: float | None) -> list[str]:
    exe = shutil.which("hey")
    if exe is None:
        raise BenchError("hey not found: apt-get install -y hey")
    amount = ["-z", f"{duration:g}s"] if duration else ["-n", str(max(200, conns * 20))]
    return [exe, *amount, "-c", str(conns), "-m", method, *[a for h in headers for a in ("-H", h)], url]


# --- other load on the machine -------------------------------------------------------------------------------
def _busy_ticks() -> int:
    """Ticks the machine's cores were not idle, stolen ones included: time other work took from the benchmark."""
    host = host_ticks()
    return host.busy + host.stolen


def _own_ticks() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return (children.ru_utime + children.ru_stime + me.ru_utime + me.ru_stime) * CLK_TCK


class CpuMeter:
    """How many cores something other than this benchmark (its servers, hey, skopeo) kept busy meanwhile."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._start = (time.monotonic(), _busy_ticks(), tree_ticks(self.pids), _own_ticks())

    def foreign_cores(self) -> float:
        now, busy, tree, own = time.monotonic(), _busy_ticks(), tree_ticks(self.pids), _own_ticks()
        t0, busy0, tree0, own0 = self._start
        foreign = (busy - busy0) - (tree - tree0) - (own - own0)
        return max(0.0, foreign / CLK_TCK / max(now - t0, 1e-6))


def wait_idle(pids: Sequence[int], limit: float) -> float:
    """Wait (up to `limit` seconds) for other processes to leave the CPUs alone; the last reading, in cores."""
    deadline = time.monotonic() + limit
    while True:
        meter = CpuMeter(pids)
        time.sleep(1.0)
        cores = meter.foreign_cores()
        if cores < CONTENDED_CORES or time.monotonic() >= deadline:
            return cores


# --- the workloads -------------------------------------------------------------------------------------------
@dataclass
class Cell:
    value: float
    detail: str
    ok: bool = True
    contended: bool = False


@dataclass
class Row:
    key: str
    conns: int | None
    cells: dict[str, Cell] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path, servers: list[Server]) -> None:
        self.args = args
        self.tmp = tmp
        self.servers = servers
        self.rows: list[Row] = []
        self.commands: dict[str, str] = {}
        self.pids = [s.proc.pid for s in servers]

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def hey(self, server: Server, key: str, path: str, method: str, conns: int, accept: str | None) -> HeyResult:
        headers = [f"Accept: {accept}"] if accept else []
        shown = ['-H "Accept: $ACCEPT"'] if accept else []
        if server.authorization:
            headers.append(f"Authorization: {server.authorization}")
            shown.append('-H "Authorization: Bearer $TOKEN"')
        url = server.base + path
        warm = hey_command(url, method=method, headers=headers, conns=conns, duration=None)
        subprocess.run(warm, capture_output=True, timeout=120, check=False)
        if self.args.wait_idle > 0:
            wait_idle(self.pids, self.args.wait_idle)
        cmd = hey_command(url, method=method, headers=headers, conns=conns, duration=self.args.duration)
        profiler = self.start_profiler(server, key, conns)
        meter = CpuMeter(self.pids)
        server_ticks = tree_ticks([server.proc.pid])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.args.duration + 120, check=False)
        server_ticks = tree_ticks([server.proc.pid]) - server_ticks
        foreign = meter.foreign_cores()
        if profiler is not None:
            profiler.wait(timeout=self.args.duration + 60)
        if done.returncode != 0:
            raise BenchError(f"hey failed ({done.returncode}): {done.stderr.strip()[:500]}")
        result = parse_hey(done.stdout)
        result.foreign_cores = foreign
        result.server_cpu_seconds = server_ticks / CLK_TCK
        self.commands[f"{key}/{server.name}"] = " ".join(
            ["hey", "-z", f"{self.args.duration:g}s", "-c", "$CONNS", "-m", method, *shown, url]
        )
        return result

    def start_profiler(self, server: Server, key: str, conns: int) -> subprocess.Popen[bytes] | None:
        if not self.args.profile or server.name != "dockyard" or key != "head":
            return None
        out = Path(self.args.profile)
        out.mkdir(parents=True, exist_ok=True)
        seconds = max(1, int(self.args.duration) - 1)
        cmd = [str(BIN / "py-spy"), "record", "--pid", str(server.proc.pid), "--duration", str(seconds)]
        cmd += ["--rate", "200", "--nonblocking", "--threads", "--subprocesses", "--format", "raw"]
        cmd += ["--output", str(out / f"{self.args.server}-w{self.args.workers}-head-c{conns}.txt")]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def run_http(self, key: str, conns: int, path: str, method: str, accept: str | None) -> None:
        """Run the workload against each server, `--rounds` times in alternating order; keep each one's best."""
        results: dict[str, list[HeyResult]] = {server.name: [] for server in self.servers}
        for round_ in range(self.args.rounds):
            order = self.servers if round_ % 2 == 0 else list(reversed(self.servers))
            for server in order:
                self.log(f"  {WORKLOADS[key][0]}, {conns} conns, {server.name} ...")
                results[server.name].append(self.hey(server, key, path, method, conns, accept))
        row = Row(key, conns)
        for name, runs in results.items():
            values = [run.mbps if key == "blob" else run.rps for run in runs]
            best = runs[values.index(max(values))]
            detail = f"{best.rps:.0f} req/s, p50 {ms(best.p50)}, p99 {ms(best.p99)}"
            requests = best.rps * best.seconds
            if requests and best.seconds:
                cores = best.server_cpu_seconds / best.seconds
                detail += f", server {cores:.2f} cores = {1e6 * best.server_cpu_seconds / requests:.0f} us CPU/req"
            if len(runs) > 1:
                detail += f", best of {' / '.join(fmt(v, WORKLOADS[key][1]) for v in values)}"
            failed = [run for run in runs if not run.ok]
            for run in failed[:1]:
                detail += f", statuses {run.statuses}, errors {run.errors[:3]}"
            contended = best.foreign_cores >= CONTENDED_CORES
            if contended:
                detail += f", other load {best.foreign_cores:.2f} cores"
            row.cells[name] = Cell(max(values), detail, not failed, contended)
        self.rows.append(row)

    def skopeo_copy(self, source: str, server: Server, dest: str) -> float:
        exe = shutil.which("skopeo")
        if exe is None:
            raise BenchError("skopeo not found: apt-get install -y skopeo")
        cmd = [exe, "copy", "--quiet", "--dest-tls-verify=false"]
        if server.creds:
            cmd += ["--dest-creds", server.creds]
        cmd += [source, f"docker://{server.host}/{dest}"]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchError(f"skopeo copy to {server.name} failed: {done.stderr.strip()[:800]}")
        shown = [c if c != server.creds else "admin:$PASSWORD" for c in cmd]
        self.commands[f"push/{server.name}"] = shlex.join(["skopeo", *shown[1:]])
        return elapsed

    def run_push(self) -> None:
        reps = self.args.push_reps
        layer = self.args.push_mb * MIB // 4
        times: dict[str, list[float]] = {s.name: [] for s in self.servers}
        foreign: list[float] = []
        for rep in range(reps):
            # Fresh content each time: skopeo would otherwise mount blobs it already pushed instead of sending them.
            image = write_layout(self.tmp / f"push-{rep}", "v1", [layer] * 4, seed=1000 + rep)
            order = self.servers if rep % 2 == 0 else list(reversed(self.servers))
            for server in order:
                if self.args.wait_idle > 0:
                    wait_idle(self.pids, self.args.wait_idle)
                meter = CpuMeter(self.pids)
                seconds = self.skopeo_copy(image.reference, server, f"admin/push-{rep}:v1")
                foreign.append(meter.foreign_cores())
                times[server.name].append(seconds)
                self.log(f"  push {rep + 1}/{reps} ({image.total_bytes / 1e6:.0f} MB) to {server.name}: {seconds:.2f}s")
            shutil.rmtree(image.layout)
        row = Row("push", None)
        contended = max(foreign, default=0.0) >= CONTENDED_CORES
        for name, values in times.items():
            detail = f"median of {reps}: " + ", ".join(f"{v:.2f}" for v in values) + " s"
            row.cells[name] = Cell(statistics.median(values), detail, True, contended)
        self.rows.append(row)


def prepare_images(bench: Bench) -> Image:
    image = write_layout(bench.tmp / "bench-layout", BENCH_TAG, [10 * MIB], seed=1)
    for server in bench.servers:
        bench.skopeo_copy(image.reference, server, f"{BENCH_REPO}:{BENCH_TAG}")
    bench.commands.pop("push/dockyard", None)
    bench.commands.pop("push/distribution", None)
    dockyard = next(s for s in bench.servers if s.name == "dockyard")
    token = bearer_token(dockyard, f"repository:{BENCH_REPO}:pull")
    dockyard.authorization = f"Bearer {token}"
    # Both must answer the same thing before their speed means anything.
    for server in bench.servers:
        status, headers, _ = probe(server, f"/v2/{BENCH_REPO}/manifests/{BENCH_TAG}", "HEAD", ACCEPT)
        digest = {k.lower(): v for k, v in headers.items()}.get("docker-content-digest")
        if status != 200 or digest != image.manifest.digest:
            raise BenchError(f"{server.name}: manifest HEAD gave {status} {digest}, wanted {image.manifest.digest}")
        status, _, size = probe(server, f"/v2/{BENCH_REPO}/blobs/{image.layers[0].digest}", "GET")
        if status != 200 or size != image.layers[0].size:
            raise BenchError(f"{server.name}: blob GET gave {status} with {size} bytes")
    return image


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds else "n/a"


# --- report --------------------------------------------------------------------------------------------------
def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f}"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def render(bench: Bench, invocation: str) -> str:
    lines = []
    header = f"{'workload':<24} {'conns':>5} {'unit':>5} {'dockyard':>10} {'distribution':>12} {'ratio':>6}"
    header += f" {'target':>7}  met"
    lines += [header, "-" * len(header)]
    contended = False
    for row in bench.rows:
        label, unit, target = WORKLOADS[row.key]
        dock, dist = row.cells["dockyard"], row.cells["distribution"]
        if row.key == "push":
            ratio = dist.value / dock.value if dock.value else 0.0
        else:
            ratio = dock.value / dist.value if dist.value else 0.0
        marks = {n: ("*" if c.contended else "") + ("!" if not c.ok else "") for n, c in row.cells.items()}
        contended |= dock.contended or dist.contended
        met = "yes" if ratio >= target and dock.ok and dist.ok else "no"
        conns = "-" if row.conns is None else str(row.conns)
        lines.append(
            f"{label:<24} {conns:>5} {unit:>5} {fmt(dock.value, unit) + marks['dockyard']:>10} "
            f"{fmt(dist.value, unit) + marks['distribution']:>12} {ratio:>6.2f} {'>=' + f'{target:g}x':>7}  {met}"
        )
    lines.append("")
    lines.append("ratio: dockyard/distribution for req/s and MB/s; distribution/dockyard for push seconds (>1: faster)")
    if contended:
        lines.append(f"*: another process kept >= {CONTENDED_CORES} cores busy during that run (figure is noisy)")
    if any(not cell.ok for row in bench.rows for cell in row.cells.values()):
        lines.append("!: some requests failed or answered other than 200 (see details)")
    lines.append("")
    lines.append("details:")
    for row in bench.rows:
        for name, cell in row.cells.items():
            conns = "" if row.conns is None else f" c{row.conns}"
            lines.append(f"  {row.key}{conns} {name}: {cell.detail}")
    lines.append("")
    lines.append(f"command: {invocation}")
    dockyard = next(s for s in bench.servers if s.name == "dockyard")
    lines.append("  with:")
    lines.append(f"    ACCEPT={shlex.quote(ACCEPT)}")
    token_url = f"{dockyard.base}/token?service=dockyard&scope=repository:{BENCH_REPO}:pull"
    lines.append(f"    TOKEN=$(curl -s -u admin:$PASSWORD {shlex.quote(token_url)} | jq -r .token)")
    lines.append(f"    CONNS in {' '.join(str(c) for c in bench.args.conns)}")
    for key, cmd in bench.commands.items():
        lines.append(f"  {key}: {cmd}")
    return "\n".join(lines)


def environment(args: argparse.Namespace) -> str:
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    if args.rev:
        commit = version(["git", "-C", str(ROOT), "rev-parse", "--short", f"{args.rev}^{{commit}}"])
        source = f"{commit} (snapshot of {args.rev})"
    else:
        commit = version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        dirty = version(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"]) not in ("", "?")
        source = f"working tree at {commit}" + (" + uncommitted changes in src/" if dirty else "")
    server = "dockyard serve (uvicorn)" if args.server == "serve" else f"{args.server} --workers {args.workers}"
    return (
        f"dockyard {source} via {server}, SQLite, token auth, fsync={'on' if args.fsync else 'off'}"
        + "".join(f", {name}={value}" for name, value in args.env)
        + "; "
        f"{version(['docker-registry', '--version'])}, no auth; {version(['skopeo', '--version'])}; "
        f"{os.cpu_count()} cores shared by client and servers"
    )


# --- main ----------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], prog="benchmarks/registry.py")
    parser.add_argument("--duration", type=float, default=None, help="seconds per hey run (default 10, smoke 1.5)")
    parser.add_argument("--connections", default="2,32", help="comma-separated concurrency levels (default 2,32)")
    parser.add_argument("--smoke", action="store_true", help="quick check: ~1.5 s per workload, one push")
    parser.add_argument("--rounds", type=int, default=1, help="runs per workload and server; the best one counts")
    parser.add_argument("--workloads", default="head,get,blob,push", help="subset of head,get,blob,push")
    parser.add_argument("--push-reps", type=int, default=None, help="pushes per registry (default 5, smoke 1)")
    parser.add_argument("--push-mb", type=int, default=100, help="size of the pushed image in MiB (4 layers)")
    parser.add_argument("--server", choices=["serve", "uvicorn", "granian"], default="serve", help="Dockyard's server")
    parser.add_argument("--rev", help="benchmark src/ as of this git revision instead of the working tree")
    parser.add_argument("--workers", type=int, default=1, help="Dockyard worker processes (uvicorn/granian only)")
    parser.add_argument("--no-fsync", dest="fsync", action="store_false", help="DOCKYARD_FSYNC=false")
    parser.add_argument("--token-ttl", type=int, default=24 * 3600, help="DOCKYARD_TOKEN_TTL_SECONDS")
    parser.add_argument("--wait-idle", type=float, default=None, help="wait up to N s for other load before a run")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra Dockyard environment (repeatable)"
    )
    parser.add_argument("--profile", metavar="DIR", help="record py-spy profiles of Dockyard's HEAD runs into DIR")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 1.5 if args.smoke else 10.0
    if args.push_reps is None:
        args.push_reps = 1 if args.smoke else 5
    if args.wait_idle is None:
        args.wait_idle = 0.0 if args.smoke else 20.0
    if any("=" not in item for item in args.env):
        parser.error("--env takes NAME=VALUE")
    args.env = [tuple(item.split("=", 1)) for item in args.env]
    args.conns = [int(c) for c in args.connections.split(",") if c.strip()]
    args.workload_keys = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workload_keys) - set(WORKLOADS)
    if unknown or not args.workload_keys:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown)) or '(none given)'}")
    if args.duration <= 0 or not args.conns or min(args.conns) < 1 or args.push_reps < 1 or args.rounds < 1:
        parser.error("duration, connections and push repetitions must be positive")
    return args


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit so the `finally` blocks stop the servers."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    invocation = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    servers: list[Server] = []
    try:
        with terminate_on_signals():
            print(f"starting servers in {tmp} ...", file=sys.stderr, flush=True)
            servers = [start_dockyard(procs, tmp, args), start_distribution(procs, tmp)]
            bench = Bench(args, tmp, servers)
            image = prepare_images(bench)
            blob = image.layers[0].digest
            manifest_path = f"/v2/{BENCH_REPO}/manifests/{BENCH_TAG}"
            for conns in args.conns:
                if "head" in args.workload_keys:
                    bench.run_http("head", conns, manifest_path, "HEAD", ACCEPT)
                if "get" in args.workload_keys:
                    bench.run_http("get", conns, manifest_path, "GET", ACCEPT)
                if "blob" in args.workload_keys:
                    bench.run_http("blob", conns, f"/v2/{BENCH_REPO}/blobs/{blob}", "GET", None)
            if "push" in args.workload_keys:
                bench.run_push()
            for server in servers:
                if server.proc.poll() is not None:
                    raise BenchError(f"{server.name} exited during the run:\n{tail(server.log)}")
            print()
            print(environment(args))
            print(
                f"image {BENCH_REPO}:{BENCH_TAG}: OCI manifest {image.manifest.size} B, "
                f"layer {image.layers[0].size} B; hey {args.duration:g}s per run after a warm-up"
                + (f", best of {args.rounds} rounds" if args.rounds > 1 else "")
            )
            print()
            print(render(bench, invocation))
            failed = [c for row in bench.rows for c in row.cells.values() if not c.ok]
            return 1 if failed else 0
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        for server in servers:
            log = tail(server.log)
            if log:
                print(f"--- {server.name} log (last lines) ---\n{log}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
