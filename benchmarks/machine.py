"""What the machine's CPUs did meanwhile, read from /proc (Linux): the benchmarks print it so that a slow run on a
busy or shared machine can be told apart from slow code. Stdlib only; imported by the scripts in this directory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

CLK_TCK = os.sysconf("SC_CLK_TCK")


class HostTicks(NamedTuple):
    """The machine's CPU time so far, in clock ticks, summed over its cores."""

    busy: int  # every process, interrupts included
    idle: int  # waiting for I/O included
    stolen: int  # by the hypervisor, for other guests: a VM's cores are not always its own


def host_ticks() -> HostTicks:
    """/proc/stat's first line by kind; zeros where there is none."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in stat.readline().split()[1:9])
    except (OSError, ValueError):
        return HostTicks(0, 0, 0)
    return HostTicks(user + nice + system + irq + softirq, idle + iowait, steal)


def host_ticks_since(start: HostTicks) -> HostTicks:
    return HostTicks(*(now - then for now, then in zip(host_ticks(), start, strict=True)))


def tree_ticks(roots: Sequence[int]) -> int:
    """CPU ticks used so far by the live processes under `roots` (servers and their workers/threads)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    total = 0
    for pid in ticks:
        walk = pid
        while walk > 1:
            if walk in roots:
                total += ticks[pid]
                break
            walk = parents.get(walk, 0)
    return total
