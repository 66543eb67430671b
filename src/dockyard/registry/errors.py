"""The OCI Distribution error codes, as exceptions that carry their HTTP status."""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    code = "UNKNOWN"
    status = 500
    default_message = "unknown error"

    def __init__(
        self, message: str | None = None, *, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"errors": [error]}


class BlobUnknown(RegistryError):
    code = "BLOB_UNKNOWN"
    status = 404
    default_message = "blob unknown to registry"


class BlobUploadInvalid(RegistryError):
    code = "BLOB_UPLOAD_INVALID"
    status = 400
    default_message = "blob upload invalid"


class BlobUploadUnknown(RegistryError):
    code = "BLOB_UPLOAD_UNKNOWN"
    status = 404
    default_message = "blob upload unknown to registry"


class DigestInvalid(RegistryError):
    code = "DIGEST_INVALID"
    status = 400
    default_message = "provided digest did not match uploaded content"


class ManifestBlobUnknown(RegistryError):
    code = "MANIFEST_BLOB_UNKNOWN"
    status = 400
    default_message = "manifest references a blob unknown to the registry"


class ManifestInvalid(RegistryError):
    code = "MANIFEST_INVALID"
    status = 400
    default_message = "manifest invalid"


class ManifestUnknown(RegistryError):
    code = "MANIFEST_UNKNOWN"
    status = 404
    default_message = "manifest unknown"


class NameInvalid(RegistryError):
    code = "NAME_INVALID"
    status = 400
    default_message = "invalid repository name"


class NameUnknown(RegistryError):
    code = "NAME_UNKNOWN"
    status = 404
    default_message = "repository name not known to registry"


class SizeInvalid(RegistryError):
    code = "SIZE_INVALID"
    status = 400
    default_message = "provided length did not match content length"


class Unauthorized(RegistryError):
    code = "UNAUTHORIZED"
    status = 401
    default_message = "authentication required"


class Denied(RegistryError):
    code = "DENIED"
    status = 403
    default_message = "requested access to the resource is denied"


class Unsupported(RegistryError):
    code = "UNSUPPORTED"
    status = 405
    default_message = "the operation is unsupported"


class TooManyRequests(RegistryError):
    code = "TOOMANYREQUESTS"
    status = 429
    default_message = "too many requests"


class RangeInvalid(RegistryError):
    code = "BLOB_UPLOAD_INVALID"
    status = 416
    default_message = "requested range not satisfiable"


class ManifestTooLarge(RegistryError):
    code = "SIZE_INVALID"
    status = 413
    default_message = "manifest too large"


class TagInvalid(RegistryError):
    code = "TAG_INVALID"
    status = 400
    default_message = "manifest tag did not match URI"


class PaginationNumberInvalid(RegistryError):
    code = "PAGINATION_NUMBER_INVALID"
    status = 400
    default_message = "invalid number of results requested"
