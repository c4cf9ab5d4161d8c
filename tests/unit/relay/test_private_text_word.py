"""The word that gates the own-unsubscribe-link patterns never lets a link through."""

from __future__ import annotations

import random
import re
from dataclasses import replace

from gateway.config import Settings
from gateway.mail.contentid import ContentIds
from gateway.mail.parse import parse
from gateway.mail.rewrite import Party, RewriteContext, _text_substitute, privacy_of
from gateway.reminders.unsubscribe import OWN_LINKS_WORD, own_unsubscribe_links


def _settings(url: str, domain: str) -> Settings:
    settings = Settings()
    return replace(settings, web=replace(settings.web, public_url=url),
                   gateway=replace(settings.gateway, domain=domain))


SETTINGS = [_settings("", "gateway.localhost"), _settings("https://Mentor.Example/", "m.example"),
            _settings("https://x.example/base", "unsub.example")]


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (the own-links pattern has no groups)."""
    assert "(" not in pattern
    return re.split(r"(?<!\\)\|", pattern)


def test_every_alternative_holds_the_word() -> None:
    for settings in SETTINGS:
        for alternative in _alternatives(own_unsubscribe_links(settings).pattern):
            assert re.escape(OWN_LINKS_WORD) in alternative


def _context(settings: Settings, word: str) -> RewriteContext:
    return RewriteContext(
        sender=Party("a@example.org", "A", "a1@gw.example"),
        recipient=Party("b@example.org", "B", "b1@gw.example"),
        program_name="P", new_message_id="<n@gw.example>", in_reply_to=(), references=(),
        private_text=(own_unsubscribe_links(settings),), private_text_word=word)


def test_the_gated_substitution_equals_the_ungated_one() -> None:
    pick = random.Random(11)
    pieces = ["Bonjour ", "unsubscribe", "UNSUBSCRIBE", "un\u017fubscribe", "Un\u017fUbscribe",
              "+tok.EN_1@", "/", "http://127.0.0.1:8025", "https://mentor.example",
              "gateway.localhost", "m.example", "unsub.example", "x", " ", "\n"]
    msg = parse(b"Subject: x\r\n\r\nbody\r\n")
    for settings in SETTINGS:
        gated = _text_substitute(_context(settings, OWN_LINKS_WORD),
                                 privacy_of(_context(settings, "")), ContentIds(msg, "gw.example"))
        plain = _text_substitute(_context(settings, ""), privacy_of(_context(settings, "")),
                                 ContentIds(msg, "gw.example"))
        domain = settings.gateway.domain
        url = settings.web.public_url.rstrip("/") or "http://127.0.0.1:8025"
        links = [link for word in ("unsubscribe", "UnSubscribe", "un\u017fubscribe", "unsubscrib")
                 for link in (f"{url}/{word}/tOk-1 ", f"{url.upper()}/{word}/x ",
                              f"{word}+t.1@{domain} ")]
        replaced = 0
        for _ in range(3000):
            text = "".join(pick.choice(pieces + links) for _ in range(pick.randrange(1, 12)))
            assert gated(text) == plain(text), text
            replaced += plain(text)[1] > 0
        assert replaced > 50
