"""Approve, reject and pause from the page: one transaction per message, through the held service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.store.models import Participant
from gateway.web.i18n import reason_text

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.web.pages import Viewer


@dataclass
class Outcome:
    done: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)  # high severity, not ticked to confirm


@dataclass(frozen=True)
class ItemReason:
    """A rejection reason chosen for one message of a bulk rejection."""
    reason_key: str
    free_text: str


class NeedsConfirmation(Exception):
    """A high-severity hold is never approved in bulk without its own confirmation."""


def high_severity(message: Any) -> bool:
    # `severity` comes with the safety work (issue 10's holds); absent, nothing is high.
    return getattr(message, "severity", None) == "high"


def chosen_reason(session: Any, message: Any, reason_key: str, free_text: str) -> str:
    """Free text wins; else the common reason in the sender's language (they are the one reading)."""
    if free_text.strip():
        return free_text.strip()[:1000]
    sender = session.get(Participant, message.sender_id)
    return reason_text(reason_key, sender.lang if sender else "fr") or ""


async def decide(gateway: Runtime, viewer: Viewer, ids: list[int], action: str, *, reason_key: str = "",
                 free_text: str = "", note: str | None = None,
                 per_item: dict[int, ItemReason] | None = None,
                 confirmed: set[int] | None = None) -> Outcome:
    """Apply `action` (approve | approve_redacted | reject) to each id; refusals are collected.
    A high-severity message is approved only when its id is in `confirmed`."""
    from gateway.program.service import ProgramError
    from gateway.review import held

    outcome = Outcome()
    for message_id in ids:
        prepared = (await _rendered(gateway, viewer, message_id, action == "approve_redacted")
                    if action in ("approve", "approve_redacted") else None)

        def apply(session: Any, message_id: int = message_id,
                  prepared: Any = prepared) -> None:
            now = gateway.clock.now()
            if action == "reject":
                message = held.get_message(session, message_id, viewer.org_ids)
                own = (per_item or {}).get(message_id)
                reason = (chosen_reason(session, message, own.reason_key, own.free_text) if own
                          else chosen_reason(session, message, reason_key, free_text))
                held.reject(session, gateway.settings, message_id, actor=viewer.email, now=now,
                            reason=reason, org_ids=viewer.org_ids)
            else:
                if high_severity(held.get_message(session, message_id, viewer.org_ids)) \
                        and message_id not in (confirmed or set()):
                    raise NeedsConfirmation()
                held.approve(session, gateway.settings, message_id, actor=viewer.email, now=now,
                             note=note or None, redacted=action == "approve_redacted",
                             org_ids=viewer.org_ids, prepared=prepared)

        try:
            await gateway.db.write(apply)
            outcome.done.append(message_id)
        except NeedsConfirmation:
            outcome.unconfirmed.append(message_id)
        except (held.QueueError, ProgramError) as exc:
            outcome.refused.append(f"{message_id}: {exc}")
    if outcome.done:
        gateway.wake_delivery()
    return outcome


async def _rendered(gateway: Runtime, viewer: Viewer, message_id: int, redacted: bool) -> Any:
    """The forward rendered before the write (held.render_for_approval), or None."""
    from gateway.review import held

    def render(session: Any) -> Any:
        return held.render_for_approval(session, gateway.settings, message_id, viewer.org_ids,
                                        redacted=redacted)

    try:
        return await gateway.db.read(render)
    except Exception:  # noqa: BLE001 - the write step decides, and explains, what fails
        return None


def parse_ids(values: list[Any], limit: int = 500) -> list[int]:
    ids: list[int] = []
    for value in values[:limit]:
        text = str(value)
        if text.isdigit() and int(text) not in ids:
            ids.append(int(text))
    return ids
