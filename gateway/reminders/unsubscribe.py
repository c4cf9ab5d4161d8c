"""List-Unsubscribe for reminders: signed links and addresses that stop reminders, and only those."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway.config import Settings
from gateway.store.audit import record
from gateway.store.models import Participant
from gateway.tokens import sign, signing_secret, verify

PURPOSE = "unsubscribe"
LOCAL_PART = "unsubscribe"


def unsubscribe_token(session: Session, settings: Settings, participant_id: int) -> str:
    return sign(signing_secret(session, settings.web.secret_env), PURPOSE, str(participant_id))


def link_base(settings: Settings) -> str:
    return settings.web.public_url.rstrip("/") or f"http://{settings.web.host}:{settings.web.port}"


# A word every own_unsubscribe_links match contains, in any case: a text without it is not
# searched with the whole pattern (an IGNORECASE alternation costs ~30 µs a KB, the word ~6).
OWN_LINKS_WORD = "unsubscribe"


def own_unsubscribe_links(settings: Settings) -> re.Pattern[str]:
    """A participant's personal links, as quoted in a reply: they must not reach the partner."""
    return re.compile(re.escape(f"{link_base(settings)}/{OWN_LINKS_WORD}/") + r"[A-Za-z0-9._~=-]+"
                      + "|" + re.escape(f"{LOCAL_PART}+") + r"[A-Za-z0-9._~=-]+@"
                      + re.escape(settings.gateway.domain), re.IGNORECASE)


def unsubscribe_headers(settings: Settings, participant_id: int, session: Session | None = None) -> dict[str, Any]:
    assert session is not None, "unsubscribe links need the shared signing secret"
    token = unsubscribe_token(session, settings, participant_id)
    url = f"{link_base(settings)}/unsubscribe/{token}"
    mailto = f"mailto:{LOCAL_PART}+{token}@{settings.gateway.domain}"
    return {
        "url": url,
        "headers": {"List-Unsubscribe": f"<{mailto}>, <{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }


def apply_unsubscribe(session: Session, settings: Settings, token: str, now: datetime,
                      actor: str) -> Participant | None:
    parts = verify(signing_secret(session, settings.web.secret_env), PURPOSE, token)
    if parts is None or not parts[0].isdigit():
        return None
    person = session.get(Participant, int(parts[0]))
    if person is None:
        return None
    if not person.reminders_opt_out:
        person.reminders_opt_out = True
        session.add(person)
        record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
               action="unsubscribe_reminders")
    return person
