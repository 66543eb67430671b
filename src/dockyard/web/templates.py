"""Rendering the pages: Jinja2 templates shipped in the package (`dockyard/web/templates/`), autoescaped, and the
headers every page carries."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

# The pages run no script and load nothing from elsewhere; inline styles are ours (and pygal's, inside the SVG).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Export links are credentials until they expire: never hand them to another site in a Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def thousands(value: int) -> str:
    return f"{value:,}"


def filesize(value: int) -> str:
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class Templates:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("dockyard.web", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["thousands"] = thousands
        self.env.filters["filesize"] = filesize

    def render(
        self, name: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
