"""Bulk classification and summaries of synthetic manifest events, checked against the generator's ground truth.

    .venv/bin/python benchmarks/analytics_classify.py --events 10000000 --days 35 [--data DIR] [--months]
    .venv/bin/python benchmarks/analytics_classify.py --events 100000000 --days 91 --data DIR

Generates the events with benchmarks/analytics_events.py into DIR (kept, and reused when DIR already holds them),
then times, in one process as the analytics job does it: classifying every day in order (reading the day's
segments, the rules, writing the day's actions file), then the weekly summaries (and the monthly ones with
--months). As in the job, a week's summaries start while the days after it are classified, so the classify stage
holds part of their time, and the total is the figure to read. `--engine sql` runs the rules and the summaries as
SQL on DuckDB (the specification) instead of the embedded numpy engine. Prints wall seconds, CPU seconds (user +
system, all threads) and the peak RSS of the process, and compares the action counts, in total and per day, with
DIR/_truth.json: exact for any window up to the generator's (60 s).

Wall times mean little on a busy or shared machine, so the benchmark also prints the load average before and after,
and where the machine's CPU time went during the run: other processes, idle, and stolen by the hypervisor (a VM's
cores are not always its own).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.machine import CLK_TCK, host_ticks, host_ticks_since  # noqa: E402
from dockyard.analytics import actions, segments  # noqa: E402
from dockyard.analytics.classify import Carry, Classifier, Engine, connect  # noqa: E402
from dockyard.analytics.memory import bulk_allocation, use_jemalloc  # noqa: E402
from dockyard.analytics.periods import Period  # noqa: E402
from dockyard.analytics.summaries import WeeksAhead, summarize_each  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stage:
    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> Stage:
        self.wall, self.cpu, self.host = time.perf_counter(), cpu(), host_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = cpu() - self.cpu
        self.host = host_ticks_since(self.host)
        print(f"{self.name:<22} {self.wall:8.2f} s wall {self.cpu:8.2f} s CPU   peak RSS {peak_rss_mb():7.0f} MB")


def generate(data: Path, events: int, days: int, seed: int) -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "analytics_events.py"), "--events", str(events)]
    command += ["--days", str(days), "--out", str(data), "--seed", str(seed)]
    print("generating:", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="where the events are (or go); default: a temporary directory")
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: all cores)")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's memory limit (the job's default)")
    parser.add_argument("--months", action="store_true", help="also time the monthly summaries")
    parser.add_argument("--engine", choices=["numpy", "sql"], default="numpy", help="classification and summaries")
    args = parser.parse_args(argv)

    scratch = None
    data = args.data
    if data is None:
        scratch = Path(tempfile.mkdtemp(prefix="dockyard-classify-"))
        data = scratch
    try:
        if not (data / "_truth.json").exists():
            generate(data, args.events, args.days, args.seed)
        truth = json.loads((data / "_truth.json").read_text())
        shutil.rmtree(actions.actions_root(data), ignore_errors=True)
        print(
            f"{truth['events']:,} events over {truth['days']} days from {truth['first_day']}; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; DuckDB memory limit {args.memory_limit}"
        )
        use_jemalloc()  # as the job does
        con = connect(threads=args.threads or None, memory_limit=args.memory_limit, temp_dir=data / "tmp")
        with bulk_allocation():  # as the job does
            found = run(con, data, args.window, args.months, args.engine)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return check(found, truth)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def run(con: Any, data: Path, window: int, months: bool, engine: Engine) -> dict[str, Any]:
    classifier = Classifier(con, window, engine)
    # As the job does: each week's summaries start once the days after it are being classified.
    ahead = WeeksAhead(data) if engine == "numpy" else None
    totals = dict.fromkeys(actions.ACTIONS, 0)
    by_day: dict[str, dict[str, int]] = {}
    carry = Carry()
    with Stage("classify") as classify:
        for day in segments.days(data):
            result = classifier.classify_day(data, day, carry)
            actions.write_day(data, day, result.actions)
            if ahead is not None:
                ahead.classified(day)
            carry = result.carry
            by_day[day.isoformat()] = result.counts
            for name, count in result.counts.items():
                totals[name] += count
    classifier.close()
    weeks = sorted({Period.week_of(day) for day in actions.days(data)})
    summary_rows = timed_summaries("weekly summaries", con, data, weeks, engine, ahead)
    if ahead is not None:
        ahead.close()
    weekly = summary_rows[1]
    wall, cpu_seconds = classify.wall + weekly.wall, classify.cpu + weekly.cpu
    print(f"{'classify + weekly':<22} {wall:8.2f} s wall {cpu_seconds:8.2f} s CPU   peak RSS {peak_rss_mb():7.0f} MB")
    # A slow run on a shared VM is told apart from slow code by where the machine's CPU time went meanwhile.
    busy, idle, stolen = (a + b for a, b in zip(classify.host, weekly.host, strict=True))
    others = max(0.0, busy / CLK_TCK - cpu_seconds)
    print(
        f"{'':<22} meanwhile on the machine: {others:.2f} s CPU of other processes, {idle / CLK_TCK:.2f} s idle, "
        f"{stolen / CLK_TCK:.2f} s stolen by the hypervisor"
    )
    if months:
        months_of = sorted({Period.month_of(d) for d in actions.days(data)})
        timed_summaries("monthly summaries", con, data, months_of, engine)
    return {"actions": totals, "by_day": by_day, "weekly_rows": summary_rows[0]}


def timed_summaries(
    name: str, con: Any, data: Path, periods: list[Period], engine: Engine, ahead: WeeksAhead | None = None
) -> tuple[int, Stage]:
    rows = 0
    with Stage(name) as stage:
        for _, period_rows in summarize_each(con, data, periods, engine, ahead):
            rows += len(period_rows)
    print(f"{'':<22} {len(periods)} periods, {rows:,} summary rows")
    return rows, stage


def check(found: dict[str, Any], truth: dict[str, Any]) -> int:
    ok = found["actions"] == truth["actions"]
    wrong_days = [day for day, counts in truth["by_day"].items() if found["by_day"].get(day) != counts]
    print("actions:", json.dumps(found["actions"]))
    print("truth:  ", json.dumps(truth["actions"]), "->", "exact" if ok and not wrong_days else "DIFFERENT")
    if wrong_days:
        print("days that differ:", ", ".join(wrong_days[:10]))
    return 0 if ok and not wrong_days else 1


if __name__ == "__main__":
    sys.exit(main())
