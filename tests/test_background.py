"""Background loops: rounds every period or when woken, a failing round does not end the loop, and stopping
lets the round under way finish instead of cancelling it (a cancellation inside a database call has left SQLite's
write lock held at shutdown)."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.background import Background


def test_stop_waits_for_the_round_under_way_and_never_cancels_it() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        started, release = asyncio.Event(), asyncio.Event()

        async def work() -> None:
            seen.append("started")
            started.set()
            try:
                await release.wait()
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise
            seen.append("finished")

        loop = Background("test loop", work, 0.01)
        loop.start()
        await started.wait()
        stopping = asyncio.create_task(loop.stop())
        await asyncio.sleep(0.05)
        assert not stopping.done()  # it waits for the round...
        release.set()
        await asyncio.wait_for(stopping, 5)
        await asyncio.sleep(0.05)
        return seen

    # ...which ends normally, and no round starts after it
    assert asyncio.run(main()) == ["started", "finished"]


def test_rounds_come_every_period_when_woken_and_at_start() -> None:
    async def main() -> tuple[int, int, int]:
        rounds = 0

        async def work() -> None:
            nonlocal rounds
            rounds += 1

        loop = Background("test loop", work, 3600, at_start=True)
        loop.start()
        await asyncio.sleep(0.05)
        at_start = rounds
        loop.wake()
        await asyncio.sleep(0.05)
        woken = rounds
        await asyncio.sleep(0.05)
        await loop.stop()
        return at_start, woken, rounds

    assert asyncio.run(main()) == (1, 2, 2)


def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> int:
        rounds = 0
        progressed = asyncio.Event()

        async def work() -> float:
            nonlocal rounds
            rounds += 1
            progressed.set()
            if rounds == 1:
                raise RuntimeError("disk full")
            return 0.01  # the next round is due long before the period ends

        loop = Background("test loop", work, 60, at_start=True)
        loop.start()

        async def rounds_done(count: int) -> None:
            while rounds < count:
                progressed.clear()
                await progressed.wait()

        await asyncio.wait_for(rounds_done(1), 30)
        # After the failed round the loop waits the period (60 s); woken, it goes on, and rounds that say when the
        # next is due do not wait for the period
        loop.wake()
        await asyncio.wait_for(rounds_done(4), 30)
        await loop.stop()
        return rounds

    assert asyncio.run(main()) >= 4
    assert "test loop failed; it runs again within 60 s" in caplog.text and "disk full" in caplog.text


def test_stopping_a_loop_that_never_started_returns_at_once() -> None:
    async def work() -> None:
        raise AssertionError("never runs")

    asyncio.run(Background("test loop", work, 1).stop())


def test_a_loop_with_no_period_is_off() -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(1)

    async def main() -> None:
        loop = Background("test loop", work, 0, at_start=True)
        loop.start()
        loop.wake()
        await asyncio.sleep(0.05)
        await loop.stop()

    asyncio.run(main())
    assert rounds == []
