"""The database tables: participants, pairs, aliases, messages, outbox, audit trail and friends."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel


def _ts(index: bool = False, nullable: bool = False) -> datetime:
    return Field(sa_column=Column(DateTime(timezone=True), index=index, nullable=nullable))


class Organization(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = _ts()


class Participant(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=10)  # mentor | mentee
    lang: str = Field(default="fr", max_length=5)
    minor: bool = False
    org_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    time_zone: str | None = Field(default=None, max_length=64)
    reminders_opt_out: bool = False
    created_at: datetime = _ts()
    # Set when staff closed a report with "block": no new pair may include this participant.
    blocked_at: datetime | None = _ts(nullable=True)
    # Profile (migration 0007). First name alone is what a partner ever sees of the name.
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    # A full date, or only the year (birth_date None): age is then counted from Dec 31, the
    # youngest the person can be, so consent is never skipped by rounding.
    birth_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    birth_year: int | None = None
    school_level: str | None = Field(default=None, max_length=60)
    bio: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    capacity: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    guardian_email: str | None = Field(default=None, max_length=320)
    # not_needed | pending | given | withdrawn (the history is in the audit trail)
    consent_state: str = Field(default="not_needed", max_length=12,
                               sa_column_kwargs={"server_default": "not_needed"})
    updated_at: datetime | None = _ts(nullable=True)


class ParticipantInterest(SQLModel, table=True):
    """One career-field interest of a participant, normalized (lower-case, accents folded)."""

    __table_args__ = (UniqueConstraint("participant_id", "interest"),)
    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    interest: str = Field(max_length=100, index=True)


class ConsentRequest(SQLModel, table=True):
    """A guardian's consent asked for one participant under the consent age: its reminders and end."""

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    guardian_email: str = Field(max_length=320)
    state: str = Field(default="pending", max_length=12)  # pending | given | withdrawn | replaced
    requested_at: datetime = _ts(index=True)
    reminders_sent: int = 0
    last_reminded_at: datetime | None = _ts(nullable=True)
    coordinator_told_at: datetime | None = _ts(nullable=True)
    decided_at: datetime | None = _ts(nullable=True)
    method: str | None = Field(default=None, max_length=20)  # link | reply | cli | web


class Pair(SQLModel, table=True):
    __table_args__ = (
        Index("ix_pair_state_last_delivered", "state", "last_delivered_at"),
        Index("ix_pair_state_created", "state", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    mentor_id: int = Field(foreign_key="participant.id", index=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    org_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    # awaiting_consent (a minor's guardian has not consented yet) | active | paused | closed
    state: str = Field(default="active", max_length=20)
    created_at: datetime = _ts()
    # Activity facts kept up to date on every delivery, so reminders never scan message history.
    last_delivered_at: datetime | None = _ts(nullable=True)
    last_delivered_from: str | None = Field(default=None, max_length=10)
    last_delivered_message_id: int | None = None
    delivered_count: int = 0
    forwarded_count: int = 0


class Alias(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    local_part: str = Field(unique=True, max_length=64)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")  # whom the alias stands for
    created_at: datetime = _ts()


class Message(SQLModel, table=True):
    """One inbound message from a participant, from RECEIVED until it is forwarded or refused."""

    __table_args__ = (Index("ix_message_state_id", "state", "id"),
                      Index("ix_message_erased_updated", "erased_at", "updated_at"),
                      # flood limits count recent messages per sender and per pair
                      Index("ix_message_sender_received", "sender_id", "received_at"),
                      # and answers what an index on pair_id alone would (pair history)
                      Index("ix_message_pair_received", "pair_id", "received_at"))
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id")
    sender_id: int = Field(foreign_key="participant.id")
    recipient_id: int = Field(foreign_key="participant.id")
    direction: str = Field(max_length=20)  # mentor_to_mentee | mentee_to_mentor
    state: str = Field(default="received", max_length=12)
    source: str = Field(default="smtp", max_length=10)
    envelope_from: str = Field(max_length=320)
    original_message_id: str | None = Field(default=None, max_length=998)
    dedup_key: str = Field(index=True, max_length=64)
    size: int = 0
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _ts(index=True)
    updated_at: datetime = _ts()
    gateway_message_id: str | None = Field(default=None, max_length=255)
    verdict: str | None = Field(default=None, max_length=10)
    severity: str | None = Field(default=None, max_length=6)  # low | medium | high, when held
    hits_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_by: str | None = Field(default=None, max_length=320)
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    escalated: bool = False
    auto_reply: bool = False  # out-of-office and other automatic mail: relayed, never counted
    # Set when the retention period erased what the participant wrote (body, subject, evidence).
    erased_at: datetime | None = _ts(nullable=True)


class MessageIdMap(SQLModel, table=True):
    """A forwarded message's original Message-ID and the one we gave it, for threading."""

    __table_args__ = (Index("ix_msgid_pair_original", "pair_id", "original_id"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id")
    sender_id: int = Field(foreign_key="participant.id")
    original_id: str = Field(max_length=998)
    gateway_id: str = Field(unique=True, max_length=255)


class Outbox(SQLModel, table=True):
    """Everything that leaves the gateway: forwards, introductions, notices, reminders."""

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),
                      Index("ix_outbox_state_claimed", "state", "claimed_until"),
                      Index("ix_outbox_recipient_created", "recipient", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # forward | introduction | notice | reminder | moderation
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    pair_id: int | None = Field(default=None, index=True)
    recipient_participant_id: int | None = None
    envelope_from: str = Field(max_length=320)
    recipient: str = Field(max_length=320)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # queued|sending|deferred|sent|failed, or paused (a forward held back while its pair is
    # paused by a report; never claimed until resumed)
    state: str = Field(default="queued", max_length=10)
    attempts: int = 0
    created_at: datetime = _ts()
    first_attempt_at: datetime | None = _ts(nullable=True)
    next_attempt_at: datetime = _ts()
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    dedup_key: str | None = Field(default=None, unique=True, max_length=255)


class AuditEvent(SQLModel, table=True):
    __table_args__ = (Index("ix_auditevent_action_at", "action", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(max_length=320)  # "system", "cli", a moderator's address, an instance name
    subject_type: str = Field(max_length=20)  # message | outbox | pair | participant | staff
    subject_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Staff(SQLModel, table=True):
    """Moderators and coordinators: people who review messages, never participants."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=12)  # moderator | coordinator
    org_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    lang: str = Field(default="fr", max_length=5)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    # Signed-in cookies carry the epoch they were issued in; logging out or resetting the password
    # moves it on, so every earlier cookie (another device, a copied one) stops working.
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Coordinators get the program's figures by mail every Monday unless they opt out.
    weekly_digest: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    created_at: datetime = _ts()


class Badge(SQLModel, table=True):
    """A milestone a pair reached (first exchange, a month of conversation, a mission completed...)."""

    __table_args__ = (UniqueConstraint("pair_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    name: str = Field(max_length=40)
    earned_at: datetime = _ts()


class ImapCursor(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account", "mailbox"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=320)
    mailbox: str = Field(max_length=200)
    # RFC 3501: both are unsigned 32-bit; PostgreSQL's INTEGER stops at 2**31 - 1.
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))


class ThrottleEvent(SQLModel, table=True):
    """A failed login or a reset request, counted against its key (address and client) for a while."""

    __table_args__ = (Index("ix_throttle_scope_key_at", "scope", "key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)  # login | reset
    key: str = Field(max_length=400)
    at: datetime = _ts()


class UsedToken(SQLModel, table=True):
    """Single-use tokens (moderation reply addresses, password resets) once they have been used."""

    id: int | None = Field(default=None, primary_key=True)
    token_id: str = Field(unique=True, max_length=64)
    used_at: datetime = _ts()
    used_by: str = Field(max_length=320)


class GatewaySecret(SQLModel, table=True):
    """Signing keys shared by every instance (unsubscribe links, moderation reply addresses)."""

    name: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=200)


class MatchSuggestion(SQLModel, table=True):
    """A proposed mentor-mentee pair (global suggestion or a mentee's choice by email) and its fate."""

    __table_args__ = (Index("ix_matchsuggestion_state_org", "state", "org_id"),)
    id: int | None = Field(default=None, primary_key=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id", index=True)
    org_id: int | None = Field(default=None, foreign_key="organization.id")
    score: float = 0.0
    reasons: str = Field(default="", max_length=1000)  # shared field ids, comma-separated
    source: str = Field(default="suggest", max_length=10)  # suggest | email
    # proposed | accepted | skipped | superseded
    state: str = Field(default="proposed", max_length=12)
    created_at: datetime = _ts()
    decided_at: datetime | None = _ts(nullable=True)
    decided_by: str | None = Field(default=None, max_length=320)
    pair_id: int | None = Field(default=None, foreign_key="pair.id")


class MatchApproval(SQLModel, table=True):
    """A mentor an organization approved; an organization with any approval accepts only those."""

    __table_args__ = (UniqueConstraint("org_id", "mentor_id"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id")
    created_at: datetime = _ts()


class MatchBlock(SQLModel, table=True):
    """Two participants who must never be suggested to each other again."""

    __table_args__ = (UniqueConstraint("mentee_id", "mentor_id"),)
    id: int | None = Field(default=None, primary_key=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id")
    created_at: datetime = _ts()
    reason: str = Field(default="", max_length=200)


class MatchOffer(SQLModel, table=True):
    """The (up to three) mentors offered to a mentee who wrote to the choose address."""

    id: int | None = Field(default=None, primary_key=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    mentor_ids: str = Field(max_length=200)  # comma-separated, in the order offered
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    chosen: int | None = None  # 1..3 once used
    suggestion_id: int | None = Field(default=None, foreign_key="matchsuggestion.id")


class Report(SQLModel, table=True):
    """A participant's report (keyword, forward, report address) or a mail to the program address."""

    __table_args__ = (Index("ix_report_state_created", "state", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # report | contact
    source: str = Field(max_length=10)  # keyword | forward | address | program
    state: str = Field(default="open", max_length=10)  # open | resumed | closed | blocked | done
    pair_id: int | None = Field(default=None, foreign_key="pair.id", index=True)
    org_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    reporter_id: int | None = Field(default=None, foreign_key="participant.id")
    reported_id: int | None = Field(default=None, foreign_key="participant.id")
    # The reported message (a forward the reporter received), and the report itself when it came
    # through the relay (keyword): both rows stay in the message table, never forwarded.
    message_id: int | None = Field(default=None, foreign_key="message.id")
    report_message_id: int | None = Field(default=None, foreign_key="message.id")
    from_address: str = Field(max_length=320)
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = _ts()
    decided_at: datetime | None = _ts(nullable=True)
    decided_by: str | None = Field(default=None, max_length=320)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
