"""The web pages' routes: sign in and out, and the Insights dashboard.

- `GET /login`, `POST /login`: the sign-in form (username and password or personal access token; then, for an
  account with a second factor, a TOTP or recovery code), with the Hub API's rules and throttle
  (accounts.login); success sets the session cookie (web.session) and goes to `next` (a path on this site).
- `POST /logout`: revokes the session's token and drops the cookie.
- `GET /insights`: the namespaces whose analytics the visitor may see.
- `GET /insights/{namespace}?timespan=weeks|months&period=last-N-months`: a namespace's pulls, per repository,
  and the download links of its exports.

They are mounted ahead of the Hub API's catch-all mount (see dockyard.app), and answer HTML, errors included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.accounts.login import Login, access_token, sign_out
from dockyard.accounts.permissions import Subject
from dockyard.accounts.sessions import SECOND_FACTOR
from dockyard.analytics import periods
from dockyard.analytics.dvp_service import DvpService
from dockyard.analytics.schemas import PERIOD_MONTHS, TIMESPANS
from dockyard.analytics.store import AnalyticsStore
from dockyard.api.errors import ApiError, TooManyRequests, Unauthorized
from dockyard.http import client_ip
from dockyard.web import charts, session
from dockyard.web.service import InsightsService, parse_query
from dockyard.web.templates import Templates

if TYPE_CHECKING:
    from dockyard.app import Services

MAX_USERNAME = 255
MAX_SECRET = 4096
MAX_CODE = 64
WRONG_PASSWORD = "Incorrect username or password."
WRONG_CODE = "That code is not right. Enter the current code from your authenticator app, or a recovery code."
CHALLENGE_EXPIRED = "The sign-in took too long. Enter your username and password again."


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


class Pages:
    def __init__(self) -> None:
        self.templates = Templates()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/insights", self.overview, methods=["GET"]),
            Route("/insights/{namespace}", self.namespace, methods=["GET"]),
        ]

    # --- rendering -----------------------------------------------------------------------------------------
    def _page(
        self,
        name: str,
        subject: Subject | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        return self.templates.render(name, {"user": subject.username if subject else None, **context}, status, headers)

    def _error(self, subject: Subject | None, status: int, message: str) -> Response:
        return self._page("error.html", subject, status, code=status, message=message)

    def _login_page(
        self,
        status: int = 200,
        *,
        next_path: str,
        message: str | None = None,
        username: str = "",
        challenge: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return self._page(
            "login.html",
            None,
            status,
            headers,
            next=next_path,
            message=message,
            username=username,
            challenge=challenge,
        )

    # --- signing in and out --------------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        services = _services(request)
        next_path = session.local_path(request.query_params.get("next"))
        visitor = await session.visitor(request, services)
        if visitor.subject is not None:
            return _redirect(next_path)
        response = self._login_page(next_path=next_path)
        if visitor.stale:
            session.end(response, services.settings)
        return response

    async def login(self, request: Request) -> Response:
        services = _services(request)
        if session.cross_site(request):
            return self._error(None, 403, "Sign in from this site's own sign-in page.")
        try:
            form = await session.read_form(request)
        except session.BadForm:
            return self._error(None, 400, "The form could not be read.")
        next_path = session.local_path(form.get("next"))
        login = Login(services.db, services.hub_tokens, client_ip(request, services.settings.trusted_proxies))
        try:
            if "login_2fa_token" in form:
                outcome = await self._second_step(services, login, form, next_path)
            else:
                outcome = await self._first_step(services, login, form, next_path)
        except TooManyRequests as throttled:
            return self._login_page(429, next_path=next_path, message=throttled.detail, headers=throttled.headers)
        if isinstance(outcome, Response):
            return outcome
        response = _redirect(next_path)
        ttl = services.settings.hub_token_ttl_seconds
        session.start(response, services.settings, access_token(services.hub_tokens, outcome, ttl))
        return response

    async def _first_step(
        self, services: Services, login: Login, form: dict[str, str], next_path: str
    ) -> Subject | Response:
        """The password (or personal access token): signed in, or the second-factor form, or the form again."""
        username, password = form.get("username", "").strip(), form.get("password", "")
        if not username or not password or len(username) > MAX_USERNAME or len(password) > MAX_SECRET:
            message = "Enter your username and your password (or a personal access token)."
            return self._login_page(400, next_path=next_path, message=message, username=username[:MAX_USERNAME])
        try:
            async with services.db.reader() as db:
                checked = await login.with_password(db, username, password)
        except Unauthorized:
            return self._login_page(401, next_path=next_path, message=WRONG_PASSWORD, username=username)
        if checked.challenge is not None:
            return self._login_page(next_path=next_path, challenge=checked.challenge)
        return checked.subject

    async def _second_step(
        self, services: Services, login: Login, form: dict[str, str], next_path: str
    ) -> Subject | Response:
        """The code that completes a sign-in with a second factor; a wrong one may be retried with the same
        challenge until it expires, as on the Hub API."""
        challenge, code = form["login_2fa_token"], form.get("code", "").strip()
        # Checked here only to tell "start again" apart from "wrong code"; Login checks it again.
        if services.hub_tokens.decode(challenge, SECOND_FACTOR) is None:
            return self._login_page(401, next_path=next_path, message=CHALLENGE_EXPIRED)
        if not code or len(code) > MAX_CODE:
            return self._login_page(400, next_path=next_path, message=WRONG_CODE, challenge=challenge)
        try:
            async with services.db.writer() as db:
                return await login.with_second_factor(db, challenge, code)
        except Unauthorized:
            return self._login_page(401, next_path=next_path, message=WRONG_CODE, challenge=challenge)

    async def logout(self, request: Request) -> Response:
        services = _services(request)
        if session.cross_site(request):
            return self._error(None, 403, "Sign out from this site's own pages.")
        claims = session.claims(request, services)
        if claims is not None:
            async with services.db.writer() as db:
                await sign_out(db, services.hub_tokens, claims)
        response = _redirect("/login")
        session.end(response, services.settings)
        return response

    # --- the dashboard -------------------------------------------------------------------------------------
    async def _signed_in(self, request: Request) -> Subject | Response:
        visitor = await session.visitor(request, _services(request))
        if visitor.subject is not None:
            return visitor.subject
        response = _redirect(session.login_url(request))
        if visitor.stale:
            session.end(response, _services(request).settings)
        return response

    async def overview(self, request: Request) -> Response:
        subject = await self._signed_in(request)
        if isinstance(subject, Response):
            return subject
        services = _services(request)
        async with services.db.reader() as db:
            found = await InsightsService(DvpService(AnalyticsStore(db), subject), services.settings).overview()
        return self._page("overview.html", subject, overview=found)

    async def namespace(self, request: Request) -> Response:
        subject = await self._signed_in(request)
        if isinstance(subject, Response):
            return subject
        services = _services(request)
        namespace = str(request.path_params["namespace"])
        try:
            timespan, period = parse_query(request.query_params.get("timespan"), request.query_params.get("period"))
            async with services.db.reader() as db:
                insights = InsightsService(DvpService(AnalyticsStore(db), subject), services.settings)
                page = await insights.namespace(namespace, timespan, period, periods.utc_today())
        except ApiError as error:
            return self._error(subject, error.status, error.detail)
        title = f"{namespace}: pulls per {page.unit}"
        chart = await anyio.to_thread.run_sync(charts.pulls_chart, page.periods, title)
        return self._page(
            "namespace.html",
            subject,
            page=page,
            chart=chart,
            timespans=TIMESPANS,
            period_names=list(PERIOD_MONTHS),
        )


def web_routes() -> list[BaseRoute]:
    return Pages().routes()
