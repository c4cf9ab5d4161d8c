"""Find social-media handles and "add me on …" invitations (Instagram, Snapchat, Discord…)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from gateway.moderation.detectors import Finding, Taken
from gateway.moderation.detectors.vocabulary import words_of

_PLATFORMS = (
    r"insta(?:gram)?|ig|snap(?:chat)?|sc|tik\s?tok|discord|whats\s?app|wa|messenger|fb|"
    r"facebook|telegram|signal|kik|twitter|x|threads|twitch|roblox|fortnite|steam|"
    r"psn|xbox|reddit|bereal|viber|wechat|skype|teams|zoom|youtube|yt|minecraft|"
    r"gamertag|valorant|valo|battle\s?tag|battlenet|playstation|apple\s?id|facetime|"
    r"imessage|gmail|hotmail|icloud|yahoo"
)
# Words that name an account only after "my"/"mon": "my epic is …", "mon pseudo c'est …".
_ACCOUNT = r"id|tag|user(?:name)?|pseudo|epic|league|riot|switch|nintendo|outlook|courriel|email"
_HANDLE_NAME = r"@?[a-z0-9_](?:[a-z0-9_.#-]{1,31})(?<![.-])(?![\w:/])"  # not a URL scheme
# The handle that often follows an invitation ("ajoute-moi sur snap : lea_2009") belongs to the
# evidence, or redaction would deliver it: after a separator any name, else only a name that looks
# like a handle (a digit, "_" or "@") on the same line, so "add me on insta tonight" keeps "tonight".
_TRAILING = rf"(?:\s*[:=-]\s*{_HANDLE_NAME}|[ \t]+(?=[a-z.]*[0-9_@]){_HANDLE_NAME})?"
_HANDLES = re.compile(
    rf"""
    (?:add|follow|dm|message|text|find|hit|reach|contact|friend|call)\s+me\s+(?:up\s+)?
        (?:on|at|via|in)\s+(?:{_PLATFORMS})\b{_TRAILING}
    | (?:ajoute|ajoutez|rajoute|suis|suivez|ecris|ecrivez|texte|contacte|appelle|trouve)
        [\s-]*(?:moi|-moi)\s+(?:sur|via|par|dans)\s+(?:{_PLATFORMS})\b{_TRAILING}
    | (?:on\s+se\s+parle|parlons|let'?s\s+talk|let'?s\s+chat|on\s+peut\s+parler)\s+
        (?:sur|on|via)\s+(?:{_PLATFORMS})\b{_TRAILING}
    | \b(?:my|mon|ma|our|notre)\s+(?:(?:{_PLATFORMS})\s+)?(?:{_PLATFORMS}|{_ACCOUNT})\b
        (?:\s+(?:is|c'est|cest|est|name|id|handle|user(?:name)?|tag))?
        \s*[:=-]?\s*{_HANDLE_NAME}
    | \b(?:i'm|im|je\s+suis|on\s+me\s+trouve)\s+(?:on|sur)\s+(?:{_PLATFORMS})\s+
        (?:as|comme|sous)\s+{_HANDLE_NAME}
    | \b(?:{_PLATFORMS})\s*[:=]\s*{_HANDLE_NAME}
    """,
    re.VERBOSE,
)
_AT_HANDLE = re.compile(r"(?<![\w.@+-])@[a-z0-9_](?:[a-z0-9_.]{1,29})(?<!\.)(?![\w@-]|\.[a-z])")
# Annotations, decorators and CSS at-rules in a code question are not handles.
_CODE_WORDS = frozenset({
    "override", "test", "property", "staticmethod", "classmethod", "media", "import", "keyframes",
    "dataclass", "deprecated", "suppresswarnings", "functionalinterface", "autowired",
    "component", "entity", "param", "return", "returns", "author", "since", "throws",
    "abstractmethod", "cached_property", "interface", "supports", "charset", "font",
    "beforeeach", "aftereach", "before", "after", "mock", "patch", "fixture", "app", "input",
    "output", "ngmodule", "injectable", "service", "controller", "get", "post", "bean",
    "nonnull", "nullable", "inject", "layer", "container", "apply", "tailwind", "include",
    "extend", "mixin", "use", "forward", "each", "if", "else", "for", "function", "wraps",
    "lru_cache", "total_ordering", "contextmanager", "setter", "getter", "pytest", "jit",
})
_CODE_CONTEXT = re.compile(
    r"\b(?:java|python|css|scss|kotlin|typescript|javascript|angular|spring|junit|pytest|code|"
    r"methode|method|fonction|function|classe|class|decorat\w*|annotation\w*|compil\w*)\b|[{};]|\(\)")
# Every phrase names a platform: the full pattern runs only on windows around those names.
_PLATFORM = re.compile(rf"\b(?:{_PLATFORMS}|{_ACCOUNT})\b")
_BEFORE, _AFTER = 60, 60
# The first word of every name _PLATFORM matches ("tik tok", "tiktok"): without one, none can.
_PLATFORM_WORDS = frozenset({
    "insta", "instagram", "ig", "snap", "snapchat", "sc", "tik", "tiktok", "discord", "whats",
    "whatsapp", "wa", "messenger", "fb", "facebook", "telegram", "signal", "kik", "twitter", "x",
    "threads", "twitch", "roblox", "fortnite", "steam", "psn", "xbox", "reddit", "bereal", "viber",
    "wechat", "skype", "teams", "zoom", "youtube", "yt", "minecraft", "gamertag", "valorant",
    "valo", "battle", "battletag", "battlenet", "playstation", "apple", "appleid", "facetime",
    "imessage", "gmail", "hotmail", "icloud", "yahoo", "id", "tag", "user", "username", "pseudo",
    "epic", "league", "riot", "switch", "nintendo", "outlook", "courriel", "email",
})


def _is_code(folded: str, start: int, end: int) -> bool:
    if folded[start + 1:end].split(".")[0] not in _CODE_WORDS:
        return False
    return bool(_CODE_CONTEXT.search(folded, max(0, start - 80), end + 80))


def find_handles(field: str, text: str, folded: str,
                 words: frozenset[str] | None = None) -> list[Finding]:
    """Handles such as "@jo_123", "snap: jo.b" and invitations such as "ajoute-moi sur insta".

    `words` is `words_of(folded)` when the caller already has it."""
    spans = [m.span() for m in _AT_HANDLE.finditer(folded)
             if not _is_code(folded, m.start(), m.end())] if "@" in folded else []
    if words is None:
        words = words_of(folded)
    mentions = _PLATFORM.finditer(folded) if not words.isdisjoint(_PLATFORM_WORDS) else ()
    for window_start, window_end in _windows(mentions):
        spans += [m.span() for m in _HANDLES.finditer(folded, window_start, window_end)]
    kept: list[tuple[int, int]] = []
    taken = Taken()
    for start, end in sorted(set(spans)):
        if not taken.overlaps(start, end):
            kept.append((start, end))
            taken.add(start, end)
    return [Finding(field, start, end, text[start:end]) for start, end in kept]


def _windows(mentions: Iterable[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """The stretches around platform names where the full pattern runs, overlapping ones as
    one: a text dense with names ("x y x y …") read each character in a hundred windows."""
    start = end = -1
    for mention in mentions:
        if mention.start() - _BEFORE > end >= 0:
            yield start, end
            start = -1
        if start < 0:
            start = max(0, mention.start() - _BEFORE)
        end = mention.end() + _AFTER
    if start >= 0:
        yield start, end
