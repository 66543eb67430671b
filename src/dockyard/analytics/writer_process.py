"""The capture writer in a process of its own, so that turning events into segments never holds the server's GIL.

Pseudonymising, placing and parsing each distinct address and user agent of a batch is Python work; in a thread of
the server it would hold the GIL the event loop serving pulls needs (a batch of a busy minute has thousands of
distinct addresses). Here the server only hands over the bytes capture buffered, and the child, `python -m
dockyard.analytics.writer_process`, does the rest on another core.

The protocol is frames on the child's stdin and stdout (an 8-byte length, then the payload): first the settings
(marshalled), then a batch of buffered lines per frame, each answered by a marshalled ("ok", [segment paths]) or
("error", message); an empty frame, or the end of stdin (the server is gone), stops the child. The child is started
on the first batch and restarted on the next one if it dies; a batch it did not confirm raises, and the caller
keeps it pending. Raw addresses cross the pipe in memory only; what the child writes is the pseudonym.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from dockyard.analytics.enrich import Enricher
from dockyard.analytics.event_writer import EventWriter

# How long a closing child may take to answer its last batch and exit before it is killed.
EXIT_SECONDS = 10.0
_LENGTH = 8
WRITER_NICENESS = 10
PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process


class WriterProcessError(RuntimeError):
    """The child failed to write a batch, or is gone."""


def send(stream: IO[bytes], value: Any) -> None:
    send_frame(stream, marshal.dumps(value) if value is not None else b"")


def send_frame(stream: IO[bytes], payload: bytes | memoryview) -> None:
    stream.write(len(payload).to_bytes(_LENGTH, "big"))
    stream.write(payload)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next value; None for the stop frame. EOFError when the other side is gone."""
    payload = receive_frame(stream)
    return marshal.loads(payload) if payload else None


def receive_frame(stream: IO[bytes]) -> bytes:
    """The next frame's payload; empty for the stop frame. EOFError when the other side is gone."""
    header = stream.read(_LENGTH)
    if len(header) < _LENGTH:
        raise EOFError("the pipe closed")
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the pipe closed mid-frame")
    return payload


class WriterProcess:
    """EventWriter's `write_records`/`close`, in a child process. Used from one thread at a time (Capture's flush)."""

    def __init__(self, data_dir: Path, secret: bytes, mmdb: str = "", *, fsync: bool = False) -> None:
        self._settings = (str(data_dir), secret, mmdb, fsync)
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def write_records(self, records: bytes | memoryview) -> list[Path]:
        if not records:
            return []
        child = self._running()
        assert child.stdin is not None and child.stdout is not None
        try:
            send_frame(child.stdin, records)
            status, result = receive(child.stdout)
        except (EOFError, OSError) as error:
            self._stop()
            raise WriterProcessError(f"the analytics writer process is gone ({error!r}); it restarts") from error
        if status != "ok":
            raise WriterProcessError(f"the analytics writer process could not write a batch: {result}")
        return [Path(path) for path in result]

    def close(self) -> None:
        if self._child is not None and self._child.stdin is not None:
            with contextlib.suppress(OSError, ValueError):  # already gone
                send(self._child.stdin, None)
        self._stop()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._stop()
            child = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
            )
            assert child.stdin is not None
            self._child = child
            # A batch is megabytes: a larger pipe means far fewer wake-ups of the two processes per batch.
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(child.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            try:
                send(child.stdin, self._settings)
            except OSError as error:
                self._stop()
                raise WriterProcessError(f"the analytics writer process did not start ({error!r})") from error
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            child.wait(EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    data_dir, secret, mmdb, fsync = receive(requests)
    writer = EventWriter(Path(data_dir), secret, Enricher.from_setting(mmdb), fsync=fsync)
    try:
        while records := receive_frame(requests):
            try:
                paths = writer.write_records(records)
            except Exception as error:  # reported to the server, which logs it and keeps the batch
                send(answers, ("error", f"{type(error).__name__}: {error}"))
            else:
                send(answers, ("ok", [str(path) for path in paths]))
    except EOFError:
        pass  # the server is gone
    finally:
        writer.close()


def main() -> None:
    # The child lives exactly as long as its pipe: a Ctrl-C or a SIGTERM to the whole group must not kill it before
    # the server, shutting down, has handed it the last batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Background work: where the server and its clients saturate the cores, pulls come first (the child needs a
    # few per cent of one core, which a niceness of 10 still gets when the machine is busy).
    os.nice(WRITER_NICENESS)
    # The answers get a descriptor of their own; fd 1 becomes stderr, so a stray print cannot corrupt a frame.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
