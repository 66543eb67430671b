"""What the registry needs from a blob store."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from pathlib import Path
from typing import Protocol


class DigestMismatch(Exception):
    """The uploaded bytes do not hash to the digest the client named."""


class UploadMissing(Exception):
    """The upload's bytes are gone (cancelled, expired, or never started)."""


class BlobStorage(Protocol):
    async def create_upload(self, upload_id: str) -> None: ...

    async def upload_size(self, upload_id: str) -> int: ...

    async def append(self, upload_id: str, chunks: AsyncIterable[bytes]) -> int:
        """Append the chunks to the upload and return its new size. If the stream breaks, the upload is left
        exactly as it was before the call."""
        ...

    async def commit(self, upload_id: str, digest: str) -> int:
        """Verify the upload against `digest`, move it into place under that digest and return its size."""
        ...

    async def delete_upload(self, upload_id: str) -> None: ...

    async def exists(self, digest: str) -> bool: ...

    def read(self, digest: str) -> AsyncGenerator[bytes, None]:
        """A blob's bytes from the first to the last, in chunks."""
        ...

    def local_path(self, digest: str) -> Path:
        """Where a blob's bytes can be read (byte ranges are served straight from here)."""
        ...

    async def delete(self, digest: str) -> None: ...

    def upload_ids(self) -> list[str]: ...
