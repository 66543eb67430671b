"""One router for the people-facing Hub API: users, organisations, members, groups, invites and repository
sharing. A plain router, so the routes keep exactly the paths their own routers gave them."""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.accounts import access_routes, invite_routes, org_routes, user_routes

router = APIRouter()
for part in (user_routes.router, org_routes.router, invite_routes.router, access_routes.router):
    router.include_router(part)
