"""Wire shapes of the automated-build routes, as Docker Hub (and the npm client) have them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dockyard.hub.builds import RuleIn
from dockyard.hub.community_access import Text


class BuildTagIn(BaseModel):
    name: Text = Field(default="latest", max_length=128)
    dockerfile_location: Text = Field(default="/", max_length=1024)
    source_type: Text = Field(default="Branch", max_length=16)
    source_name: Text = Field(default="master", min_length=1, max_length=255)

    def rule(self) -> RuleIn:
        return RuleIn(self.name or "latest", self.source_type, self.source_name, self.dockerfile_location)


class AutoBuildIn(BaseModel):
    source_url: Text | None = Field(default=None, max_length=2048)
    vcs_repo_name: Text | None = Field(default=None, max_length=2048)
    provider: Text = Field(default="git", max_length=32)
    build_name: Text = Field(default="", max_length=255)
    active: bool = True
    build_tags: list[BuildTagIn] | None = None


class TriggerBuildIn(BaseModel):
    dockerfile_location: Text | None = Field(default=None, max_length=1024)
    source_type: Text = Field(default="Branch", max_length=16)
    source_name: Text = Field(default="master", min_length=1, max_length=255)


class TriggerSettingsIn(BaseModel):
    active: bool | None = None
    regenerate: bool = False


class LinkIn(BaseModel):
    to_repo: Text = Field(min_length=1, max_length=512)


class BuildTagOut(BaseModel):
    id: int
    name: str
    dockerfile_location: str
    source_name: str
    source_type: str


class AutoBuildOut(BaseModel):
    repository: int
    build_name: str
    provider: str
    source_url: str
    docker_url: str
    repo_web_url: str
    repo_type: str
    active: bool
    repo_id: str
    build_tags: list[BuildTagOut]
    deploykey: None = None
    hook_id: None = None
    webhook_id: None = None


class TriggeredOut(BaseModel):
    source_type: str
    source_name: str
    evaluated_tag_name: str
    build_code: str
    msg: str
    queued_for_retry: bool


class BuildOut(BaseModel):
    id: int
    status: int
    status_description: str
    created_date: str
    last_updated: str
    build_code: str
    dockertag_name: str
    cause: str | None
    source_type: str
    source_name: str


class BuildPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[BuildOut]


class BuildMetrics(BaseModel):
    created: str | None
    claimed: str | None
    started: str | None
    cloned: str | None
    finished: str | None
    error: str | None
    failure: str | None


class BuildResults(BaseModel):
    build_code: str
    build_path: str
    buildmetrics: BuildMetrics
    created_at: str
    docker_repo: str
    docker_tag: str
    docker_user: str
    dockerfile_contents: str
    error: str | None
    failure: str | None
    last_updated: str
    logs: str
    readme_contents: str
    source_branch: str
    source_type: str
    source_url: str
    digest: str | None


class BuildDetailOut(BuildOut):
    build_results: BuildResults


class TriggerOut(BaseModel):
    token: str
    active: bool
    trigger_url: str


class TriggerEventOut(BaseModel):
    ip_address: str
    result: str
    result_desc: str
    user_agent: str
    request_body: str | None
    created: str
    build_code: str | None


class TriggerEventPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[TriggerEventOut]


class LinkOut(BaseModel):
    id: int
    from_repo: str
    to_repo: str


class LinkPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[LinkOut]
