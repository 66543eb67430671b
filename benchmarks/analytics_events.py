"""A generator of realistic synthetic manifest events in the shared analytics format, with their ground truth.

    .venv/bin/python benchmarks/analytics_events.py --events 10000000 --days 35 --out DIR [--seed 7]
        [--start 2024-01-01] [--clients N] [--repos 200] [--tags 15] [--window 60]

DIR is laid out like a Dockyard data directory: `DIR/analytics/events/day=YYYY-MM-DD/*.parquet` (written through
`dockyard.analytics.segments`, so the format is exactly the server's), and `DIR/_truth.json` holds the action
counts the generated sessions stand for (totals, per day, per ISO week, per month). The same seed gives the same
files' rows. Memory stays flat: one day is built (numpy, vectorised), written and dropped before the next.

What a day holds (shares of client sessions; "D0" is a tag's index digest, "Dp" a platform manifest's):

    59 %  HEAD tag                                   -> version_check
    20 %  HEAD tag, GET D0, GET Dp (multi-arch)      -> pull_by_tag
     5 %  GET tag                                    -> pull_by_tag
     5 %  GET tag, GET Dp                            -> pull_by_tag
     3 %  HEAD tag, GET D0                           -> pull_by_tag
     2 %  HEAD D0, GET D0, GET Dp                    -> pull_by_digest
     2 %  GET Dp                                     -> pull_by_digest
     1 %  GET D0, GET Dp                             -> pull_by_digest
     2 %  HEAD tag, then GET of an unrelated digest  -> version_check + pull_by_digest
     1 %  HEAD/GET of a missing tag (404)            -> nothing (kept as events, not actions)

Clients are drawn from a heavy-tailed pool (index = pool * u^3), about 5 % of the pool being IPv6 clients; each
client has one realistic user agent, a country, a hosting provider for the cloud share, an IP type and a domain.
Repositories (spread over 12 namespaces) and tags are Zipf-popular. Requests of one session are 5 ms + exp(150 ms)
apart; sessions start on a diurnal curve, with quieter weekends.

The truth is exact for any classification window up to `--window` seconds (default 60): two sessions of the same
(client, user agent, repository) are never closer than the window plus the longest session (a session that would
be is handed to a fresh one-off client instead), including across midnight, and no session crosses midnight.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from dockyard.analytics import segments  # noqa: E402
from dockyard.analytics.useragents import parse as parse_user_agent  # noqa: E402

SECONDS_PER_DAY = 86_400
MAX_GAP = 2.0  # seconds between two requests of one session, at most
MAX_SESSION = 3 * MAX_GAP

# --- session patterns ---------------------------------------------------------------------------------------
HEAD, GET = 0, 1
TAG, D0, DP, UNRELATED, MISSING = 0, 1, 2, 3, 4
NO_DIGEST = -1
# (share, [(method, reference kind, resolved digest kind)], {action: count})
PATTERNS: list[tuple[float, list[tuple[int, int, int]], dict[str, int]]] = [
    (0.59, [(HEAD, TAG, D0)], {"version_check": 1}),
    (0.20, [(HEAD, TAG, D0), (GET, D0, D0), (GET, DP, DP)], {"pull_by_tag": 1}),
    (0.05, [(GET, TAG, D0)], {"pull_by_tag": 1}),
    (0.05, [(GET, TAG, D0), (GET, DP, DP)], {"pull_by_tag": 1}),
    (0.03, [(HEAD, TAG, D0), (GET, D0, D0)], {"pull_by_tag": 1}),
    (0.02, [(HEAD, D0, D0), (GET, D0, D0), (GET, DP, DP)], {"pull_by_digest": 1}),
    (0.02, [(GET, DP, DP)], {"pull_by_digest": 1}),
    (0.01, [(GET, D0, D0), (GET, DP, DP)], {"pull_by_digest": 1}),
    (0.02, [(HEAD, TAG, D0), (GET, UNRELATED, UNRELATED)], {"version_check": 1, "pull_by_digest": 1}),
    (0.01, [(GET, MISSING, NO_DIGEST)], {}),
]
ACTIONS = ("version_check", "pull_by_tag", "pull_by_digest")
MAX_EVENTS = max(len(steps) for _, steps, _ in PATTERNS)
SHARES = np.array([share for share, _, _ in PATTERNS])
SHARES /= SHARES.sum()
N_EVENTS = np.array([len(steps) for _, steps, _ in PATTERNS])


def _table(column: int, fill: int) -> np.ndarray:
    out = np.full((len(PATTERNS), MAX_EVENTS), fill, dtype=np.int8)
    for p, (_, steps, _) in enumerate(PATTERNS):
        for k, step in enumerate(steps):
            out[p, k] = step[column]
    return out


METHOD_OF, REF_OF, DIGEST_OF = _table(0, HEAD), _table(1, TAG), _table(2, NO_DIGEST)
ACTION_COUNTS = np.array([[counts.get(a, 0) for a in ACTIONS] for _, _, counts in PATTERNS], dtype=np.int64)

# --- the world ----------------------------------------------------------------------------------------------
NAMESPACES = [
    "library", "acme", "bitnami", "grafana", "nginxinc", "hashicorp",
    "cimg", "linuxserver", "homeassistant", "jetbrains", "apache", "dockyard",
]  # fmt: skip
TAG_NAMES = [
    "latest", "1", "1.27", "1.27.3", "stable", "alpine", "bookworm", "2", "2.4", "2.4.1",
    "slim", "edge", "lts", "22.04", "main",
]  # fmt: skip
MISSING_TAG = "does-not-exist"
USER_AGENTS: list[tuple[float, str]] = [
    (0.22, "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0-1015-aws os/linux arch/amd64 "
           "UpstreamClient(Docker-Client/27.3.1 \\(linux\\))"),
    (0.08, "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/5.15.0-91-generic os/linux arch/amd64 "
           "UpstreamClient(Docker-Client/24.0.7 \\(linux\\))"),
    (0.06, "docker/26.1.4 go/go1.21.11 git-commit/de5c9cf kernel/6.6.32-linuxkit os/linux arch/arm64 "
           "UpstreamClient(Docker-Client/26.1.4 \\(darwin\\))"),
    (0.03, "docker/20.10.21 go/go1.18.7 git-commit/3056208 kernel/5.10.0-19-amd64 os/linux arch/amd64 "
           "UpstreamClient(Docker-Client/20.10.21 \\(linux\\))"),
    (0.12, "containerd/v1.7.22"),
    (0.05, "containerd/v1.6.21-k3s1"),
    (0.04, "containerd/1.7.13+unknown"),
    (0.05, "containers/5.32.2 (github.com/containers/image)"),
    (0.02, "skopeo/1.9.3"),
    (0.05, "buildkit/v0.16"),
    (0.06, "Watchtower/v1.7.1"),
    (0.04, "RenovateBot/37.100.0 (https://github.com/renovatebot/renovate)"),
    (0.03, "crane/v0.20.2 go-containerregistry/v0.20.2"),
    (0.02, "cosign/v2.4.1 (linux; amd64) go-containerregistry/v0.20.2"),
    (0.02, "oras/1.2.0 (linux/amd64)"),
    (0.02, "Helm/3.16.2"),
    (0.02, "regclient/regclient (v0.7.1)"),
    (0.03, "Go-http-client/1.1"),
    (0.02, "python-requests/2.32.3"),
    (0.02, "curl/8.5.0"),
    (0.01, "cri-o/1.30.4 go/go1.22.5 os/linux arch/amd64"),
    (0.01, "diun/4.28.0 go/go1.22.1 (linux/amd64)"),
    (0.01, "Artifactory/7.90.9 79009900"),
    (0.01, "trivy/0.56.2"),
]  # fmt: skip
COUNTRIES = ["US", "DE", "GB", "FR", "NL", "IN", "CN", "JP", "BR", "CA", "IE", "SG", "AU", "KR", "SE", "PL", "FI"]
COUNTRY_WEIGHTS = [30, 10, 6, 5, 5, 6, 6, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1]
HOSTS = ["aws", "gcp", "azure", "hetzner", "digitalocean", "ovhcloud", "oracle", "github"]
HOST_WEIGHTS = [40, 18, 15, 8, 6, 5, 4, 4]
HOST_DOMAINS = ["amazonaws.com", "googleusercontent.com", "azure.com", "hetzner.com", "digitalocean.com",
                "ovh.net", "oraclecloud.com", "github.com"]  # fmt: skip
ISP_DOMAINS = ["comcast.net", "t-online.de", "bt.com", "orange.fr", "kpn.com", "jio.com", "chinatelecom.cn",
               "ntt.co.jp", "vivo.com.br", "rogers.com", "verizon.net", "deutsche-telekom.de"]  # fmt: skip
IP_TYPES = ["business", "isp", "hosting", "education"]


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A fast, well-mixed 64-bit hash of each value (wrapping uint64 arithmetic is the point)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _pick(hashes: np.ndarray, weights: list[float] | list[int]) -> np.ndarray:
    """A weighted choice per client, stable because it is a function of the client's hash."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    u = (hashes >> np.uint64(11)).astype(np.float64) / float(1 << 53) * cumulative[-1]
    picked: np.ndarray = np.searchsorted(cumulative, u, side="right").astype(np.int32)
    return picked


def _zipf(n: int, s: float) -> np.ndarray:
    p: np.ndarray = 1.0 / np.arange(1, n + 1) ** s
    shares: np.ndarray = p / p.sum()
    return shares


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


class World:
    def __init__(self, args: argparse.Namespace) -> None:
        self.seed = args.seed
        self.repos = args.repos
        self.tags = min(args.tags, len(TAG_NAMES))
        self.pool = args.clients
        self.repo_p = _zipf(self.repos, 1.1)
        self.tag_p = _zipf(self.tags, 1.3)
        self.namespace_of_repo = [NAMESPACES[r % len(NAMESPACES)] for r in range(self.repos)]
        self.name_of_repo = [f"app-{r:03d}" for r in range(self.repos)]
        # references: the tags, then 3 digests per (repo, tag) (index, amd64, arm64), then the missing tag.
        digests = [_digest(self.seed, r, t, k) for r in range(self.repos) for t in range(self.tags) for k in range(3)]
        self.references = pa.array(TAG_NAMES[: self.tags] + digests + [MISSING_TAG], pa.string())
        self.digests = pa.array(digests, pa.string())
        self.namespaces = pa.array(self.namespace_of_repo, pa.string())
        self.repositories = pa.array(self.name_of_repo, pa.string())
        agents = [ua for _, ua in USER_AGENTS]
        parsed = [parse_user_agent(ua) for ua in agents]
        self.ua_weights = [w for w, _ in USER_AGENTS]
        self.user_agents = pa.array(agents, pa.string())
        self.ua_tools = pa.array([p.tool for p in parsed], pa.string())
        self.ua_versions = pa.array([p.version for p in parsed], pa.string())
        self.countries = pa.array(COUNTRIES, pa.string())
        self.hosts = pa.array(HOSTS, pa.string())
        self.ip_types = pa.array(IP_TYPES, pa.string())
        self.domains = pa.array(
            [f"company{i}.example" for i in range(5000)] + ISP_DOMAINS + HOST_DOMAINS + ["university.example.edu"],
            pa.string(),
        )
        self.accounts = pa.array([f"user{i}" for i in range(2000)], pa.string())
        self.methods = pa.array(["HEAD", "GET"], pa.string())  # indexed by HEAD, GET
        self.sources = pa.array(["dockyard"], pa.string())
        self.next_one_off = self.pool  # fresh client indexes handed to sessions that would collide

    def client_attributes(self, clients: np.ndarray) -> dict[str, np.ndarray]:
        """Everything about a client that is a function of its index: its pseudonym, and indexes into the
        dictionaries of agents, countries, providers, IP types, domains and accounts (-1 for null)."""
        h = [splitmix64(clients.astype(np.uint64) ^ np.uint64(salt * 0x1000193 + self.seed)) for salt in range(8)]
        ipv6 = (h[7] % np.uint64(100)) < np.uint64(5)
        # IPv6 clients hash from a separate space, as their addresses would.
        pseudonym = splitmix64(h[0] ^ np.where(ipv6, np.uint64(0x6666), np.uint64(0x4444)))
        # ip type: 25 % hosting, 30 % business, 35 % isp, 3 % education, 7 % unknown
        kind = np.minimum(_pick(h[3], [25, 30, 35, 3, 7]), 4)
        host = _pick(h[4], HOST_WEIGHTS).astype(np.int64)
        business_domain = (h[5] % np.uint64(5000)).astype(np.int64)
        isp_domain = 5000 + (h[5] % np.uint64(len(ISP_DOMAINS))).astype(np.int64)
        hosting_domain = 5000 + len(ISP_DOMAINS) + host
        education_domain = np.full_like(business_domain, len(self.domains) - 1)
        authenticated = (h[6] % np.uint64(100)) < np.uint64(3)
        account = ((h[6] >> np.uint64(8)) % np.uint64(len(self.accounts))).astype(np.int64)
        return {
            "client": pseudonym,
            "ua": _pick(h[1], self.ua_weights),
            "country": _pick(h[2], COUNTRY_WEIGHTS),
            "host": np.where(kind == 0, host, -1),
            "ip_type": np.choose(kind, [2, 0, 1, 3, -1]).astype(np.int64),
            "domain": np.choose(kind, [hosting_domain, business_domain, isp_domain, education_domain, -1]),
            "account": np.where(authenticated, account, -1),
        }


def _dictionary(indices: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
    """A dictionary-encoded column (negative index = null): no string is copied per row. The dictionary holds
    each value once, as any Parquet writer's does (one with repeats is written as plain strings instead)."""
    unique = values.dictionary_encode()
    # Index -1 (null) picks the appended -1.
    remap = np.append(unique.indices.fill_null(-1).to_numpy(zero_copy_only=False), -1)[indices]
    return pa.DictionaryArray.from_arrays(pa.array(remap.astype(np.int32), mask=remap < 0), unique.dictionary)


def _session_starts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day: a flat base plus a working-hours bump, kept clear of midnight."""
    base = rng.uniform(0, SECONDS_PER_DAY, n)
    bump = rng.normal(14 * 3600, 4 * 3600, n)
    starts = np.where(rng.random(n) < 0.6, base, bump)
    return np.clip(starts, 0.0, SECONDS_PER_DAY - MAX_SESSION - 1.0)


def _resolve_collisions(
    world: World, clients: np.ndarray, repos: np.ndarray, starts: np.ndarray, carry: tuple[np.ndarray, ...], gap: float
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Give a fresh one-off client to every session that starts within `gap` of the previous session of the same
    (client, repository), yesterday's late sessions included; returns the clients and today's late sessions."""
    carry_clients, carry_repos, carry_starts = carry
    all_clients = np.concatenate([carry_clients, clients])
    all_repos = np.concatenate([carry_repos, repos])
    all_starts = np.concatenate([carry_starts - SECONDS_PER_DAY, starts])
    today = np.concatenate([np.zeros(len(carry_clients), bool), np.ones(len(clients), bool)])
    order = np.lexsort((all_starts, all_repos, all_clients))
    c, r, s = all_clients[order], all_repos[order], all_starts[order]
    same_key = (c[1:] == c[:-1]) & (r[1:] == r[:-1])
    too_close = same_key & (s[1:] < s[:-1] + gap)
    collide = np.zeros(len(order), bool)
    collide[1:] = too_close & today[order][1:]
    moved = order[collide] - len(carry_clients)
    clients = clients.copy()
    clients[moved] = np.arange(world.next_one_off, world.next_one_off + len(moved))
    world.next_one_off += len(moved)
    late = starts > SECONDS_PER_DAY - gap
    return clients, (clients[late], repos[late], starts[late])


def generate_day(
    world: World, day: date, day_index: int, n_events: int, carry: tuple[np.ndarray, ...], window: float
) -> tuple[pa.Table, np.ndarray, tuple[np.ndarray, ...], int]:
    rng = np.random.default_rng([world.seed, day_index])
    mean_events = float((SHARES * N_EVENTS).sum())
    n_sessions = int(n_events / mean_events * 1.05) + 16
    patterns = rng.choice(len(PATTERNS), size=n_sessions, p=SHARES)
    sizes = N_EVENTS[patterns]
    # Exactly n_events: keep the sessions that fit, then fill up with one-request version checks.
    keep = int(np.searchsorted(np.cumsum(sizes), n_events, side="right"))
    patterns = patterns[:keep]
    missing = n_events - int(sizes[:keep].sum())
    patterns = np.concatenate([patterns, np.zeros(missing, dtype=patterns.dtype)])
    n_sessions = len(patterns)
    sizes = N_EVENTS[patterns]

    clients = (world.pool * rng.random(n_sessions) ** 3).astype(np.int64)
    repos = rng.choice(world.repos, size=n_sessions, p=world.repo_p)
    tags = rng.choice(world.tags, size=n_sessions, p=world.tag_p)
    platform = np.where(rng.random(n_sessions) < 0.6, 1, 2)
    starts = _session_starts(rng, n_sessions)
    clients, carry = _resolve_collisions(world, clients, repos, starts, carry, window + MAX_SESSION + 1.0)

    # One row per event: its session and its position in the session.
    session = np.repeat(np.arange(n_sessions), sizes)
    first = np.cumsum(sizes) - sizes
    position = np.arange(len(session)) - np.repeat(first, sizes)
    pattern_of_event = patterns[session]
    gaps = np.where(position > 0, np.minimum(0.005 + rng.exponential(0.150, len(session)), MAX_GAP), 0.0)
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[first], sizes)
    seconds = starts[session] + elapsed
    ts_us = (np.datetime64(day, "us") + (seconds * 1e6).astype("timedelta64[us]")).astype("datetime64[us]")

    method = METHOD_OF[pattern_of_event, position]
    ref_kind = REF_OF[pattern_of_event, position]
    digest_kind = DIGEST_OF[pattern_of_event, position]
    r, t = repos[session].astype(np.int64), tags[session].astype(np.int64)
    unrelated_t = (t + 1) % world.tags
    base = (r * world.tags + t) * 3
    unrelated = (r * world.tags + unrelated_t) * 3 + 1
    p = platform[session]

    def digest_index(kind: np.ndarray) -> np.ndarray:
        return np.select([kind == D0, kind == DP, kind == UNRELATED], [base, base + p, unrelated], -1)

    reference = np.where(ref_kind == TAG, t, world.tags + digest_index(ref_kind))
    reference = np.where(ref_kind == MISSING, len(world.references) - 1, reference)
    digest = digest_index(digest_kind)

    attributes = world.client_attributes(clients)
    per_event = {name: values[session] for name, values in attributes.items()}
    repo_of_event = repos[session]
    columns: dict[str, Any] = {
        "ts": pa.array(ts_us, pa.timestamp("us")),
        "client": pa.array(per_event["client"], pa.uint64()),
        "user_agent": _dictionary(per_event["ua"], world.user_agents),
        "ua_tool": _dictionary(per_event["ua"], world.ua_tools),
        "ua_version": _dictionary(per_event["ua"], world.ua_versions),
        "method": _dictionary(method.astype(np.int64), world.methods),
        "namespace": _dictionary(repo_of_event, world.namespaces),
        "repository": _dictionary(repo_of_event, world.repositories),
        "reference": _dictionary(reference, world.references),
        "digest": _dictionary(digest, world.digests),
        "status": pa.array(np.where(ref_kind == MISSING, 404, 200).astype(np.int16), pa.int16()),
        "account": _dictionary(per_event["account"], world.accounts),
        "country": _dictionary(per_event["country"], world.countries),
        "host": _dictionary(per_event["host"], world.hosts),
        "ip_type": _dictionary(per_event["ip_type"], world.ip_types),
        "domain": _dictionary(per_event["domain"], world.domains),
        "source": _dictionary(np.zeros(len(session), np.int64), world.sources),
    }
    table = segments.conform(pa.table(columns))
    return table, ACTION_COUNTS[patterns].sum(axis=0), carry, n_sessions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1), help="first day (UTC)")
    parser.add_argument("--out", type=Path, required=True, help="a data directory to write into")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, default=0, help="client pool size (default events / 10)")
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--tags", type=int, default=15)
    parser.add_argument("--window", type=float, default=60.0, help="largest classification window the truth holds for")
    args = parser.parse_args(argv)
    if args.events < args.days:
        parser.error("--events must be at least --days")
    args.clients = args.clients or max(1000, args.events // 10)
    existing = segments.segment_paths(args.out)
    if existing:
        parser.error(f"{args.out} already holds {len(existing)} segments; choose an empty directory")

    world = World(args)
    # Weekdays carry more traffic than weekends; every day gets its share of the exact total.
    weights = np.array([0.7 if (args.start + timedelta(d)).weekday() >= 5 else 1.0 for d in range(args.days)])
    per_day = np.floor(args.events * weights / weights.sum()).astype(np.int64)
    per_day[: args.events - int(per_day.sum())] += 1

    empty = np.zeros(0, np.int64)
    carry: tuple[np.ndarray, ...] = (empty, empty, np.zeros(0, np.float64))
    totals = np.zeros(len(ACTIONS), np.int64)
    by_day: dict[str, dict[str, int]] = {}
    by_week: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ACTIONS), np.int64))
    by_month: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ACTIONS), np.int64))
    written, sessions, started = 0, 0, time.perf_counter()
    # Writing (zstd, in Arrow's C++ without the GIL) overlaps with generating the next day; two days in memory.
    pending: Future[Path] | None = None
    with ThreadPoolExecutor(max_workers=1) as writer:
        for d in range(args.days):
            day = args.start + timedelta(d)
            table, actions, carry, day_sessions = generate_day(world, day, d, int(per_day[d]), carry, args.window)
            if pending is not None:
                pending.result()
            pending = writer.submit(segments.write_day, args.out, day, table)
            written += table.num_rows
            sessions += day_sessions
            totals += actions
            by_day[day.isoformat()] = dict(zip(ACTIONS, map(int, actions), strict=True))
            iso = day.isocalendar()
            by_week[f"{iso.year}-W{iso.week:02d}"] += actions
            by_month[f"{day.year}-{day.month:02d}"] += actions
            del table
        if pending is not None:
            pending.result()
    elapsed = time.perf_counter() - started
    truth = {
        "events": written,
        "days": args.days,
        "first_day": args.start.isoformat(),
        "seed": args.seed,
        "window_seconds": args.window,
        "sessions": sessions,
        "client_pool": args.clients,
        "one_off_clients": world.next_one_off - world.pool,
        "actions": dict(zip(ACTIONS, map(int, totals), strict=True)),
        "by_day": by_day,
        "by_iso_week": {k: dict(zip(ACTIONS, map(int, v), strict=True)) for k, v in sorted(by_week.items())},
        "by_month": {k: dict(zip(ACTIONS, map(int, v), strict=True)) for k, v in sorted(by_month.items())},
    }
    (args.out / "_truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    size = sum(path.stat().st_size for path in segments.segment_paths(args.out))
    print(
        f"wrote {written:,} events over {args.days} days to {args.out} "
        f"({size / 1e6:.1f} MB) in {elapsed:.1f} s ({written / elapsed / 1e6:.2f} M events/s)"
    )
    print("truth:", json.dumps(truth["actions"]), f"one-off clients: {truth['one_off_clients']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
