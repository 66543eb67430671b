"""Flows for signing in, tokens, the second factor, users, organisations, members, groups and invites."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dockyard.client import models as m
from dockyard.client.calls import (
    AskCode,
    Call,
    Flow,
    Listing,
    body,
    delete,
    fetch,
    fetch_list,
    get,
    item_parser,
    json_of,
    model,
    params,
    patch,
    post,
    put,
    seg,
    send,
)
from dockyard.client.context import Context
from dockyard.client.errors import error_for

NO_CHALLENGE = frozenset({401})


def _when(value: datetime | str | None) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


# --- signing in --------------------------------------------------------------------------------------------------
def login(ctx: Context, username: str | None = None, password: str | None = None) -> Flow[m.LoginResult]:
    """Sign in with a password or a personal access token (`POST /v2/users/login`). When the account has a second
    factor the server answers 401 with a `login_2fa_token`: the client's `otp_callback` is asked for the code and
    the sign-in completes at `POST /v2/users/2fa-login` (without a callback, `TwoFactorRequired` is raised).
    Asks for a refresh token too, so the session can be renewed without the password."""
    user = username or ctx.username
    secret = password or ctx.password
    if not user or not secret:
        raise ValueError("login needs a username and a password or access token")
    query = params(refresh_token=True)
    response = yield post(
        "/v2/users/login", {"username": user, "password": secret}, params=query, auth=False, ok=NO_CHALLENGE
    )
    if response.status_code == 401:
        data = json_of(response) if response.content else None
        challenge = data.get("login_2fa_token") if isinstance(data, dict) else None
        if not challenge or ctx.otp_callback is None:
            raise error_for(response)
        code = yield AskCode(user)
        response = yield post(
            "/v2/users/2fa-login", {"login_2fa_token": challenge, "code": str(code).strip()}, params=query, auth=False
        )
    result = model(m.LoginResult, response)
    ctx.username, ctx.password = user, secret
    ctx.set_tokens(result.token, result.refresh_token)
    return result


def login_second_factor(ctx: Context, login_2fa_token: str, code: str) -> Flow[m.LoginResult]:
    """Complete a sign-in that answered `TwoFactorRequired`, with its `login_2fa_token` and a TOTP or recovery
    code (`POST /v2/users/2fa-login`)."""
    response = yield post(
        "/v2/users/2fa-login",
        {"login_2fa_token": login_2fa_token, "code": code},
        params=params(refresh_token=True),
        auth=False,
    )
    result = model(m.LoginResult, response)
    ctx.set_tokens(result.token, result.refresh_token)
    return result


def auth_token(ctx: Context, identifier: str, secret: str) -> Flow[str]:
    """Exchange credentials for a short-lived access token (`POST /v2/auth/token`): a username with a password,
    a personal access token or a refresh token, or an organisation's name with an organisation access token.
    The client then uses that token."""
    response = yield post("/v2/auth/token", {"identifier": identifier, "secret": secret}, auth=False)
    data = json_of(response)
    token = str(data.get("access_token") or data.get("token"))
    ctx.username = identifier
    ctx.set_tokens(token)
    return token


def sign_in(ctx: Context) -> Flow[None]:
    """Get a fresh access token from what the client holds: the refresh token if any, else the password."""
    if ctx.refresh_token and ctx.username:
        response = yield post(
            "/v2/auth/token", {"identifier": ctx.username, "secret": ctx.refresh_token}, auth=False, ok=NO_CHALLENGE
        )
        if response.status_code < 300:
            data = json_of(response)
            ctx.set_tokens(str(data.get("access_token") or data.get("token")))
            return None
        if not ctx.password:
            raise error_for(response)
        ctx.refresh_token = None
    yield from login(ctx)
    return None


def logout(ctx: Context) -> Flow[None]:
    """Revoke the session on the server (`POST /v2/logout/`, with the refresh token) and forget every credential
    the client holds."""
    try:
        if ctx.token:
            extra = {"refresh_token": ctx.refresh_token} if ctx.refresh_token else None
            yield post("/v2/logout/", extra, ok=frozenset({401}))
    finally:
        ctx.password = None
        ctx.set_tokens(None, None, keep_refresh=False)
    return None


def signup(ctx: Context, username: str, password: str, email: str) -> Flow[str]:
    """Register an account through the v1 API (`POST /v1/users/`; only where the server allows sign-up)."""
    response = yield post("/v1/users/", {"username": username, "password": password, "email": email}, auth=False)
    data = json_of(response)
    return str(data) if data is not None else ""


# --- second factor -----------------------------------------------------------------------------------------------
def two_factor_status(ctx: Context) -> Flow[m.TwoFactorStatus]:
    """Whether the signed-in user has a second factor (`GET /v2/user/2fa`)."""
    return (yield from fetch(m.TwoFactorStatus, get("/v2/user/2fa")))


def enable_totp(ctx: Context) -> Flow[m.TotpEnrolment]:
    """Start TOTP enrolment: the secret and `otpauth://` URI to load into an authenticator app."""
    return (yield from fetch(m.TotpEnrolment, post("/v2/user/2fa/totp")))


def confirm_totp(ctx: Context, code: str) -> Flow[m.RecoveryCodes]:
    """Finish TOTP enrolment with a first code; answers the single-use recovery codes (shown once)."""
    return (yield from fetch(m.RecoveryCodes, post("/v2/user/2fa/totp/confirm", {"code": code})))


def regenerate_recovery_codes(
    ctx: Context, *, code: str | None = None, password: str | None = None
) -> Flow[m.RecoveryCodes]:
    """Replace the recovery codes (proving presence with a current code or the password)."""
    return (yield from fetch(m.RecoveryCodes, post("/v2/user/2fa/recovery-codes", body(code=code, password=password))))


def disable_two_factor(
    ctx: Context, *, code: str | None = None, password: str | None = None
) -> Flow[m.TwoFactorStatus]:
    """Turn the second factor off (with a current code or the password)."""
    return (yield from fetch(m.TwoFactorStatus, post("/v2/user/2fa/disable", body(code=code, password=password))))


# --- personal access tokens --------------------------------------------------------------------------------------
def create_access_token(
    ctx: Context,
    label: str,
    scopes: Sequence[str] | None = None,
    *,
    expires_at: datetime | str | None = None,
) -> Flow[m.AccessToken]:
    """Create a personal access token; its secret (`.token`) is in this answer only. Scopes: `repo:admin`,
    `repo:write`, `repo:read`, `repo:public_read`."""
    payload = body(token_label=label, scopes=list(scopes) if scopes is not None else None, expires_at=_when(expires_at))
    return (yield from fetch(m.AccessToken, post("/v2/access-tokens", payload)))


def list_access_tokens(ctx: Context, *, page_size: int = 100) -> Listing[m.AccessToken]:
    """The signed-in user's personal access tokens (secrets are never listed)."""
    return Listing(get("/v2/access-tokens", params(page_size=page_size)), item_parser(m.AccessToken))


def get_access_token(ctx: Context, uuid: str) -> Flow[m.AccessToken]:
    return (yield from fetch(m.AccessToken, get(f"/v2/access-tokens/{seg(uuid)}")))


def update_access_token(
    ctx: Context, uuid: str, *, label: str | None = None, is_active: bool | None = None
) -> Flow[m.AccessToken]:
    """Rename a personal access token, or turn it on or off."""
    payload = body(token_label=label, is_active=is_active)
    return (yield from fetch(m.AccessToken, patch(f"/v2/access-tokens/{seg(uuid)}", payload)))


def activate_access_token(ctx: Context, uuid: str) -> Flow[m.AccessToken]:
    return (yield from update_access_token(ctx, uuid, is_active=True))


def deactivate_access_token(ctx: Context, uuid: str) -> Flow[m.AccessToken]:
    return (yield from update_access_token(ctx, uuid, is_active=False))


def delete_access_token(ctx: Context, uuid: str) -> Flow[None]:
    return (yield from send(delete(f"/v2/access-tokens/{seg(uuid)}")))


# --- organisation access tokens ----------------------------------------------------------------------------------
def _resources(resources: Iterable[m.OrgTokenResource | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [r.to_json() if isinstance(r, m.OrgTokenResource) else dict(r) for r in resources]


def create_org_access_token(
    ctx: Context,
    org: str,
    label: str,
    resources: Iterable[m.OrgTokenResource | Mapping[str, Any]],
    *,
    description: str | None = None,
    expires_at: datetime | str | None = None,
) -> Flow[m.OrgAccessToken]:
    """Create an organisation access token (owners). A resource is `{type: TYPE_REPO|TYPE_ORG, path: "org/repo"
    or "*/*/public", scopes: ["repo-pull", ...]}`. The secret is in this answer only."""
    payload = body(label=label, description=description, resources=_resources(resources), expires_at=_when(expires_at))
    return (yield from fetch(m.OrgAccessToken, post(f"/v2/orgs/{seg(org)}/access-tokens", payload)))


def list_org_access_tokens(ctx: Context, org: str, *, page_size: int = 100) -> Listing[m.OrgAccessToken]:
    return Listing(
        get(f"/v2/orgs/{seg(org)}/access-tokens", params(page_size=page_size)), item_parser(m.OrgAccessToken)
    )


def get_org_access_token(ctx: Context, org: str, token_id: str) -> Flow[m.OrgAccessToken]:
    return (yield from fetch(m.OrgAccessToken, get(f"/v2/orgs/{seg(org)}/access-tokens/{seg(token_id)}")))


def update_org_access_token(
    ctx: Context,
    org: str,
    token_id: str,
    *,
    label: str | None = None,
    description: str | None = None,
    resources: Iterable[m.OrgTokenResource | Mapping[str, Any]] | None = None,
    is_active: bool | None = None,
) -> Flow[m.OrgAccessToken]:
    payload = body(
        label=label,
        description=description,
        resources=_resources(resources) if resources is not None else None,
        is_active=is_active,
    )
    return (yield from fetch(m.OrgAccessToken, patch(f"/v2/orgs/{seg(org)}/access-tokens/{seg(token_id)}", payload)))


def delete_org_access_token(ctx: Context, org: str, token_id: str) -> Flow[None]:
    return (yield from send(delete(f"/v2/orgs/{seg(org)}/access-tokens/{seg(token_id)}")))


# --- users -------------------------------------------------------------------------------------------------------
def me(ctx: Context) -> Flow[m.User]:
    """The signed-in user (`GET /v2/user/`)."""
    return (yield from fetch(m.User, get("/v2/user/")))


def update_profile(
    ctx: Context,
    *,
    full_name: str | None = None,
    location: str | None = None,
    company: str | None = None,
    profile_url: str | None = None,
    gravatar_email: str | None = None,
) -> Flow[m.User]:
    payload = body(
        full_name=full_name, location=location, company=company, profile_url=profile_url, gravatar_email=gravatar_email
    )
    return (yield from fetch(m.User, patch("/v2/user/", payload)))


def get_user(ctx: Context, username: str) -> Flow[m.User]:
    """A user's public profile."""
    return (yield from fetch(m.User, get(f"/v2/users/{seg(username)}/")))


def user_repositories(ctx: Context, username: str) -> Flow[list[m.Repository]]:
    """All of an account's repositories the caller can see, in one unpaged answer."""
    return (yield from fetch_list(m.Repository, get(f"/v2/users/{seg(username)}/repositories/")))


def starred_repositories(ctx: Context, username: str, *, page_size: int = 100) -> Listing[m.Repository]:
    """Repositories a user starred."""
    call = get(f"/v2/users/{seg(username)}/repositories/starred", params(page_size=page_size))
    return Listing(call, item_parser(m.Repository))


def registry_settings(ctx: Context, account: str) -> Flow[m.RegistrySettings]:
    """An account's private-repository quota and usage."""
    return (yield from fetch(m.RegistrySettings, get(f"/v2/users/{seg(account)}/registry-settings/")))


def set_private_repo_limit(ctx: Context, account: str, limit: int | None) -> Flow[m.RegistrySettings]:
    """Set an account's private-repository quota (site administrators; None: unlimited)."""
    call = patch(f"/v2/users/{seg(account)}/registry-settings/", {"private_repo_limit": limit})
    return (yield from fetch(m.RegistrySettings, call))


# --- organisations -----------------------------------------------------------------------------------------------
def list_my_orgs(ctx: Context, *, page_size: int = 100) -> Listing[m.Organization]:
    """The signed-in user's organisations."""
    return Listing(get("/v2/user/orgs/", params(page_size=page_size)), item_parser(m.Organization))


def get_org(ctx: Context, org: str) -> Flow[m.Organization]:
    return (yield from fetch(m.Organization, get(f"/v2/orgs/{seg(org)}")))


def create_org(
    ctx: Context,
    orgname: str,
    *,
    full_name: str | None = None,
    location: str | None = None,
    company: str | None = None,
    profile_url: str | None = None,
    gravatar_email: str | None = None,
) -> Flow[m.Organization]:
    payload = body(
        orgname=orgname,
        full_name=full_name,
        location=location,
        company=company,
        profile_url=profile_url,
        gravatar_email=gravatar_email,
    )
    return (yield from fetch(m.Organization, post("/v2/orgs/", payload)))


def update_org(
    ctx: Context,
    org: str,
    *,
    full_name: str | None = None,
    location: str | None = None,
    company: str | None = None,
    profile_url: str | None = None,
    gravatar_email: str | None = None,
) -> Flow[m.Organization]:
    payload = body(
        full_name=full_name, location=location, company=company, profile_url=profile_url, gravatar_email=gravatar_email
    )
    return (yield from fetch(m.Organization, patch(f"/v2/orgs/{seg(org)}", payload)))


def delete_org(ctx: Context, org: str) -> Flow[None]:
    """Delete an organisation (its repositories must be deleted first)."""
    return (yield from send(delete(f"/v2/orgs/{seg(org)}")))


# --- members -----------------------------------------------------------------------------------------------------
def list_members(
    ctx: Context,
    org: str,
    *,
    search: str | None = None,
    role: str | None = None,
    type: str | None = None,
    invites: bool | None = None,
    page_size: int = 100,
) -> Listing[m.OrgMember]:
    """An organisation's members (`role`: owner, editor or member; `type`: all, invitee or member)."""
    query = params(search=search, role=role, type=type, invites=invites, page_size=page_size)
    return Listing(get(f"/v2/orgs/{seg(org)}/members", query), item_parser(m.OrgMember))


def export_members(ctx: Context, org: str) -> Flow[str]:
    """The members as CSV (owners)."""
    response = yield get(f"/v2/orgs/{seg(org)}/members/export", cache=False)
    return str(response.text)


def set_member_role(ctx: Context, org: str, username: str, role: str) -> Flow[m.OrgMember]:
    """Make a member `owner`, `editor` or `member`."""
    return (yield from fetch(m.OrgMember, put(f"/v2/orgs/{seg(org)}/members/{seg(username)}", {"role": role})))


def remove_member(ctx: Context, org: str, username: str) -> Flow[None]:
    """Remove a member (owners), or leave the organisation (yourself)."""
    return (yield from send(delete(f"/v2/orgs/{seg(org)}/members/{seg(username)}")))


# --- groups (teams) ----------------------------------------------------------------------------------------------
def list_groups(
    ctx: Context, org: str, *, search: str | None = None, username: str | None = None, page_size: int = 100
) -> Listing[m.Group]:
    query = params(search=search, username=username, page_size=page_size)
    return Listing(get(f"/v2/orgs/{seg(org)}/groups", query), item_parser(m.Group))


def get_group(ctx: Context, org: str, group: str) -> Flow[m.Group]:
    return (yield from fetch(m.Group, get(f"/v2/orgs/{seg(org)}/groups/{seg(group)}")))


def create_group(ctx: Context, org: str, name: str, description: str | None = None) -> Flow[m.Group]:
    return (yield from fetch(m.Group, post(f"/v2/orgs/{seg(org)}/groups", body(name=name, description=description))))


def update_group(
    ctx: Context, org: str, group: str, *, name: str | None = None, description: str | None = None
) -> Flow[m.Group]:
    """Rename a group or change its description (`PATCH`)."""
    call = patch(f"/v2/orgs/{seg(org)}/groups/{seg(group)}", body(name=name, description=description))
    return (yield from fetch(m.Group, call))


def replace_group(ctx: Context, org: str, group: str, name: str, description: str = "") -> Flow[m.Group]:
    """Replace a group's name and description (`PUT`)."""
    call = put(f"/v2/orgs/{seg(org)}/groups/{seg(group)}", {"name": name, "description": description})
    return (yield from fetch(m.Group, call))


def delete_group(ctx: Context, org: str, group: str) -> Flow[None]:
    return (yield from send(delete(f"/v2/orgs/{seg(org)}/groups/{seg(group)}")))


def list_group_members(
    ctx: Context, org: str, group: str, *, search: str | None = None, page_size: int = 100
) -> Listing[m.User]:
    call = get(f"/v2/orgs/{seg(org)}/groups/{seg(group)}/members", params(search=search, page_size=page_size))
    return Listing(call, item_parser(m.User))


def add_group_member(ctx: Context, org: str, group: str, username: str) -> Flow[None]:
    return (yield from send(post(f"/v2/orgs/{seg(org)}/groups/{seg(group)}/members", {"member": username})))


def remove_group_member(ctx: Context, org: str, group: str, username: str) -> Flow[None]:
    return (yield from send(delete(f"/v2/orgs/{seg(org)}/groups/{seg(group)}/members/{seg(username)}")))


# --- invites -----------------------------------------------------------------------------------------------------
def invite(
    ctx: Context,
    org: str,
    invitees: Sequence[str],
    *,
    team: str | None = None,
    role: str | None = None,
    dry_run: bool = False,
) -> Flow[list[m.BulkInviteEntry]]:
    """Invite users (usernames or e-mail addresses) to an organisation, optionally into a team."""
    payload = body(org=org, team=team, role=role, invitees=list(invitees), dry_run=dry_run or None)
    response = yield post("/v2/invites/bulk", payload, invalidates=(f"/v2/orgs/{seg(org)}",))
    return [m.BulkInviteEntry.model_validate(entry) for entry in (json_of(response) or {}).get("invitees", [])]


def _invites(call: Call) -> Flow[list[m.Invite]]:
    response = yield call
    data = json_of(response)
    rows = data.get("data", []) if isinstance(data, dict) else data or []
    return [m.Invite.model_validate(row) for row in rows]


def list_invites(ctx: Context, org: str) -> Flow[list[m.Invite]]:
    """An organisation's pending invites (owners)."""
    return (yield from _invites(get(f"/v2/orgs/{seg(org)}/invites")))


def my_invites(ctx: Context) -> Flow[list[m.Invite]]:
    """The signed-in user's pending invites."""
    return (yield from _invites(get("/v2/user/invites")))


def cancel_invite(ctx: Context, invite_id: str) -> Flow[None]:
    """Cancel an invite (owners), or decline it (the invitee)."""
    return (yield from send(delete(f"/v2/invites/{seg(invite_id)}", invalidates=("/v2/user/invites", "/v2/orgs"))))


def resend_invite(ctx: Context, invite_id: str) -> Flow[None]:
    return (yield from send(patch(f"/v2/invites/{seg(invite_id)}/resend")))


def accept_invite(ctx: Context, invite_id: str) -> Flow[None]:
    """Accept an invite and join the organisation."""
    return (yield from send(post(f"/v2/invites/{seg(invite_id)}/accept", invalidates=("/v2/user", "/v2/orgs"))))


def decline_invite(ctx: Context, invite_id: str) -> Flow[None]:
    return (yield from send(post(f"/v2/invites/{seg(invite_id)}/decline", invalidates=("/v2/user/invites",))))
