"""The DVP Data API at `/api/publisher/analytics/v1` (the seed `dvp-data-api.openapi`): discovery, pull series from
the weekly and monthly summaries, and the CSV exports of complete periods with signed download links.

Every route but the download takes the Hub JWT from `POST /v2/users/login` (`Authorization: Bearer`); a
namespace the caller may not see is a 404. Pull series default to `timespan=months`, `period=last-3-months`,
`group=repo`; `pullCount` counts pulls by tag and by digest (version checks are not pulls) and `ipCount` the
distinct clients of all actions. Export links expire after DOCKYARD_ANALYTICS_DOWNLOAD_TTL_SECONDS and need no
credentials, so they can be handed to a download tool as they are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import FileResponse

from dockyard.analytics import exports, periods
from dockyard.analytics.dvp_service import DvpService
from dockyard.analytics.schemas import (
    Dataview,
    Group,
    MonthData,
    MonthModel,
    NamespaceData,
    NamespaceMetadata,
    PeriodName,
    PullData,
    ReposPullData,
    ResponseData,
    ResponseDataFile,
    Timespan,
    WeekData,
    WeekModel,
    YearData,
    YearModel,
)
from dockyard.analytics.store import AnalyticsStore
from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep
from dockyard.api.errors import ApiError, NotFound
from dockyard.api.routing import HubRouter

PREFIX = "/api/publisher/analytics/v1"
router = HubRouter(prefix=PREFIX, tags=["DVP Data API"])

NamespacePath = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")]
RepositoryPath = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")]
YearPath = Annotated[int, Path(ge=1970, le=9999)]
NumberPath = Annotated[int, Path(ge=1, le=53)]
TimespanQuery = Annotated[Timespan, Query()]
PeriodQuery = Annotated[PeriodName, Query()]
GroupQuery = Annotated[Group, Query()]


class Forbidden(ApiError):
    status = 403


def _service(session: ReadSession, subject: CurrentSubject) -> DvpService:
    return DvpService(AnalyticsStore(session), subject)


@router.get("/", response_model=NamespaceData, summary="Namespaces with analytics data")
async def discovery(session: ReadSession, subject: CurrentSubject) -> NamespaceData:
    return NamespaceData(namespaces=await _service(session, subject).with_data())


@router.get("/namespaces", response_model=list[NamespaceMetadata], summary="The caller's namespaces")
async def namespaces(session: ReadSession, subject: CurrentSubject) -> list[NamespaceMetadata]:
    return [NamespaceMetadata(namespace=name) for name in await _service(session, subject).visible()]


@router.get("/namespaces/{namespace}", response_model=NamespaceMetadata, summary="One namespace")
async def namespace(namespace: NamespacePath, session: ReadSession, subject: CurrentSubject) -> NamespaceMetadata:
    await _service(session, subject).require(namespace)
    return NamespaceMetadata(namespace=namespace)


@router.get("/namespaces/{namespace}/pulls", response_model=PullData, summary="A namespace's pulls")
async def namespace_pulls(
    namespace: NamespacePath,
    session: ReadSession,
    subject: CurrentSubject,
    timespan: TimespanQuery = "months",
    period: PeriodQuery = "last-3-months",
    group: GroupQuery = "repo",
) -> PullData:
    service = _service(session, subject)
    pulls = await service.namespace_pulls(namespace, timespan, period, group, periods.utc_today())
    return PullData(pulls=pulls)


@router.get("/namespaces/{namespace}/repos/{repo}/pulls", response_model=PullData, summary="A repository's pulls")
async def repository_pulls(
    namespace: NamespacePath,
    repo: RepositoryPath,
    session: ReadSession,
    subject: CurrentSubject,
    timespan: TimespanQuery = "months",
    period: PeriodQuery = "last-3-months",
    group: GroupQuery = "repo",
) -> PullData:
    # One repository is its own group whichever `group` is asked for.
    pulls = await _service(session, subject).repository_pulls(namespace, repo, timespan, period, periods.utc_today())
    return PullData(pulls=pulls)


@router.get("/repos/pulls", response_model=ReposPullData, summary="Pulls of up to 50 repositories")
async def many_pulls(
    session: ReadSession,
    subject: CurrentSubject,
    repos: Annotated[list[str], Query(max_length=255)],
    timespan: TimespanQuery = "months",
    period: PeriodQuery = "last-3-months",
    group: GroupQuery = "repo",
) -> ReposPullData:
    found = await _service(session, subject).many_pulls(repos, timespan, period, periods.utc_today())
    return ReposPullData(repos={name: PullData(pulls=pulls) for name, pulls in found.items()})


EXPORTS = "/namespaces/{namespace}/pulls/exports/years"


@router.get(EXPORTS, response_model=YearData, summary="Years with exports")
async def export_years(namespace: NamespacePath, session: ReadSession, subject: CurrentSubject) -> YearData:
    years = await _service(session, subject).years(namespace)
    return YearData(years=[YearModel(year=year) for year in years])


@router.get(EXPORTS + "/{year}/{timespantype}", response_model=MonthData | WeekData, summary="Months or weeks")
async def export_timespans(
    namespace: NamespacePath,
    year: YearPath,
    timespantype: Timespan,
    session: ReadSession,
    subject: CurrentSubject,
) -> MonthData | WeekData:
    numbers = await _service(session, subject).numbers(namespace, year, timespantype)
    if timespantype == "months":
        return MonthData(months=[MonthModel(month=n) for n in numbers])
    return WeekData(weeks=[WeekModel(week=n) for n in numbers])


@router.get(
    EXPORTS + "/{year}/{timespantype}/{timespan}", response_model=MonthModel | WeekModel, summary="One month or week"
)
async def export_timespan(
    namespace: NamespacePath,
    year: YearPath,
    timespantype: Timespan,
    timespan: NumberPath,
    session: ReadSession,
    subject: CurrentSubject,
) -> MonthModel | WeekModel:
    period = await _service(session, subject).period(namespace, year, timespantype, timespan)
    return MonthModel(month=period.number) if timespantype == "months" else WeekModel(week=period.number)


@router.get(
    EXPORTS + "/{year}/{timespantype}/{timespan}/{dataview}",
    response_model=ResponseData,
    summary="Download links of one export",
)
async def export_links(
    namespace: NamespacePath,
    year: YearPath,
    timespantype: Timespan,
    timespan: NumberPath,
    dataview: Dataview,
    session: ReadSession,
    subject: CurrentSubject,
    services: ServicesDep,
) -> ResponseData:
    files = await _service(session, subject).files(namespace, year, timespantype, timespan, dataview)
    secret = services.settings.load_secret()
    ttl = services.settings.analytics_download_ttl_seconds
    base = services.settings.base_url
    return ResponseData(
        data=[ResponseDataFile(url=exports.download_url(base, secret, item.id, ttl), size=item.size) for item in files]
    )


@router.get(
    exports.DOWNLOADS_PATH.removeprefix(PREFIX) + "/{token}",
    summary="Download an export file (signed link, no credentials)",
    response_class=FileResponse,
    responses={200: {"description": "The CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def download(
    token: Annotated[str, Path(max_length=128)], session: ReadSession, services: ServicesDep
) -> FileResponse:
    verified = exports.verify(services.settings.load_secret(), token)
    if verified is None:
        raise Forbidden("the download link is invalid or has expired: ask the API for a new one")
    item = await AnalyticsStore(session).export_file(verified.export_id)
    path = services.settings.data_dir / item.path if item is not None else None
    if item is None or path is None or not path.is_file():
        raise NotFound("this export no longer exists: ask the API for a new link")
    name = f"{item.namespace}-{item.timespan}-{item.year}-{item.number:02d}-{item.dataview}-{item.part}.csv"
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=name)
