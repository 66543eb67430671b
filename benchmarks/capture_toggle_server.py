"""`dockyard serve` that switches its live capture on and off many times a second, for `analytics_capture.py
--interleave`.

    python benchmarks/capture_toggle_server.py OUT PHASE_SECONDS FLUSH_EVERY SAME
        (settings from DOCKYARD_* variables, with capture on and periodic flushes off)

The same app, served by the same function as `dockyard serve`. SIGUSR2 starts the phases: capture off for
PHASE_SECONDS, on for PHASE_SECONDS, and so on; "off" unsubscribes capture's handler from the bus, which is what
DOCKYARD_ANALYTICS_CAPTURE=false does. Every FLUSH_EVERY-th "on" phase ends by writing the buffer (through the
writer process, as the periodic flush does), with the event loop waiting for it, so that this work is done inside
the "on" phases and nowhere else. SIGUSR1 ends the phases after the next "on" phase (and its write) and writes
them to OUT as JSON: {"phases": [[on, seconds, manifest requests answered], ...], "warm_up": requests captured
before the phases (0.5 s, to start the writer), "written": events written}. With SAME=1, "on" phases keep capture off
too: the noise floor.

Phases of a fraction of a second let both states share the machine's speed, which on this VM swings by 10-30 %
within seconds; one process for both leaves out what differs between two (their places in memory and caches).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette

from dockyard.app import create_app
from dockyard.cli.main import run_server
from dockyard.config import Settings
from dockyard.registry.events import ManifestRequested


class Phases:
    def __init__(self, app: Starlette, out: Path, seconds: float, flush_every: int, same: bool) -> None:
        self.app, self.out, self.seconds, self.flush_every, self.same = app, out, seconds, flush_every, same
        self.answered = 0
        self.stopping = False
        self.task: asyncio.Task[None] | None = None

    def count(self, _event: ManifestRequested) -> None:
        self.answered += 1

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        services = self.app.state.services
        capture = services.capture
        # The writer process's first write imports and loads what it needs (0.2-0.4 s): not a phase's cost.
        warm = self.answered
        services.bus.subscribe(ManifestRequested, capture.record)
        await asyncio.sleep(0.5)
        services.bus.unsubscribe(ManifestRequested, capture.record)
        warm = self.answered - warm
        await capture.flush()
        phases: list[tuple[bool, float, int]] = []
        on, on_phases = False, 0
        started, answered = time.perf_counter(), self.answered
        while True:
            services.bus.unsubscribe(ManifestRequested, capture.record)
            if on and not self.same:
                services.bus.subscribe(ManifestRequested, capture.record)
            await asyncio.sleep(self.seconds)
            if on:
                on_phases += 1
                if on_phases % self.flush_every == 0 or self.stopping:
                    capture._flush_sync()  # on the loop: no request is answered until the write is done
            ended = time.perf_counter()
            phases.append((on, ended - started, self.answered - answered))
            started, answered = ended, self.answered
            if on and self.stopping:
                break
            on = not on
        services.bus.unsubscribe(ManifestRequested, capture.record)
        result = {"phases": phases, "warm_up": warm, "written": capture.stats().written}
        await anyio.to_thread.run_sync(self.write, json.dumps(result))

    def write(self, text: str) -> None:
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.out)


def main() -> None:
    out, seconds, flush_every, same = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
    settings = Settings.from_env()
    app = create_app(settings)
    served = app.router.lifespan_context
    phases = Phases(app, out, seconds, flush_every, same)

    def stop() -> None:
        phases.stopping = True

    @asynccontextmanager
    async def lifespan(wrapped: Starlette) -> AsyncIterator[None]:
        async with served(wrapped):
            services = wrapped.state.services
            services.bus.unsubscribe(ManifestRequested, services.capture.record)
            services.bus.subscribe(ManifestRequested, phases.count)  # in both states: the same cost
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR2, phases.start)
            loop.add_signal_handler(signal.SIGUSR1, stop)
            yield

    app.router.lifespan_context = lifespan
    run_server(app, settings)


if __name__ == "__main__":
    main()
