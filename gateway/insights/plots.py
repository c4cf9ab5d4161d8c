"""The dashboard's plots drawn on the server as SVG (pygal), without any script: values in, SVG out."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import pygal
from pygal.style import Style

STYLE = Style(background="white", plot_background="white", foreground="#222",
              foreground_strong="#111", foreground_subtle="#888",
              font_family="system-ui, 'DejaVu Sans', sans-serif", label_font_size=11,
              major_label_font_size=11, legend_font_size=12, title_font_size=14,
              colors=("#1f5f8b", "#d9731a", "#4b8b3b", "#8b3b6f"))
MAX_X_LABELS = 14


@dataclass(frozen=True)
class Series:
    title: str
    values: Sequence[float | int | None]


def bar_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], *,
              y_title: str = "", width: int = 820, height: int = 320) -> str:
    """A grouped bar chart as an SVG document (no script, no remote reference)."""
    chart = pygal.Bar(style=STYLE, width=width, height=height, js=[], disable_xml_declaration=True,
                      explicit_size=True,
                      legend_at_bottom=True, legend_at_bottom_columns=len(series), title=title,
                      y_title=y_title, x_label_rotation=30 if len(x_labels) > 8 else 0,
                      show_minor_x_labels=False, truncate_legend=-1, print_zeroes=False,
                      margin=12, spacing=8)
    chart.x_labels = list(x_labels)
    step = max(1, len(x_labels) // MAX_X_LABELS)
    chart.x_labels_major = list(x_labels)[::step]
    for one in series:
        chart.add(one.title, list(one.values))
    return _without_scripts(chart.render_tree())


def _without_scripts(root: ET.Element) -> str:
    # pygal always adds a small script (tooltips); an <img> would not run it, but a document
    # served to staff carries none at all.
    for parent in root.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")


def data_uri(svg: str) -> str:
    """For <img src>: the page's CSP allows data: images, and an image's own styles stay inside it."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
