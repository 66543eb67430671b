"""Routes answered with and without the trailing slash. Clients mix both forms (`/tags?…` and `/tags/`), and a
redirect would break POST and PATCH, so each route is registered under both paths; only one is documented."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class HubRouter(APIRouter):
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        twin = path[:-1] if path.endswith("/") else path + "/"
        if twin and twin != path:
            super().add_api_route(twin, endpoint, **{**kwargs, "include_in_schema": False})
