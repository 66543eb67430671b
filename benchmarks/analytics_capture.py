"""What live analytics capture costs the registry's manifest HEAD path: the same server with capture on and off.

    .venv/bin/python benchmarks/analytics_capture.py --interleave --pin [--sessions 3] [--duration 30]
        [--connections 32] [--phase-seconds 0.1] [--flush-every 50] [--same]
    .venv/bin/python benchmarks/analytics_capture.py [--duration 3] [--connections 2,32] [--rounds 8]
        [--sessions 2] [--flush-seconds 10] [--wait-idle 20] [--same] [--pin] [--instructions 3000]

This 2-core VM's speed swings by 10-30 % within seconds, and two fresh servers doing the same work differ by up to
~10 % (their places in memory and caches): more than the effect measured. `--interleave` is the instrument that
resolves it. Each session starts one server (`capture_toggle_server.py`: `dockyard serve` with a switch) under one
`hey -m HEAD` run with a bearer token against `/v2/admin/bench/manifests/v1`; the server switches its capture off
and on every `--phase-seconds` and counts the requests it answers in each phase, and every `--flush-every`th "on"
phase ends by writing the buffered events through the writer process while the event loop waits, so that
capture's whole cost, the writing included, falls inside the "on" phases. Both states share the machine's speed
and the process's placement; `--same` (capture off in both states) shows the noise floor. Prints per session
and, pooled, the overhead in % (target <= 5 %) of the "on" throughput against the "off", the median and quartiles
over blocks of phases (each holding one write) and a bootstrap 95 % interval over those blocks. With `--pin` the
server and its writer process get the first core and `hey` the second: the server's throughput is then what one
core gives, with all of capture's work on that core (on a real machine the writer would use another).

Without `--interleave`, it starts two `dockyard serve` processes on 127.0.0.1, one with
DOCKYARD_ANALYTICS_CAPTURE=true and one with false (everything else equal: SQLite, token auth, no fsync, warning
logs, the same PYTHONHASHSEED), pushes the same small OCI image to both, and alternates short `hey` runs against
the two in many rounds, each session with a fresh pair started in swapped order; prints each round and, pooled,
the overhead of the median throughputs, the median (with the quartiles) of the round pairs' overheads, and the
server CPU time per request. Its figures carry the two processes' differences (above); two more help:
- `--instructions N` runs both servers under valgrind's callgrind and counts the instructions the server process
  executes for N HEADs (after a warm-up), capture on and off: exact and repeatable, whatever else the machine
  does; the writer process's instructions per event are counted the same way (a batch of 50,000 events written
  once and three times, the difference halved).
- At the end (both modes), capture's own CPU per event, timed directly (the handler's append, then the flush:
  encoding and the hand-off in the server, then the writer's pseudonyms, enrichment, user agents, Arrow table and
  Parquet segment) for batches of 1,000 to 50,000 events (a 10 s flush period at 5,000 req/s is 50,000).

Either way every request answered while capture was on must be one stored event, and is checked; every process
started is stopped by its PID, even on errors.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from machine import CLK_TCK, tree_ticks

from registry import (
    ACCEPT,
    BIN,
    ROOT,
    BenchError,
    CpuMeter,
    Processes,
    Server,
    free_port,
    hey_command,
    parse_hey,
    tail,
    wait_idle,
    wait_ready,
)

sys.path.insert(0, str(ROOT / "src"))
from dockyard.analytics import segments

ADMIN = "admin"
PASSWORD = "bench-capture-password"
REPO = "admin/bench"
TAG = "v1"


@dataclass
class Mode:
    name: str
    capture: bool
    server: Server
    data_dir: Path
    token: str = ""
    rps: list[float] = field(default_factory=list)
    cpu_us_per_request: list[float] = field(default_factory=list)
    requests: int = 0


def start(
    procs: Processes,
    tmp: Path,
    name: str,
    capture: bool,
    flush_seconds: float,
    flush_events: int,
    wrapper: Sequence[str] = (),
    program: Sequence[str] = (),
) -> Mode:
    """A server named `name`: `dockyard serve`, or `program` (a Python script and its arguments) with the same
    settings."""
    port = free_port()
    data_dir = tmp / name
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(
        DOCKYARD_DATA_DIR=str(data_dir),
        DOCKYARD_HOST="127.0.0.1",
        DOCKYARD_PORT=str(port),
        DOCKYARD_ADMIN_USERNAME=ADMIN,
        DOCKYARD_ADMIN_PASSWORD=PASSWORD,
        DOCKYARD_TOKEN_TTL_SECONDS="7200",
        DOCKYARD_LOG_LEVEL="warning",
        DOCKYARD_FSYNC="false",
        DOCKYARD_GC_INTERVAL_SECONDS="0",
        DOCKYARD_API_RATE_LIMIT_PER_MINUTE="0",
        DOCKYARD_ANALYTICS_CAPTURE="true" if capture else "false",
        DOCKYARD_ANALYTICS_FLUSH_SECONDS=str(flush_seconds),
        DOCKYARD_ANALYTICS_FLUSH_EVENTS=str(flush_events),
        # Dict and set layouts follow the hash seed: the same one, so the two servers differ only in capture.
        PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"),
    )
    log = tmp / f"{name}.log"
    program = program or [str(BIN / "dockyard"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd = [*wrapper, str(BIN / "python"), *program]
    server = Server(name, port, procs.start(cmd, log=log, env=env), log)
    wait_ready(server, timeout=600 if "valgrind" in wrapper else 60)
    return Mode(name, capture, server, data_dir)


def token(server: Server, scope: str) -> str:
    basic = base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"{server.base}/token?service=dockyard&scope={scope}", headers={"Authorization": f"Basic {basic}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["token"])


def call(server: Server, method: str, path: str, bearer: str, body: bytes = b"", content_type: str = "") -> int:
    headers = {"Authorization": f"Bearer {bearer}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(server.base + path, data=body or None, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def push_image(server: Server) -> None:
    """A config blob, one layer blob and an OCI manifest, uploaded monolithically over plain HTTP."""
    bearer = token(server, f"repository:{REPO}:pull,push")
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    blobs = [config.encode(), b"a layer that is only bytes\n" * 10]
    descriptors = []
    for blob in blobs:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        request = urllib.request.Request(
            f"{server.base}/v2/{REPO}/blobs/uploads/?digest={digest}",
            data=blob,
            method="POST",
            headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 201:  # no monolithic POST: fall back to POST + PUT
                location = response.headers["Location"]
                separator = "&" if "?" in location else "?"
                call(server, "PUT", f"{location}{separator}digest={digest}", bearer, blob, "application/octet-stream")
        descriptors.append({"size": len(blob), "digest": digest})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **descriptors[0]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **descriptors[1]}],
    }
    body = json.dumps(manifest).encode()
    status = call(server, "PUT", f"/v2/{REPO}/manifests/{TAG}", bearer, body, manifest["mediaType"])
    if status != 201:
        raise BenchError(f"manifest push answered {status}")


# --pin: the servers (their writer processes inherit it) on one core, the load generator on the other.
SERVER_CORE = ["taskset", "-c", "0"]
CLIENT_CORE = ["taskset", "-c", "1"]


def measure(mode: Mode, conns: int, duration: float, others: list[int], idle: float, pin: bool = False) -> None:
    url = f"{mode.server.base}/v2/{REPO}/manifests/{TAG}"
    headers = [f"Accept: {ACCEPT}", f"Authorization: Bearer {mode.token}"]
    client = CLIENT_CORE if pin else []
    warm = [*client, *hey_command(url, method="HEAD", headers=headers, conns=conns, duration=None)]
    warmed = parse_hey(subprocess.run(warm, capture_output=True, text=True, timeout=120, check=False).stdout)
    mode.requests += sum(warmed.statuses.values())
    if idle > 0:
        wait_idle(others, idle)
    cmd = [*client, *hey_command(url, method="HEAD", headers=headers, conns=conns, duration=duration)]
    ticks = tree_ticks([mode.server.proc.pid])
    meter = CpuMeter(others)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, check=False)
    ticks = tree_ticks([mode.server.proc.pid]) - ticks
    foreign = meter.foreign_cores()
    if done.returncode != 0:
        raise BenchError(f"hey failed ({done.returncode}): {done.stderr.strip()[:500]}")
    result = parse_hey(done.stdout)
    if result.errors or set(result.statuses) != {200}:
        raise BenchError(f"{mode.name}: unexpected answers {result.statuses} {result.errors[:3]}")
    answered = sum(result.statuses.values())
    mode.requests += answered
    mode.rps.append(result.rps)
    mode.cpu_us_per_request.append(ticks / CLK_TCK / answered * 1e6)
    print(
        f"  c={conns:<3} {mode.name:<12} {result.rps:8.0f} req/s   p99 {result.p99 * 1000:6.1f} ms   "
        f"server CPU {mode.cpu_us_per_request[-1]:6.0f} µs/request   other load {foreign:.2f} cores",
        flush=True,
    )


def realistic_events(count: int) -> list[Any]:
    """Manifest requests with realistic variety: a few hundred addresses, four agents, 40 repositories."""
    from dockyard.registry.events import ManifestRequested

    agents = ["docker/27.3.1 go/go1.22.7 os/linux arch/amd64", "containerd/v1.7.22", "Watchtower/v1.7.1", "hey/0.0.1"]
    return [
        ManifestRequested(
            repository=f"acme/app{n % 40}",
            reference="v1" if n % 3 else "sha256:" + hashlib.sha256(str(n % 97).encode()).hexdigest(),
            digest="sha256:" + hashlib.sha256(str(n % 97).encode()).hexdigest(),
            method="HEAD" if n % 2 else "GET",
            status=200,
            client_ip=f"198.51.{n % 3}.{n % 251}",
            user_agent=agents[n % len(agents)],
            account=None,
            time_us=time.time_ns() // 1000,
        )
        for n in range(count)
    ]


def component(batch: int, repeats: int) -> tuple[float, float, float]:
    """Capture's own CPU per event, measured directly, for batches of `batch` realistic events, best of `repeats`
    (the least disturbed by other processes): the bus handler's append, the flush's cost in the server process
    (handing the batch to the writer process, waiting for its answer), and the writer's own work (done in the
    child; measured here in process)."""
    from dockyard.analytics.capture import Capture
    from dockyard.analytics.enrich import Enricher
    from dockyard.analytics.event_writer import EventWriter, SegmentWriter
    from dockyard.analytics.writer_process import WriterProcess

    events = realistic_events(batch)

    def best(writer: SegmentWriter) -> tuple[float, float]:
        capture = Capture(writer, flush_events=batch * 10)
        record_best = flush_best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            for event in events:
                capture.record(event)
            recorded = time.process_time()
            capture._flush_sync()
            flushed = time.process_time()
            record_best = min(record_best, (recorded - started) / batch * 1e6)
            flush_best = min(flush_best, (flushed - recorded) / batch * 1e6)
        writer.close()
        return record_best, flush_best

    with tempfile.TemporaryDirectory(prefix="dockyard-capture-component-") as scratch:
        record, handoff = best(WriterProcess(Path(scratch), b"k" * 32))
        _, work = best(EventWriter(Path(scratch), b"k" * 32, Enricher()))
    return record, handoff, work


def overhead(on: float, off: float) -> float:
    return (off - on) / off * 100 if off else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--duration", type=float, help="seconds per hey run (default 3), or per session with --interleave (30)"
    )
    parser.add_argument("--connections", default="2,32", help="comma-separated concurrency levels")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds per level and session")
    parser.add_argument("--sessions", type=int, default=2, help="fresh server pairs, started in swapped order")
    parser.add_argument("--flush-seconds", type=float, default=10.0, help="DOCKYARD_ANALYTICS_FLUSH_SECONDS")
    parser.add_argument("--flush-events", type=int, default=50_000, help="DOCKYARD_ANALYTICS_FLUSH_EVENTS")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the component measurement (best kept)")
    parser.add_argument("--skip-servers", action="store_true", help="no throughput comparison")
    parser.add_argument("--same", action="store_true", help="capture off on both servers (the noise floor)")
    parser.add_argument("--pin", action="store_true", help="servers on the first core, hey on the second")
    parser.add_argument(
        "--interleave", action="store_true", help="one server per session, capture switched on and off in phases"
    )
    parser.add_argument("--phase-seconds", type=float, default=0.1, help="--interleave: length of a phase")
    parser.add_argument("--flush-every", type=int, default=50, help="--interleave: 'on' phases per write")
    parser.add_argument("--instructions", type=int, default=0, help="count instructions for N HEADs (callgrind)")
    parser.add_argument("--wait-idle", type=float, default=0.0, help="wait up to N s for other load to stop")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 30.0 if args.interleave else 3.0
    levels = [int(part) for part in args.connections.split(",") if part.strip()]
    status = 0
    with tempfile.TemporaryDirectory(prefix="dockyard-capture-bench-") as scratch:
        tmp = Path(scratch)
        server_cpu = 0.0
        if args.interleave:
            status = interleaved(args, levels, tmp)
        elif not args.skip_servers:
            status, server_cpu = servers(args, levels, tmp)
        if args.instructions:
            status = max(status, instructions(args, tmp / "callgrind"))
        for batch in (1_000, 10_000, 50_000):
            record, handoff, work = component(batch, args.repeats)
            line = (
                f"capture's CPU per event, batches of {batch:>6}: in the server process the handler {record:.2f} µs"
                f" + encoding and hand-off {handoff:.2f} µs"
            )
            if server_cpu:
                line += f" = {(record + handoff) / server_cpu * 100:.1f} % of its {server_cpu:.0f} µs per HEAD"
            print(f"{line}; in the writer process {work:.2f} µs")
    return status


@dataclass
class Pooled:
    """One concurrency level's samples, from every session: per server kind, and each round pair's overhead."""

    rps: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    pairs: list[float] = field(default_factory=list)


def servers(args: argparse.Namespace, levels: list[int], tmp: Path) -> tuple[int, float]:
    """The hey runs against pairs of servers; returns the exit status and the first kind's CPU µs per HEAD."""
    kinds = [("capture-off", False), ("capture-off-2", False) if args.same else ("capture-on", True)]
    pooled = {conns: Pooled() for conns in levels}
    print(
        f"manifest HEAD by tag, hey -z {args.duration:g}s, {args.sessions} sessions of {args.rounds} alternating "
        "rounds",
        flush=True,
    )
    for session in range(args.sessions):
        # The start order alternates between sessions: the server started second measured slower even when both
        # did the same work (a capture handler that returned at once: +4 %), and only a swap cancels such a bias.
        order = kinds if session % 2 == 0 else kinds[::-1]
        if not run_session(args, levels, tmp / f"session-{session}", order, pooled):
            return 1, 0.0

    (first, _), (second, _) = kinds
    print()
    print(
        f"| connections | {first} (req/s) | {second} (req/s) | overhead of the medians | round pairs: median "
        "overhead (quartiles) | server CPU (µs/req) |"
    )
    print("|---|---|---|---|---|---|")
    for conns, samples in pooled.items():
        rps_off, rps_on = (statistics.median(samples.rps[name]) for name in (first, second))
        cpu_off, cpu_on = (statistics.median(samples.cpu[name]) for name in (first, second))
        low, middle, high = quartiles(samples.pairs)
        print(
            f"| {conns} | {rps_off:.0f} | {rps_on:.0f} | {overhead(rps_on, rps_off):+.1f} % | {middle:+.1f} % "
            f"({low:+.1f} … {high:+.1f}) | {cpu_off:.0f} / {cpu_on:.0f} ({(cpu_on - cpu_off) / cpu_off * 100:+.1f} %) |"
        )
    return 0, statistics.median(statistics.median(samples.cpu[first]) for samples in pooled.values())


def run_session(
    args: argparse.Namespace, levels: list[int], tmp: Path, order: list[tuple[str, bool]], pooled: dict[int, Pooled]
) -> bool:
    """One pair of fresh servers, started in `order`, through every level's rounds; False on an error."""
    tmp.mkdir(parents=True)
    procs = Processes()
    try:
        wrapper = SERVER_CORE if args.pin else []
        modes = {
            name: start(procs, tmp, name, capture, args.flush_seconds, args.flush_events, wrapper)
            for name, capture in order
        }
        for mode in modes.values():
            push_image(mode.server)
            mode.token = token(mode.server, f"repository:{REPO}:pull")
        pids = [mode.server.proc.pid for mode in modes.values()]
        off, on = (modes[name] for name in sorted(modes, key=lambda name: name != "capture-off"))
        for conns in levels:
            off.rps, off.cpu_us_per_request, on.rps, on.cpu_us_per_request = [], [], [], []
            for round_number in range(args.rounds):
                for mode in (off, on) if round_number % 2 == 0 else (on, off):
                    measure(mode, conns, args.duration, pids, args.wait_idle, args.pin)
            pool(pooled[conns], off, on)
        procs.stop_all()  # SIGTERM: the capturing server flushes its buffer on the way out
    except BenchError as exc:
        report(exc, tmp)
        return False
    finally:
        procs.stop_all()
    if not on.capture:
        return True
    return stored_all(on.data_dir, on.requests)


def report(error: Exception, tmp: Path) -> None:
    """The error and the end of every log the failed session wrote."""
    print(f"error: {error}", file=sys.stderr)
    for log in tmp.glob("*.log"):
        print(f"--- {log.name}\n{tail(log)}", file=sys.stderr)


def pool(samples: Pooled, off: Mode, on: Mode) -> None:
    for mode in (off, on):
        samples.rps.setdefault(mode.name, []).extend(mode.rps)
        samples.cpu.setdefault(mode.name, []).extend(mode.cpu_us_per_request)
    # Each round's pair ran back to back, so its ratio is the least disturbed by drifting speed.
    samples.pairs.extend(overhead(b, a) for a, b in zip(off.rps, on.rps, strict=True))


def stored_all(data_dir: Path, requests: int, quiet: bool = False) -> bool:
    """Whether the segments in `data_dir` hold exactly one event per captured request (checked after the server
    stopped, so after its last flush)."""
    stored = sum(sum(by_source.values()) for by_source in segments.count_by_day(data_dir).values())
    if stored != requests or not quiet:
        verdict = "every request is one event" if stored == requests else "MISMATCH"
        print(f"capture answered {requests} manifest HEADs and stored {stored} events: {verdict}", flush=True)
    return stored == requests


# --- --interleave: capture switched on and off in one server, many times a second ---------------------------
TOGGLE_SERVER = ROOT / "benchmarks" / "capture_toggle_server.py"
Phase = tuple[bool, float, int]  # capture on, seconds, manifest requests answered


def interleaved(args: argparse.Namespace, levels: list[int], tmp: Path) -> int:
    """Per concurrency level, `args.sessions` fresh servers, each alternating capture off and on in phases of
    `args.phase_seconds` under one `hey` run (capture_toggle_server.py); the throughput of each state is its
    requests over its time, the writes of the "on" phases' events included in them."""
    kind = "capture off in both states (--same)" if args.same else "capture off and on"
    print(
        f"manifest HEAD by tag, {kind}, in phases of {args.phase_seconds:g} s (every {args.flush_every}th 'on' "
        f"phase writing the events), {args.sessions} sessions of {args.duration:g} s",
        flush=True,
    )
    rows = []
    for conns in levels:
        sessions: list[list[Phase]] = []
        for session in range(args.sessions):
            phases = interleaved_session(args, conns, tmp / f"c{conns}-session-{session}")
            if phases is None:
                return 1
            sessions.append(phases)
            print(f"  c={conns:<3} session {session}: {phase_summary(phases)}", flush=True)
        rows.append((conns, sessions))
    print()
    print(
        "| connections | capture off (req/s) | capture on (req/s) | overhead | blocks: median (quartiles) | "
        "95 % interval (bootstrap over blocks) |"
    )
    print("|---|---|---|---|---|---|")
    for conns, sessions in rows:
        blocks = [block for phases in sessions for block in phase_blocks(phases, args.flush_every)]
        (off, on), total = rates(chain.from_iterable(sessions)), overhead_of(chain.from_iterable(sessions))
        low, middle, high = quartiles([overhead_of(block) for block in blocks])
        ci_low, ci_high = bootstrap(blocks)
        print(
            f"| {conns} | {off:.0f} | {on:.0f} | {total:+.1f} % | {middle:+.1f} % ({low:+.1f} … {high:+.1f}) | "
            f"{ci_low:+.1f} … {ci_high:+.1f} % |"
        )
    return 0


def interleaved_session(args: argparse.Namespace, conns: int, tmp: Path) -> list[Phase] | None:
    """One fresh server under one `hey` run; its phases, or None on an error."""
    tmp.mkdir(parents=True)
    procs = Processes()
    out = tmp / "phases.json"
    try:
        program = [str(TOGGLE_SERVER), str(out), str(args.phase_seconds), str(args.flush_every), str(int(args.same))]
        # No periodic flush: the "on" phases write their events themselves.
        mode = start(procs, tmp, "server", True, 3600, 10**9, SERVER_CORE if args.pin else [], program)
        push_image(mode.server)
        headers = [f"Accept: {ACCEPT}", f"Authorization: Bearer {token(mode.server, f'repository:{REPO}:pull')}"]
        url = f"{mode.server.base}/v2/{REPO}/manifests/{TAG}"
        # hey runs until interrupted (it then prints its summary); its duration only bounds a lost run.
        load = hey_command(url, method="HEAD", headers=headers, conns=conns, duration=args.duration + 600)
        hey = procs.start([*(CLIENT_CORE if args.pin else []), *load], log=tmp / "hey.log")
        time.sleep(1.0)  # every connection open and busy
        os.kill(mode.server.proc.pid, signal.SIGUSR2)
        time.sleep(0.5 + args.duration)  # the writer's warm-up, then the phases
        os.kill(mode.server.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 120
        while not out.exists():
            if time.monotonic() > deadline or mode.server.proc.poll() is not None:
                raise BenchError("the server did not report its phases")
            time.sleep(0.05)
        os.kill(hey.pid, signal.SIGINT)
        hey.wait(timeout=60)
        answers = parse_hey((tmp / "hey.log").read_text())
        if answers.errors or set(answers.statuses) != {200}:
            raise BenchError(f"unexpected answers {answers.statuses} {answers.errors[:3]}")
        result = json.loads(out.read_text())
        phases = [(bool(on), float(seconds), int(count)) for on, seconds, count in result["phases"]]
        captured = result["warm_up"] + (0 if args.same else sum(count for on, _, count in phases if on))
        if result["written"] != captured:
            raise BenchError(f"the server wrote {result['written']} events for {captured} captured requests")
        procs.stop_all()
    except (BenchError, subprocess.TimeoutExpired) as exc:
        report(exc, tmp)
        return None
    finally:
        procs.stop_all()
    return phases if stored_all(mode.data_dir, captured, quiet=True) else None


def rates(phases: Iterable[Phase]) -> tuple[float, float]:
    """Requests per second with capture off and on."""
    spent = {False: 0.0, True: 0.0}
    answered = {False: 0, True: 0}
    for on, seconds, count in phases:
        spent[on] += seconds
        answered[on] += count
    return answered[False] / spent[False], answered[True] / spent[True]


def overhead_of(phases: Iterable[Phase]) -> float:
    off, on = rates(phases)
    return overhead(on, off)


def phase_blocks(phases: list[Phase], flush_every: int) -> list[list[Phase]]:
    """Consecutive runs of `flush_every` off/on pairs: each holds exactly one write, at the end of its last "on"
    phase (the last block, cut short by the end of the run, also ends with one)."""
    size = 2 * flush_every
    return [phases[start : start + size] for start in range(0, len(phases), size)]


def bootstrap(blocks: list[list[Phase]], draws: int = 2000) -> tuple[float, float]:
    """A 95 % interval of the overhead, from the blocks drawn with replacement (fixed seed: repeatable)."""
    draw = random.Random(0)
    values = sorted(overhead_of(chain.from_iterable(draw.choices(blocks, k=len(blocks)))) for _ in range(draws))
    return values[int(draws * 0.025)], values[int(draws * 0.975) - 1]


def phase_summary(phases: list[Phase]) -> str:
    off, on = rates(phases)
    count = sum(1 for on_phase, _, _ in phases if on_phase)
    return f"{count} phases each, off {off:.0f} req/s, on {on:.0f} req/s: {overhead(on, off):+.1f} %"


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, middle, high = statistics.quantiles(values, n=4)
    return low, middle, high


# --- instructions, counted by callgrind ----------------------------------------------------------------------
def callgrind(out: Path) -> list[str]:
    """Run under callgrind with instrumentation off until `callgrind_control -i on`; the counts go to `out`."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def counted_instructions(out: Path) -> int:
    """The instructions of every dump of one callgrind run (`callgrind_control -d` writes `out.1`, `out.2`...)."""
    total = 0
    for dump in out.parent.glob(f"{out.name}*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


def instructions(args: argparse.Namespace, tmp: Path) -> int:
    """Instructions the server process executes per manifest HEAD, capture off and on, for `args.instructions`
    HEADs after a warm-up, and the writer process's per event. The capturing server writes nothing during the
    count (a flush period of an hour): the flush's share in the server is the timed hand-off printed below."""
    if subprocess.run(["valgrind", "--version"], capture_output=True, check=False).returncode != 0:
        print("error: valgrind not found: apt-get install -y valgrind", file=sys.stderr)
        return 1
    tmp.mkdir(parents=True, exist_ok=True)
    procs = Processes()
    counts: dict[str, float] = {}
    try:
        for name, capture in (("capture-off", False), ("capture-on", True)):
            out = tmp / f"{name}.callgrind"
            mode = start(procs, tmp, name, capture, 3600, 10**9, wrapper=callgrind(out))
            push_image(mode.server)
            mode.token = token(mode.server, f"repository:{REPO}:pull")
            heads(mode, 300)
            pid = str(mode.server.proc.pid)
            subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=True)
            heads(mode, args.instructions)
            subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
            counts[name] = counted_instructions(out) / args.instructions
            print(f"{name}: {counts[name]:,.0f} instructions per HEAD in the server process", flush=True)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
    writer = writer_instructions(tmp)
    off, on = counts["capture-off"], counts["capture-on"]
    print(
        f"capture adds {on - off:,.0f} instructions per HEAD in the server ({(on - off) / off * 100:+.1f} %) and "
        f"{writer:,.0f} per event in the writer process ({writer / off * 100:.1f} % of a HEAD); together "
        f"{(on - off + writer) / off * 100:+.1f} %"
    )
    return 0


def heads(mode: Mode, count: int) -> None:
    url = f"{mode.server.base}/v2/{REPO}/manifests/{TAG}"
    headers = [f"Accept: {ACCEPT}", f"Authorization: Bearer {mode.token}"]
    cmd = hey_command(url, method="HEAD", headers=headers, conns=2, duration=None)
    cmd[cmd.index("-n") + 1] = str(count)
    result = parse_hey(subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False).stdout)
    if result.statuses != {200: count}:
        raise BenchError(f"{mode.name}: unexpected answers {result.statuses} {result.errors[:3]}")


WRITER_SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from analytics_capture import realistic_events
from dockyard.analytics.enrich import Enricher
from dockyard.analytics.event_writer import EventWriter, encoded
records = b"".join(encoded(event, "dockyard") for event in realistic_events(50_000))
writer = EventWriter(Path(sys.argv[1]), b"k" * 32, Enricher())
for _ in range(int(sys.argv[2])):
    writer.write_records(records)
"""


def writer_instructions(tmp: Path) -> float:
    """The writer's instructions per event: a 50,000-event batch written three times and once, the difference
    halved, so that start-up and the batch's making cancel out."""
    totals = []
    for times in (1, 3):
        out = tmp / f"writer-{times}.callgrind"
        cmd = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(BIN / "python"), "-c", WRITER_SCRIPT,
            str(tmp / f"writer-{times}"), str(times), str(ROOT / "benchmarks"),
        ]  # fmt: skip
        subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT, timeout=3600)
        totals.append(counted_instructions(out))
    return (totals[1] - totals[0]) / 2 / 50_000


if __name__ == "__main__":
    sys.exit(main())
