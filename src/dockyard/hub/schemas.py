"""Wire shapes of the Hub API's repository, tag, image, star, search and registry-settings routes.

Field names and types follow Docker Hub (see the research notes, sections 5.1 and 5.2, and the images seed); times
are RFC 3339 in UTC with a `Z`. No success body has a `detail` key (the npm client would take it for an error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

REPOSITORY_NAME_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
DIGEST_PATTERN = r"^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$"

# What a path segment naming an account, repository or tag may hold; anything else cannot exist (a 400, and never
# a NUL or a slash that a database would choke on).
SEGMENT_PATTERN = r"^[A-Za-z0-9_.-]+$"
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$"
# Text stored in the database: PostgreSQL refuses NUL characters in text.
NO_NUL_PATTERN = r"^[^\x00]*$"

RepositoryName = Annotated[str, StringConstraints(min_length=2, max_length=255, pattern=REPOSITORY_NAME_PATTERN)]
NamespaceName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=SEGMENT_PATTERN)]
Description = Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL_PATTERN)]
FullDescription = Annotated[str, StringConstraints(max_length=25_000, pattern=NO_NUL_PATTERN)]
Digest = Annotated[str, StringConstraints(max_length=160, pattern=DIGEST_PATTERN)]
TagName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=TAG_PATTERN)]
Rule = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL_PATTERN)]


class Request(BaseModel):
    """Request bodies refuse fields they do not know, so a typo is a 400 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


# --- repositories ------------------------------------------------------------------------------------------
class Permissions(BaseModel):
    read: bool
    write: bool
    admin: bool


class ImmutableTagsSettings(BaseModel):
    enabled: bool
    rules: list[str]


class Category(BaseModel):
    name: str
    slug: str


class RepositoryListEntry(BaseModel):
    name: str
    namespace: str
    repository_type: str | None
    status: int
    status_description: str
    description: str
    is_private: bool
    star_count: int
    pull_count: int
    last_updated: datetime | None
    last_modified: datetime | None
    date_registered: datetime
    affiliation: str | None
    media_types: list[str]
    content_types: list[str]
    categories: list[Category]
    storage_size: int | None


class LegacyRepositoryListEntry(RepositoryListEntry):
    user: str
    is_automated: bool
    can_edit: bool
    is_migrated: bool


class RepositoryInfo(BaseModel):
    user: str
    name: str
    namespace: str
    repository_type: str | None
    status: int
    status_description: str
    description: str
    full_description: str | None
    is_private: bool
    is_automated: bool
    star_count: int
    pull_count: int
    collaborator_count: int
    last_updated: datetime | None
    date_registered: datetime
    last_modified: datetime | None
    affiliation: str | None
    hub_user: str | None
    has_starred: bool
    permissions: Permissions
    media_types: list[str]
    content_types: list[str]
    categories: list[Category]
    immutable_tags_settings: ImmutableTagsSettings
    storage_size: int | None
    source: str | None
    can_edit: bool
    is_migrated: bool


class CreateRepository(Request):
    name: RepositoryName
    namespace: NamespaceName | None = None
    description: Description = ""
    full_description: FullDescription = ""
    registry: str | None = Field(default=None, max_length=255)
    is_private: bool = False


class UpdateRepository(Request):
    description: Description | None = None
    full_description: FullDescription | None = None


class SetPrivacy(Request):
    is_private: bool


class ImmutableTagsUpdate(Request):
    immutable_tags: bool
    immutable_tags_rules: list[Rule] = Field(default_factory=list, max_length=100)


class ImmutableTagsVerify(Request):
    regex: Rule


class ImmutableTagsVerifyResult(BaseModel):
    tags: list[str]


class UserRepository(BaseModel):
    """An entry of `GET /v2/users/{username}/repositories/` (a bare array, which the npm client returns as is)."""

    namespace: str
    name: str
    description: str
    is_private: bool
    star_count: int
    pull_count: int
    last_updated: datetime | None


# --- tags --------------------------------------------------------------------------------------------------
class Layer(BaseModel):
    digest: str | None
    size: int
    instruction: str


class Image(BaseModel):
    architecture: str
    features: str
    variant: str | None
    digest: str
    os: str
    os_features: str
    os_version: str | None
    size: int
    status: Literal["active", "inactive"]
    last_pulled: datetime | None
    last_pushed: datetime | None
    layers: list[Layer] | None = None


class TagInfo(BaseModel):
    id: int
    name: str
    creator: int | None
    last_updater: int | None
    last_updater_username: str | None
    repository: int
    last_updated: datetime
    full_size: int
    v2: bool
    tag_status: Literal["active", "inactive"]
    tag_last_pulled: datetime | None
    tag_last_pushed: datetime
    media_type: str
    content_type: str
    digest: str
    images: list[Image]


# --- images (the seed's API) -------------------------------------------------------------------------------
class ImageStatistics(BaseModel):
    total: int
    active: int
    inactive: int


class ImagesSummary(BaseModel):
    active_from: datetime
    statistics: ImageStatistics


class ImageTag(BaseModel):
    tag: str
    is_current: bool


class ImageEntry(BaseModel):
    namespace: str
    repository: str
    digest: str
    tags: list[ImageTag]
    last_pushed: datetime | None
    last_pulled: datetime | None
    status: Literal["active", "inactive"]


class DeleteImagesManifest(Request):
    repository: RepositoryName
    digest: Digest


class IgnoreWarning(Request):
    repository: RepositoryName
    digest: Digest
    warning: Literal["is_active", "current_tag"]
    tags: list[TagName] | None = Field(default=None, max_length=1000)


class DeleteImagesRequest(Request):
    dry_run: bool = False
    active_from: datetime | None = None
    manifests: list[DeleteImagesManifest] = Field(min_length=1, max_length=1000)
    ignore_warnings: list[IgnoreWarning] = Field(default_factory=list, max_length=5000)


class DeleteMetrics(BaseModel):
    manifest_deletes: int
    manifest_errors: int
    tag_deletes: int
    tag_errors: int


class DeleteImagesResult(BaseModel):
    dry_run: bool
    metrics: DeleteMetrics


class DeleteImagesErrorItem(BaseModel):
    """`immutable_tag`: the image carries a tag the repository's immutable tag rules protect (an addition to the
    seed's errors, which predate immutable tags)."""

    repository: str
    digest: str
    error: Literal["not_found", "unauthorized", "child_manifest", "immutable_tag"]


class DeleteImagesWarningItem(BaseModel):
    repository: str
    digest: str
    warning: Literal["is_active", "current_tag"]
    tags: list[str] | None = None


class DeleteImagesDetails(BaseModel):
    errors: list[DeleteImagesErrorItem]
    warnings: list[DeleteImagesWarningItem]


class DeleteImagesErrinfo(BaseModel):
    api_call_docker_id: str
    api_call_name: str
    api_call_start: str
    api_call_txnid: str
    type: str
    details: DeleteImagesDetails


class DeleteImagesError(BaseModel):
    txnid: str
    message: str
    detail: str
    errinfo: DeleteImagesErrinfo


# --- registry settings -------------------------------------------------------------------------------------
class RegistrySettingsInfo(BaseModel):
    private_repo_used: int
    num_free_private_repos: int | None
    private_repo_limit: int | None
    private_repo_available: int | None
    private_repo_percent_used: float
    default_repo_visibility: Literal["public", "private"]


class RegistrySettingsUpdate(Request):
    """`private_repo_limit`: how many private repositories the account may have; null for no limit."""

    private_repo_limit: int | None = Field(ge=0, le=1_000_000)


# --- search ------------------------------------------------------------------------------------------------
class SearchResult(BaseModel):
    repo_name: str
    short_description: str
    star_count: int
    pull_count: int
    repo_owner: str | None
    is_official: bool
    is_automated: bool


class V1SearchResult(BaseModel):
    name: str
    description: str
    star_count: int
    is_official: bool
    is_automated: bool
    is_trusted: bool


class V1SearchResults(BaseModel):
    query: str
    num_results: int
    num_pages: int
    page: int
    page_size: int
    results: list[V1SearchResult]
