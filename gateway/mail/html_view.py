"""HTML as a client shows it: the drawn text plus what a reader can reach (links, alt, titles)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NamedTuple

from gateway.mail.text import html_to_text

# Attributes whose value a reader sees (tooltip, text of a blocked image) or reaches (a link).
_SHOWN_ATTRIBUTES = frozenset({"href", "src", "alt", "title", "action", "background",
                               "poster", "cite", "data", "value", "placeholder", "srcset"})


class HtmlView(NamedTuple):
    text: str  # what is drawn, one line per block
    extras: tuple[str, ...]  # links, image sources, alt and title texts


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in _SHOWN_ATTRIBUTES:
                self.values.append(value.strip())

    handle_startendtag = handle_starttag


_HAS_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\s(?:href|src|alt|title|action|background|poster|"
                            r"cite|data|value|placeholder|srcset)\s*=", re.IGNORECASE)


# CSS can draw text too (`a::after { content: "…" }`, supported by some clients).
_CSS_CONTENT = re.compile(r"""content\s*:\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")


def _css_texts(html: str) -> list[str]:
    if "content" not in html.lower():
        return []
    return [_CSS_ESCAPE.sub(lambda m: chr(min(int(m.group(1), 16), 0x10FFFF)), a or b)
            for a, b in _CSS_CONTENT.findall(html)]


def view(html: str) -> HtmlView:
    """Entities decoded (also without their ';'), comments and tags gone, shown attributes kept."""
    text = html_to_text(html)
    css = _css_texts(html)
    if css:
        text = text + "\n" + "\n".join(css)
    if not _HAS_ATTRIBUTE.search(html):
        return HtmlView(text, ())
    parser = _Attributes()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - malformed HTML keeps what was read so far
        pass
    return HtmlView(text, tuple(dict.fromkeys(parser.values)))
