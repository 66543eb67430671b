"""The OpenAPI document the Hub API serves, made to say what the server really answers.

FastAPI documents a 422 for every route with parameters, but validation errors are a 400 here (api/errors.py);
and any route may answer the Hub error shape for bad input (400), credentials that do not verify (401), a
permission it lacks (403), something it may not see or that does not exist (404) and the API rate limit (429).
A route that declares one of these with a body of its own answers either that or the error shape (e.g.
delete-images' 400), and writes (POST, PUT, PATCH) may also conflict with what exists (409).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA = "HubError"
COMMON_ERRORS = {
    "400": "Invalid input",
    "401": "Missing or invalid credentials",
    "403": "Not allowed",
    "404": "Not found (or not visible to the caller)",
    "429": "Too many requests",
}


def _add_error_body(declared: dict[str, Any], schema: dict[str, Any]) -> None:
    """The error shape, or (where the route declares a body of its own for this status) either of the two."""
    content = declared.setdefault("content", {})
    own = content.get("application/json", {}).get("schema")
    if own is None:
        content["application/json"] = {"schema": schema}
    elif own != schema:
        content["application/json"]["schema"] = {"anyOf": [own, schema]}


METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = accurate(
                get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def accurate(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA] = {
        "title": ERROR_SCHEMA,
        "type": "object",
        "properties": {"detail": {"type": "string"}, "message": {"type": "string"}},
        "required": ["detail", "message"],
    }
    for schema in ("HTTPValidationError", "ValidationError"):
        schemas.pop(schema, None)
    error = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            errors = dict(COMMON_ERRORS)
            if method in ("post", "put", "patch"):
                errors["409"] = "Conflicts with what exists"
            for status, description in errors.items():
                declared = responses.setdefault(status, {"description": description})
                _add_error_body(declared, error)
    return document
