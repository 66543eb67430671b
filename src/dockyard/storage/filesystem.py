"""Content-addressed blobs on the local filesystem.

An upload is a file under uploads/ that grows chunk by chunk while a running hash follows it. A blob becomes
visible only by an atomic rename into blobs/<algorithm>/<xx>/<hex> after its digest has been verified, so a crash
or a broken connection can never leave a half-written blob where readers look.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import hashlib
import os
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from dockyard.storage.base import DigestMismatch, UploadMissing

WRITE_BATCH = 1024 * 1024
READ_CHUNK = 1024 * 1024
_NOWAIT = getattr(os, "RWF_NOWAIT", 0)  # Linux >= 4.14
HASHERS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


# An upload's bytes go to the disk batch by batch as they arrive (sync_file_range starts the writeback and returns
# at once), so the fsync that makes a finished blob durable has little left to wait for, even while the disk is
# busy with other writes: waiting for all of a large layer there made pushes a fifth slower.
SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range() -> Any:
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None  # not Linux: the final fsync does all the work
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return function


_sync_file_range = _load_sync_file_range()


def _start_writeback(fd: int, offset: int, length: int) -> None:
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)


async def _batches(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """The stream regrouped into pieces of at least `size` bytes (the last may be shorter)."""
    buffer: list[bytes] = []
    buffered = 0
    async for chunk in chunks:
        if not chunk:
            continue
        buffer.append(chunk)
        buffered += len(chunk)
        if buffered >= size:
            yield b"".join(buffer)
            buffer, buffered = [], 0
    if buffer:
        yield b"".join(buffer)


@dataclass
class _RunningHash:
    hasher: Any
    offset: int


class FilesystemStorage:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self.blobs_dir = root / "blobs"
        self.uploads_dir = root / "uploads"
        self.trash_dir = root / "trash"
        for path in (self.blobs_dir, self.uploads_dir, self.trash_dir):
            path.mkdir(parents=True, exist_ok=True)
        # sha256 state per upload, so a chunked upload is hashed once as it arrives. It is only an
        # optimisation: after a restart the state is rebuilt from the bytes on disk.
        self._hashes: dict[str, _RunningHash] = {}

    # --- uploads -------------------------------------------------------------------------------------------
    def _upload_path(self, upload_id: str) -> Path:
        return self.uploads_dir / upload_id

    async def create_upload(self, upload_id: str) -> None:
        self._upload_path(upload_id).touch(exist_ok=False)
        self._hashes[upload_id] = _RunningHash(hashlib.sha256(), 0)

    async def upload_size(self, upload_id: str) -> int:
        try:
            return self._upload_path(upload_id).stat().st_size
        except FileNotFoundError as exc:
            raise UploadMissing(upload_id) from exc

    async def append(self, upload_id: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._upload_path(upload_id)
        if not path.exists():
            raise UploadMissing(upload_id)
        start = path.stat().st_size
        running = self._hashes.get(upload_id)
        if running is None or running.offset != start:
            running = await anyio.to_thread.run_sync(self._rehash, path, "sha256")
        self._hashes.pop(upload_id, None)  # re-registered only if the whole append succeeds
        file = await anyio.to_thread.run_sync(open, path, "r+b")
        # One batch is written and hashed in a thread while the next one arrives: receiving and writing in turn
        # would stall the client's stream for every write (the server stops reading while the app is busy).
        writing: asyncio.Task[None] | None = None
        try:
            file.seek(start)
            async for batch in _batches(chunks, WRITE_BATCH):
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(anyio.to_thread.run_sync(self._write, file, running, batch))
            if writing is not None:
                await writing
        except BaseException:
            # The chunk did not arrive whole: forget every byte of it, once no write is in flight any more.
            with anyio.CancelScope(shield=True):
                if writing is not None:
                    with contextlib.suppress(BaseException):
                        await writing
                await anyio.to_thread.run_sync(self._truncate, file, start)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(file.close)
        self._hashes[upload_id] = running
        return running.offset

    def _write(self, file: Any, running: _RunningHash, data: bytes) -> None:
        file.write(data)
        if self.fsync:
            file.flush()
            _start_writeback(file.fileno(), running.offset, len(data))
        running.hasher.update(data)
        running.offset += len(data)

    @staticmethod
    def _truncate(file: Any, size: int) -> None:
        file.truncate(size)

    @staticmethod
    def _rehash(path: Path, algorithm: str) -> _RunningHash:
        hasher = HASHERS[algorithm]()
        size = 0
        with path.open("rb") as file:
            while block := file.read(WRITE_BATCH):
                hasher.update(block)
                size += len(block)
        return _RunningHash(hasher, size)

    async def commit(self, upload_id: str, digest: str) -> int:
        path = self._upload_path(upload_id)
        if not path.exists():
            raise UploadMissing(upload_id)
        algorithm, _, expected = digest.partition(":")
        running = self._hashes.pop(upload_id, None)
        size = path.stat().st_size
        if algorithm != "sha256" or running is None or running.offset != size:
            running = await anyio.to_thread.run_sync(self._rehash, path, algorithm)
        if running.hasher.hexdigest() != expected:
            raise DigestMismatch(digest)
        await anyio.to_thread.run_sync(self._place, path, self.local_path(digest))
        return running.offset

    def _place(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.fsync:
            fd = os.open(source, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(source, target)

    async def delete_upload(self, upload_id: str) -> None:
        self._hashes.pop(upload_id, None)
        self._upload_path(upload_id).unlink(missing_ok=True)

    def upload_ids(self) -> list[str]:
        return [entry.name for entry in self.uploads_dir.iterdir()]

    def upload_age(self, upload_id: str) -> float:
        try:
            return time.time() - self._upload_path(upload_id).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    # --- blobs ---------------------------------------------------------------------------------------------
    async def read(self, digest: str) -> AsyncGenerator[bytes, None]:
        """The blob's bytes, chunk by chunk. A chunk already in the page cache is read on the event loop: a
        thread hop per chunk cost about a third of a blob GET's CPU. One that would wait for the disk (the read
        with RWF_NOWAIT says so) is read in a thread, so a cold blob never blocks other requests."""
        fd = os.open(self.local_path(digest), os.O_RDONLY)
        try:
            buffer = bytearray(READ_CHUNK)
            nowait = _NOWAIT
            offset = 0
            while True:
                chunk = None
                if nowait:
                    try:
                        chunk = bytes(memoryview(buffer)[: os.preadv(fd, [buffer], offset, nowait)])
                    except BlockingIOError:
                        pass
                    except OSError as error:
                        if error.errno != errno.EOPNOTSUPP:
                            raise
                        nowait = 0  # this filesystem cannot say: threads from now on
                if chunk is None:
                    chunk = await anyio.to_thread.run_sync(os.pread, fd, READ_CHUNK, offset)
                if not chunk:
                    return
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    def local_path(self, digest: str) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        return self.blobs_dir / algorithm / hexpart[:2] / hexpart

    async def exists(self, digest: str) -> bool:
        return self.local_path(digest).is_file()

    async def delete(self, digest: str) -> None:
        self.local_path(digest).unlink(missing_ok=True)

    def move_to_trash(self, digest: str) -> Path | None:
        """First half of a two-step delete (see registry.gc): the file leaves the readable tree but is kept."""
        source = self.local_path(digest)
        target = self.trash_dir / digest.replace(":", "-")
        try:
            os.replace(source, target)
        except FileNotFoundError:
            return None
        return target

    def restore_from_trash(self, digest: str, trashed: Path) -> None:
        target = self.local_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(trashed, target)
