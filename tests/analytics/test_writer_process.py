"""The capture writer's child process: it writes what the server hands it, and a dead or failing child loses nothing.

Driven through `Capture`, as the server drives it (the pending list, the flush, the requeue), with a real child.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dockyard.analytics import segments
from dockyard.analytics.capture import Capture
from dockyard.analytics.periods import micros
from dockyard.analytics.writer_process import WriterProcess, WriterProcessError
from dockyard.registry.events import ManifestRequested
from tests.analytics.helpers import stored_rows

SECRET = b"writer-process-test-secret-32-bytes!"


def request(n: int) -> ManifestRequested:
    return ManifestRequested(
        "acme/app", "v1", "sha256:" + "a" * 64, "HEAD", 200, f"198.51.100.{n}", "docker/27.3.1", None,
        micros(datetime(2026, 11, 2, 12, 0, n, tzinfo=UTC)),
    )  # fmt: skip


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[WriterProcess]:
    process = WriterProcess(tmp_path, SECRET)
    yield process
    process.close()


def started(writer: WriterProcess) -> Capture:
    """A capture whose writer has written one event (second 1), so that its child is running."""
    capture = Capture(writer, live=False)
    capture.submit([request(1)], "dockyard")
    assert capture._flush_sync() == 1
    return capture


@pytest.fixture
def blocked(tmp_path: Path) -> Iterator[tuple[WriterProcess, Path]]:
    """A writer whose data directory is a file, so that every write fails (until the test removes the file)."""
    data_dir = tmp_path / "data"
    data_dir.write_text("a file where the data directory should be")
    process = WriterProcess(data_dir, SECRET)
    yield process, data_dir
    process.close()


def test_the_child_writes_pseudonymised_segments_and_stops_on_close(writer: WriterProcess, tmp_path: Path) -> None:
    capture = Capture(writer, live=False)
    capture.submit([request(n) for n in range(1, 4)], "dockyard")
    assert capture._flush_sync() == 3
    pid = writer.pid
    assert pid is not None and pid != os.getpid()
    rows = stored_rows(tmp_path)
    assert sorted(row["ts"].second for row in rows) == [1, 2, 3]
    assert all(isinstance(row["client"], int) for row in rows)
    for path in segments.segment_paths(tmp_path):
        assert b"198.51.100." not in path.read_bytes()
    writer.close()
    assert writer.pid is None
    with pytest.raises(ProcessLookupError):  # exited and reaped
        os.kill(pid, 0)


def test_a_child_killed_during_a_write_loses_nothing(writer: WriterProcess, tmp_path: Path) -> None:
    capture = started(writer)
    first = writer.pid
    assert first is not None
    # Stopped, the child takes the batch into its pipe but never answers; killed then, it is gone mid-write.
    os.kill(first, signal.SIGSTOP)
    threading.Timer(2.0, os.kill, (first, signal.SIGKILL)).start()
    capture.submit([request(2), request(3)], "dockyard")
    with pytest.raises(WriterProcessError, match="gone"):
        capture._flush_sync()
    assert capture.stats().pending == 2  # kept for the next flush, which starts a new child
    assert capture._flush_sync() == 2
    assert writer.pid not in (None, first)
    assert sorted(row["ts"].second for row in stored_rows(tmp_path)) == [1, 2, 3]


def test_a_child_found_dead_is_replaced_before_the_next_batch(writer: WriterProcess, tmp_path: Path) -> None:
    capture = started(writer)
    child = writer._child
    assert child is not None
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    capture.submit([request(2)], "dockyard")
    assert capture._flush_sync() == 1 and writer.pid not in (None, child.pid)
    assert len(stored_rows(tmp_path)) == 2


def test_a_batch_the_child_cannot_write_stays_pending(blocked: tuple[WriterProcess, Path]) -> None:
    capture = Capture(blocked[0], live=False)
    capture.submit([request(1)], "dockyard")
    with pytest.raises(WriterProcessError, match="could not write a batch"):
        capture._flush_sync()
    assert (capture.stats().pending, capture.stats().written) == (1, 0)


def test_the_child_outlives_a_ctrl_c_and_ends_with_its_pipe(writer: WriterProcess, tmp_path: Path) -> None:
    capture = started(writer)
    child = writer._child
    assert child is not None and child.stdin is not None
    # A Ctrl-C reaches the whole process group; the server flushes on the way out, so the child must still listen.
    os.kill(child.pid, signal.SIGINT)
    capture.submit([request(2)], "dockyard")
    assert capture._flush_sync() == 1 and writer._child is child
    # A server that dies without a word closes the pipe: the child ends by itself.
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    assert len(stored_rows(tmp_path)) == 2


def test_unwritten_batches_are_bounded_and_written_once_the_writer_recovers(
    blocked: tuple[WriterProcess, Path],
) -> None:
    writer, data_dir = blocked
    capture = Capture(writer, flush_events=1, live=False)  # at most 20 unwritten events are kept
    for first in (1, 11, 21):
        capture.submit([request(n) for n in range(first, first + 10)], "dockyard")
        with pytest.raises(WriterProcessError):
            capture._flush_sync()
    assert (capture.stats().pending, capture.stats().dropped) == (20, 10)  # the oldest ten went
    data_dir.unlink()
    capture.submit([request(31)], "dockyard")
    assert capture._flush_sync() == 21
    seconds = [row["ts"].second for row in stored_rows(data_dir)]
    assert sorted(seconds) == list(range(11, 32)) and capture.stats().pending == 0
