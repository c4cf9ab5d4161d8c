"""Content-ID values carry the sender's host or domain: give each a neutral id, and keep every
`cid:` reference to it pointing at the same part."""

from __future__ import annotations

import hashlib
import re
from email.message import Message
from urllib.parse import quote


class ContentIds:
    """The ids of one message's parts, old to new, and the `cid:` rewrite that goes with them."""

    def __init__(self, msg: Message, domain: str) -> None:
        self.mapping: dict[str, str] = {}
        for part in msg.walk():
            for key, value in part.raw_items():
                if key.lower() != "content-id":
                    continue
                old = str(value).strip().strip("<>").strip()
                if "@" in old and old not in self.mapping:
                    digest = hashlib.sha256(old.encode("utf-8", "surrogateescape")).hexdigest()
                    self.mapping[old] = f"{digest[:24]}@{domain}"
        spellings: dict[str, str] = {}
        for old, new in self.mapping.items():
            spellings[old.lower()] = new
            spellings[quote(old, safe="").lower()] = new
            spellings[quote(old, safe="@").lower()] = new
        self._spellings = spellings
        self._pattern = re.compile(
            r"cid:(" + "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
            + ")", re.IGNORECASE) if spellings else None

    def header(self, raw: str) -> str:
        old = str(raw).strip().strip("<>").strip()
        new = self.mapping.get(old)
        return f"<{new}>" if new else raw

    def subn(self, text: str) -> tuple[str, int]:
        if self._pattern is None or "cid:" not in text.lower():
            return text, 0
        return self._pattern.subn(lambda m: "cid:" + self._spellings[m.group(1).lower()], text)
