"""Blob storage behind an interface, so the filesystem default can be swapped for object storage."""

from dockyard.storage.base import BlobStorage, DigestMismatch, UploadMissing
from dockyard.storage.filesystem import FilesystemStorage

__all__ = ["BlobStorage", "DigestMismatch", "FilesystemStorage", "UploadMissing"]
