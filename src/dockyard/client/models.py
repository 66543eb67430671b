"""Typed results of the SDK: pydantic models that keep every field a server sends (`model_extra` holds the ones
not declared here) and give every declared field a default, so an answer from Docker Hub, from an older Dockyard or
from a newer one still parses. Timestamps become timezone-aware `datetime`s (empty strings and nulls become None).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _blank_to_none(value: Any) -> Any:
    return None if value in ("", None) else value


Timestamp = Annotated[datetime | None, BeforeValidator(_blank_to_none)]


class HubModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready data, extra fields included."""
        return self.model_dump(mode="json", by_alias=True)


# --- sign-in ----------------------------------------------------------------------------------------------------
class LoginResult(HubModel):
    token: str
    refresh_token: str | None = None


class TwoFactorStatus(HubModel):
    enabled: bool = False
    pending: bool = False
    recovery_codes_remaining: int = 0


class TotpEnrolment(HubModel):
    secret: str = ""
    provisioning_uri: str = ""


class RecoveryCodes(HubModel):
    recovery_codes: list[str] = Field(default_factory=list)


# --- tokens ------------------------------------------------------------------------------------------------------
class AccessToken(HubModel):
    uuid: str
    token_label: str = ""
    token: str = Field(default="", repr=False)
    is_active: bool = True
    scopes: list[str] = Field(default_factory=list)
    client_id: str | None = None
    creator_ip: str | None = None
    creator_ua: str | None = None
    generated_by: str | None = None
    created_at: Timestamp = None
    last_used: Timestamp = None
    expires_at: Timestamp = None


class OrgTokenResource(HubModel):
    type: str
    path: str
    scopes: list[str] = Field(default_factory=list)


class OrgAccessToken(HubModel):
    id: str
    label: str = ""
    description: str | None = None
    created_by: str | None = None
    is_active: bool = True
    created_at: Timestamp = None
    expires_at: Timestamp = None
    last_used_at: Timestamp = None
    resources: list[OrgTokenResource] = Field(default_factory=list)
    token: str = Field(default="", repr=False)


# --- accounts ----------------------------------------------------------------------------------------------------
class User(HubModel):
    id: str | None = None
    username: str
    full_name: str | None = None
    location: str | None = None
    company: str | None = None
    profile_url: str | None = None
    gravatar_url: str | None = None
    gravatar_email: str | None = None
    date_joined: Timestamp = None
    type: str | None = None
    email: str | None = None
    is_staff: bool | None = None
    is_admin: bool | None = None


class Organization(HubModel):
    id: str | None = None
    orgname: str
    full_name: str | None = None
    company: str | None = None
    location: str | None = None
    type: str | None = None
    date_joined: Timestamp = None
    gravatar_email: str | None = None
    gravatar_url: str | None = None
    profile_url: str | None = None


class OrgMember(User):
    role: str | None = None
    groups: list[str] = Field(default_factory=list)
    is_guest: bool | None = None
    primary_email: str | None = None
    last_logged_in_at: Timestamp = None
    last_seen_at: Timestamp = None


class Group(HubModel):
    id: int | None = None
    uuid: str | None = None
    name: str
    description: str | None = None
    member_count: int | None = None


class Invite(HubModel):
    id: str
    inviter_username: str | None = None
    invitee: str = ""
    org: str | None = None
    team: str | None = None
    role: str | None = None
    created_at: Timestamp = None


class BulkInviteEntry(HubModel):
    invitee: str
    status: str = ""
    invite: Invite | None = None


class RegistrySettings(HubModel):
    private_repo_used: int | None = None
    num_free_private_repos: int | None = None
    private_repo_limit: int | None = None
    private_repo_available: int | None = None
    private_repo_percent_used: float | None = None
    default_repo_visibility: str | None = None


# --- repositories ------------------------------------------------------------------------------------------------
class Permissions(HubModel):
    read: bool = False
    write: bool = False
    admin: bool = False


class Category(HubModel):
    name: str = ""
    slug: str = ""


class ImmutableTagsSettings(HubModel):
    enabled: bool = False
    rules: list[str] = Field(default_factory=list)


class Repository(HubModel):
    """A repository, from a list (fewer fields) or from a read of one."""

    name: str
    namespace: str
    user: str | None = None
    repository_type: str | None = None
    status: int | None = None
    status_description: str | None = None
    description: str | None = None
    full_description: str | None = None
    is_private: bool = False
    is_automated: bool | None = None
    star_count: int = 0
    pull_count: int = 0
    collaborator_count: int | None = None
    last_updated: Timestamp = None
    last_modified: Timestamp = None
    date_registered: Timestamp = None
    affiliation: str | None = None
    has_starred: bool | None = None
    permissions: Permissions | None = None
    media_types: list[str] = Field(default_factory=list)
    content_types: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    immutable_tags_settings: ImmutableTagsSettings | None = None
    storage_size: int | None = None
    can_edit: bool | None = None

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"


class Layer(HubModel):
    digest: str | None = None
    size: int | None = None
    instruction: str | None = None


class PlatformImage(HubModel):
    """One platform's image inside a tag."""

    architecture: str | None = None
    variant: str | None = None
    os: str | None = None
    os_version: str | None = None
    features: str | None = None
    os_features: str | None = None
    digest: str | None = None
    size: int | None = None
    status: str | None = None
    last_pulled: Timestamp = None
    last_pushed: Timestamp = None
    layers: list[Layer] | None = None

    @property
    def platform(self) -> str:
        parts = [self.os or "unknown", self.architecture or "unknown"]
        if self.variant:
            parts.append(self.variant)
        return "/".join(parts)


class Tag(HubModel):
    name: str
    id: int | None = None
    digest: str | None = None
    media_type: str | None = None
    content_type: str | None = None
    full_size: int | None = None
    v2: bool | None = None
    tag_status: str | None = None
    last_updated: Timestamp = None
    last_updater_username: str | None = None
    tag_last_pulled: Timestamp = None
    tag_last_pushed: Timestamp = None
    images: list[PlatformImage] = Field(default_factory=list)


class ImageTag(HubModel):
    tag: str
    is_current: bool = False


class ImageEntry(HubModel):
    """An image (manifest) of a repository, with its current and past tags."""

    namespace: str | None = None
    repository: str | None = None
    digest: str
    tags: list[ImageTag] = Field(default_factory=list)
    last_pushed: Timestamp = None
    last_pulled: Timestamp = None
    status: str | None = None

    @property
    def current_tags(self) -> list[str]:
        return [t.tag for t in self.tags if t.is_current]


class ImageStatistics(HubModel):
    total: int = 0
    active: int = 0
    inactive: int = 0


class ImagesSummary(HubModel):
    active_from: Timestamp = None
    statistics: ImageStatistics = Field(default_factory=ImageStatistics)


class DeleteMetrics(HubModel):
    manifest_deletes: int = 0
    manifest_errors: int = 0
    tag_deletes: int = 0
    tag_errors: int = 0


class DeleteImagesError(HubModel):
    repository: str
    digest: str
    error: str


class DeleteImagesWarning(HubModel):
    repository: str
    digest: str
    warning: str
    tags: list[str] | None = None

    def ignore(self) -> dict[str, Any]:
        """This warning as an entry of `ignore_warnings`."""
        entry: dict[str, Any] = {"repository": self.repository, "digest": self.digest, "warning": self.warning}
        if self.tags is not None:
            entry["tags"] = list(self.tags)
        return entry


class DeleteImagesResult(HubModel):
    """The outcome of `delete_images`: `ok` when the deletion (or, for a dry run, the check) went through;
    otherwise `errors` (which cannot be ignored) and `warnings` (which can be, by passing them back as
    `ignore_warnings`) say why nothing was deleted."""

    dry_run: bool = False
    ok: bool = True
    message: str | None = None
    metrics: DeleteMetrics = Field(default_factory=DeleteMetrics)
    errors: list[DeleteImagesError] = Field(default_factory=list)
    warnings: list[DeleteImagesWarning] = Field(default_factory=list)


class ImmutableTagsVerification(HubModel):
    tags: list[str] = Field(default_factory=list)


# --- community ---------------------------------------------------------------------------------------------------
class Comment(HubModel):
    id: int
    user: str | None = None
    comment: str = ""
    created_on: Timestamp = None
    updated_on: Timestamp = None


class Collaborator(HubModel):
    user: str
    permission: str | None = None


class TeamPermission(HubModel):
    group_name: str | None = None
    group_id: int
    permission: str


class SearchResult(HubModel):
    repo_name: str
    short_description: str | None = None
    star_count: int = 0
    pull_count: int = 0
    repo_owner: str | None = None
    is_official: bool = False
    is_automated: bool = False


class V1SearchResult(HubModel):
    name: str
    description: str | None = None
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False
    is_trusted: bool | None = None


class V1SearchResults(HubModel):
    query: str = ""
    num_results: int = 0
    num_pages: int | None = None
    page: int | None = None
    page_size: int | None = None
    results: list[V1SearchResult] = Field(default_factory=list)


class AuditLogEntry(HubModel):
    account: str | None = None
    action: str
    name: str | None = None
    actor: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    timestamp: Timestamp = None
    action_description: str | None = None


class AuditAction(HubModel):
    name: str
    description: str | None = None
    label: str | None = None


class AuditActionGroup(HubModel):
    label: str | None = None
    actions: list[AuditAction] = Field(default_factory=list)


class AuditActions(HubModel):
    actions: dict[str, AuditActionGroup] = Field(default_factory=dict)


# --- webhooks and builds -----------------------------------------------------------------------------------------
class Hook(HubModel):
    id: int
    hook_url: str
    active: bool = True
    creator: str | None = None
    last_updater: str | None = None
    date_added: Timestamp = None
    last_updated: Timestamp = None


class Webhook(HubModel):
    id: int
    name: str
    active: bool = True
    expect_final_callback: bool | None = None
    creator: str | None = None
    last_updater: str | None = None
    last_updated: Timestamp = None
    hooks: list[Hook] = Field(default_factory=list)


class WebhookDelivery(HubModel):
    id: int
    webhook_id: int | None = None
    hook_id: int | None = None
    hook_url: str | None = None
    status: str | None = None
    attempts: int = 0
    response_status: int | None = None
    error: str | None = None
    created_at: Timestamp = None
    last_attempt_at: Timestamp = None
    next_attempt_at: Timestamp = None
    delivered_at: Timestamp = None
    redelivery_of: int | None = None
    callback: dict[str, Any] | None = None


class BuildTag(HubModel):
    id: int | None = None
    name: str = ""
    dockerfile_location: str | None = None
    source_type: str | None = None
    source_name: str | None = None


class AutoBuild(HubModel):
    repository: int | None = None
    build_name: str | None = None
    provider: str | None = None
    source_url: str | None = None
    docker_url: str | None = None
    repo_web_url: str | None = None
    repo_type: str | None = None
    active: bool = False
    build_tags: list[BuildTag] = Field(default_factory=list)


class Build(HubModel):
    id: int | None = None
    build_code: str
    status: int | None = None
    status_description: str | None = None
    dockertag_name: str | None = None
    cause: str | None = None
    source_type: str | None = None
    source_name: str | None = None
    created_date: Timestamp = None
    last_updated: Timestamp = None
    build_results: dict[str, Any] | None = None


class BuildTrigger(HubModel):
    token: str = Field(default="", repr=False)
    active: bool = False
    trigger_url: str = Field(default="", repr=False)


class TriggerEvent(HubModel):
    result: str | None = None
    result_desc: str | None = None
    user_agent: str | None = None
    created: Timestamp = None
    build_code: str | None = None


class TriggeredBuild(HubModel):
    source_type: str | None = None
    source_name: str | None = None
    evaluated_tag_name: str | None = None
    build_code: str | None = None
    msg: str | None = None
    queued_for_retry: bool | None = None


class BuildLink(HubModel):
    id: int
    from_repo: str | None = None
    to_repo: str


# --- DVP Data API ------------------------------------------------------------------------------------------------
class NamespaceData(HubModel):
    namespaces: list[str] = Field(default_factory=list)


class Dataset(HubModel):
    name: str | None = None
    views: list[str] = Field(default_factory=list)
    timespans: list[str] = Field(default_factory=list)


class NamespaceMetadata(HubModel):
    namespace: str
    extra_repos: list[str] = Field(default_factory=list, alias="extraRepos")
    datasets: list[Dataset] = Field(default_factory=list)


class PullCount(HubModel):
    """One row of a pull series: a period (and a repository, or a country, depending on `group`)."""

    start: Timestamp = None
    end: Timestamp = None
    repo: str | None = None
    namespace: str | None = None
    pull_count: int = Field(default=0, alias="pullCount")
    ip_count: int | None = Field(default=None, alias="ipCount")
    country: str | None = None


class PullData(HubModel):
    pulls: list[PullCount] = Field(default_factory=list)


class ReposPullData(HubModel):
    repos: dict[str, PullData] = Field(default_factory=dict)


class ExportYear(HubModel):
    year: int


class ExportYears(HubModel):
    years: list[ExportYear] = Field(default_factory=list)


class ExportTimespans(HubModel):
    """The months or the weeks of a year that have data (one of the two lists is filled)."""

    months: list[dict[str, int]] | None = None
    weeks: list[dict[str, int]] | None = None

    @property
    def numbers(self) -> list[int]:
        rows = self.months if self.months is not None else self.weeks or []
        return [int(next(iter(row.values()))) for row in rows if row]


class ExportTimespan(HubModel):
    month: int | None = None
    week: int | None = None


class ExportFile(HubModel):
    url: str
    size: int | None = None


class ExportFiles(HubModel):
    data: list[ExportFile] = Field(default_factory=list)


# --- registry ----------------------------------------------------------------------------------------------------
class Manifest(HubModel):
    """A manifest as the registry serves it."""

    repository: str
    reference: str
    digest: str | None = None
    media_type: str | None = None
    size: int | None = None
    content: dict[str, Any] = Field(default_factory=dict)

    @property
    def platforms(self) -> list[str]:
        """For an index or manifest list, its platforms (os/architecture[/variant])."""
        found = []
        for entry in self.content.get("manifests") or []:
            platform = entry.get("platform") or {}
            parts = [platform.get("os", "unknown"), platform.get("architecture", "unknown")]
            if platform.get("variant"):
                parts.append(platform["variant"])
            found.append("/".join(parts))
        return found


class PullLimits(HubModel):
    """The pull rate limit the registry applies to the caller; `limit` None means no limit (no headers)."""

    limit: int | None = None
    remaining: int | None = None
    window_seconds: int | None = None
    source: str | None = None
    status: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.limit is None
