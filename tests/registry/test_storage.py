"""The filesystem blob store: streamed reads (page-cache reads on the loop, the rest in a thread) and appends that
write one batch while the next arrives, yet leave an upload untouched when its stream breaks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from dockyard.storage import filesystem
from dockyard.storage.filesystem import FilesystemStorage

MiB = 1024 * 1024
DATA = os.urandom(5 * MiB + 123)
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


class Broken(Exception):
    pass


async def pieces(data: bytes, size: int = 64 * 1024, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        if fail_after is not None and start >= fail_after:
            raise Broken
        yield data[start : start + size]


async def stored(tmp_path: Path) -> FilesystemStorage:
    storage = FilesystemStorage(tmp_path, fsync=False)
    await storage.create_upload("u")
    assert await storage.append("u", pieces(DATA)) == len(DATA)
    assert await storage.commit("u", DIGEST) == len(DATA)
    return storage


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("nowait", [filesystem._NOWAIT, 0], ids=["page-cache-reads", "thread-reads"])
def test_read_streams_the_whole_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nowait: int) -> None:
    monkeypatch.setattr(filesystem, "_NOWAIT", nowait)

    async def main() -> None:
        storage = await stored(tmp_path)
        chunks = [chunk async for chunk in storage.read(DIGEST)]
        assert b"".join(chunks) == DATA
        assert len(chunks) == 6 and all(isinstance(chunk, bytes) for chunk in chunks)

    anyio.run(main)


def test_a_reader_closed_early_closes_its_file(tmp_path: Path) -> None:
    async def main() -> None:
        storage = await stored(tmp_path)
        before = open_files()
        reader = storage.read(DIGEST)
        assert len(await reader.__anext__()) == filesystem.READ_CHUNK
        assert open_files() == before + 1
        await reader.aclose()
        assert open_files() == before

    anyio.run(main)


def test_a_broken_stream_leaves_the_upload_as_it_was(tmp_path: Path) -> None:
    async def main() -> None:
        storage = FilesystemStorage(tmp_path, fsync=False)
        await storage.create_upload("u")
        assert await storage.append("u", pieces(DATA[:MiB])) == MiB
        # Several batches are written (one of them still in flight) before the stream breaks.
        with pytest.raises(Broken):
            await storage.append("u", pieces(DATA[MiB:], fail_after=3 * MiB + 5))
        assert await storage.upload_size("u") == MiB
        assert await storage.append("u", pieces(DATA[MiB:])) == len(DATA)
        assert await storage.commit("u", DIGEST) == len(DATA)
        assert storage.local_path(DIGEST).read_bytes() == DATA

    anyio.run(main)
