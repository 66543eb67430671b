"""Wire shapes of the DVP Data API (the seed `dvp-data-api.openapi`), field names exactly as the spec writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Timespan = Literal["months", "weeks"]
PeriodName = Literal["last-2-months", "last-3-months", "last-6-months", "last-12-months"]
Group = Literal["repo", "namespace"]
Dataview = Literal["raw", "summary", "repo-summary", "namespace-summary"]
PERIOD_MONTHS = {"last-2-months": 2, "last-3-months": 3, "last-6-months": 6, "last-12-months": 12}
DATAVIEWS: tuple[Dataview, ...] = ("raw", "summary", "repo-summary", "namespace-summary")
TIMESPANS: tuple[Timespan, ...] = ("months", "weeks")


class NamespaceData(BaseModel):
    namespaces: list[str]


class DatasetModel(BaseModel):
    name: Literal["pulls"] = "pulls"
    views: list[Dataview] = Field(default_factory=lambda: list(DATAVIEWS))
    timespans: list[Timespan] = Field(default_factory=lambda: list(TIMESPANS))


class NamespaceMetadata(BaseModel):
    namespace: str
    extraRepos: list[str] = Field(default_factory=list)
    datasets: list[DatasetModel] = Field(default_factory=lambda: [DatasetModel()])


class PullModel(BaseModel):
    """Pulls (by tag and by digest; version checks are not pulls) and distinct clients of one period."""

    start: str  # RFC 3339, the period's first instant
    end: str  # RFC 3339, the instant after the period
    repo: str  # "" when grouped by namespace
    namespace: str
    pullCount: int
    ipCount: int
    country: str = ""  # pulls are not broken down by country here


class PullData(BaseModel):
    pulls: list[PullModel]


class ReposPullData(BaseModel):
    repos: dict[str, PullData]


class YearModel(BaseModel):
    year: int


class YearData(BaseModel):
    years: list[YearModel]


class MonthModel(BaseModel):
    month: int


class WeekModel(BaseModel):
    week: int


class MonthData(BaseModel):
    months: list[MonthModel]


class WeekData(BaseModel):
    weeks: list[WeekModel]


class ResponseDataFile(BaseModel):
    url: str
    size: int


class ResponseData(BaseModel):
    data: list[ResponseDataFile]
