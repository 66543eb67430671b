"""The pulls chart, drawn server-side as SVG by pygal and inlined in the page (no script, nothing fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygal
from pygal.style import Style

from dockyard.web.service import PeriodRow

SERIES = ("Pulls", "Unique IPs", "Version checks")
# Few enough bars to write each value on its bar; past that the labels would overlap.
PRINTED_VALUES_UP_TO = 14

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    colors=("#1d63ed", "#16a37f", "#f59f00"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    value_font_size=11,
    label_font_size=12,
    legend_font_size=13,
)


def _without_script(root: Any) -> Any:
    """Drop pygal's config <script> and its comments (they carry the render date): the page runs no script, and
    an unchanged chart should be byte-for-byte the same."""
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag
            # Comments and processing instructions have a function as their tag, in ElementTree and lxml alike.
            if callable(tag) or str(tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def pulls_chart(rows: Sequence[PeriodRow], title: str) -> str:
    """An SVG bar chart of pulls, unique IPs and version checks per period (CPU work: run it off the loop)."""
    chart = pygal.Bar(
        style=_STYLE,
        title=title,
        width=960,
        height=380,
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(SERIES),
        x_label_rotation=-45 if len(rows) > PRINTED_VALUES_UP_TO else 0,
        print_values=len(rows) <= PRINTED_VALUES_UP_TO,
        print_zeroes=False,
        min_scale=1,
        no_data_text="No pulls in this span",
    )
    chart.add_xml_filter(_without_script)
    chart.x_labels = [row.short_label + (" (so far)" if row.partial else "") for row in rows]
    chart.add(SERIES[0], [row.counts.pulls for row in rows])
    chart.add(SERIES[1], [row.counts.unique_ip_address for row in rows])
    chart.add(SERIES[2], [row.counts.version_check for row in rows])
    svg: str = chart.render(is_unicode=True)
    return svg
