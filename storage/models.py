"""ORM rows: groups, users, memberships, engagement events and the outbox (schema via Alembic)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Constraint names must be deterministic so Alembic batch mode on SQLite (which recreates tables)
# and PostgreSQL agree, and so a later migration can drop a constraint by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigIntPk = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back aware (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _in_utc(value)
        # SQLite has no time zone type: store naive UTC so text comparisons order correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, `process_bind_param` and the dialect's DATETIME formatting in one call.

        Every stored row carries several timestamps, and the two layers cost 2.3 µs a value
        against 0.9 (tests/storage/test_models.py holds the two to the same text).
        """
        if dialect.name == "sqlite":
            return _sqlite_timestamp
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_timestamp(value: datetime | None) -> str | None:
    """A timestamp as SQLite stores it: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff`, the text
    SQLAlchemy's SQLite DATETIME writes (so stored texts compare in time order)."""
    if value is None:
        return None
    # An aware time's isoformat ends in "+00:00" once in UTC; the year is always four digits.
    return _in_utc(value).isoformat(" ", "microseconds")[:26]


def _in_utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        # A naive time is ambiguous; the Clock port hands out aware UTC, so this is a bug.
        raise ValueError(f"naive datetime {value!r}: pass an aware time (UTC)")
    return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, int: BigInteger}


class GroupRow(Base):
    """A group the bot is in, with the settings its operators chose."""

    __tablename__ = "groups"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(64))
    is_forum: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # None: the bot's DEFAULT_TIMEZONE, whatever it is when read.
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    store_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    text_retention_days: Mapped[int] = mapped_column(
        Integer, default=30, server_default=sql_text("30")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    migrated_to_chat_id: Mapped[int | None]
    # Counts the times memberships of the group were deleted (erasure, opt-out, a move in):
    # reports keep members' days in memory and read them again when it changes (0014).
    members_removed: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class UserRow(Base):
    """A Telegram user as last seen in any group."""

    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime]


class MemberRow(Base):
    """A user's membership of one group: first/last seen, joins, leaves and message count."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("status IN ('member', 'left', 'kicked')", name="status"),
        # /forgetme unlinks the people a person invited (migration 0005).
        Index(
            None,
            "invited_by_user_id",
            sqlite_where=sql_text("invited_by_user_id IS NOT NULL"),
            postgresql_where=sql_text("invited_by_user_id IS NOT NULL"),
        ),
        # The members first seen, and who joined, in a report's window (migration 0014).
        Index(None, "chat_id", "first_seen_at", "user_id"),
        Index(None, "chat_id", "joined_at"),
    )

    chat_id: Mapped[int] = mapped_column(ForeignKey("groups.chat_id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    invited_by_user_id: Mapped[int | None]
    invite_link: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class EventRow(Base):
    """One engagement event; `dedup_key` makes a redelivered update insert nothing."""

    __tablename__ = "events"
    __table_args__ = (
        Index(None, "chat_id", "occurred_at"),
        # Only rows that keep their text (none unless a group stores text): the retention sweep
        # finds them without reading the rest, and the default ingest never maintains it.
        Index(
            "ix_events_kept_text",
            "chat_id",
            "occurred_at",
            sqlite_where=sql_text("text IS NOT NULL"),
            postgresql_where=sql_text("text IS NOT NULL"),
        ),
        # /mydata and /forgetme find a person's rows without scanning (migration 0005). Replies
        # and invites are a small share of events: partial indexes keep the insert cost small.
        Index(None, "user_id"),
        Index(
            None,
            "reply_to_user_id",
            sqlite_where=sql_text("reply_to_user_id IS NOT NULL"),
            postgresql_where=sql_text("reply_to_user_id IS NOT NULL"),
        ),
        Index(
            None,
            "inviter_id",
            sqlite_where=sql_text("inviter_id IS NOT NULL"),
            postgresql_where=sql_text("inviter_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(96), unique=True)
    update_id: Mapped[int]
    # Indexed through the composite indexes above, whose first column is chat_id.
    chat_id: Mapped[int] = mapped_column(ForeignKey("groups.chat_id"))
    user_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    message_id: Mapped[int | None]
    message_kind: Mapped[str | None] = mapped_column(String(16))
    text_length: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    text: Mapped[str | None] = mapped_column(Text)
    reply_to_user_id: Mapped[int | None]
    reply_to_message_id: Mapped[int | None]
    thread_id: Mapped[int | None]
    has_link: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reaction: Mapped[str | None] = mapped_column(String(128))
    reaction_count: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    inviter_id: Mapped[int | None]
    invite_link: Mapped[str | None] = mapped_column(Text)
    sender_chat_id: Mapped[int | None]
    # Set on a message judged a promo, when its decision is applied (migration 0007).
    promo_score: Mapped[float | None] = mapped_column(Float)


class OutboxRow(Base):
    """A durable outbound intent: recorded before it is sent, marked sent or failed after."""

    __tablename__ = "outbox"
    # Serves `pending`: rows with both times NULL, in priority then id order.
    __table_args__ = (Index(None, "sent_at", "failed_at", "priority", "id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(191), unique=True)
    chat_id: Mapped[int]
    method: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failed_reason: Mapped[str | None] = mapped_column(Text)
    result_message_id: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class DecisionRow(Base):
    """A watcher's decision, written with its message's event and deleted once applied."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    message_id: Mapped[int | None]
    watcher: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class ActivityHourRow(Base):
    """A group's activity in one UTC hour, folded at ingest: what reports sum instead of events.

    UTC hours, not local days, so a report can regroup them in the group's time zone as it is
    when read (and across a DST change); a zone off UTC by half an hour is counted to the hour.
    """

    __tablename__ = "activity_hours"

    chat_id: Mapped[int] = mapped_column(ForeignKey("groups.chat_id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    replies: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    reactions: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    joins: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    leaves: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class MemberDayRow(Base):
    """One member's activity in a group on one UTC day, folded at ingest.

    `active_hours` has bit h set when the member posted or reacted in UTC hour h, so distinct
    active members can be counted over local days in any time zone. The received counts are
    replies and reactions others gave the member's messages that day.
    """

    __tablename__ = "member_days"
    __table_args__ = (Index(None, "user_id"),)  # erasure

    chat_id: Mapped[int] = mapped_column(ForeignKey("groups.chat_id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True)
    active_hours: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    messages: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    replies: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    reactions: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    replies_received: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    reactions_received: Mapped[int] = mapped_column(
        Integer, default=0, server_default=sql_text("0")
    )


class ResponseRow(Base):
    """A message that got a reply or reaction from someone else: when, and how many.

    Only messages recorded here have a row, so the share of messages answered and the time to
    the first reply are read without events. An erased author leaves the counts, not the name.
    """

    __tablename__ = "responses"
    __table_args__ = (
        Index(None, "chat_id", "posted_at"),
        Index(
            None,
            "author_id",
            sqlite_where=sql_text("author_id IS NOT NULL"),
            postgresql_where=sql_text("author_id IS NOT NULL"),
        ),
    )

    chat_id: Mapped[int] = mapped_column(ForeignKey("groups.chat_id"), primary_key=True)
    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    author_id: Mapped[int | None]
    posted_at: Mapped[datetime]
    first_reply_at: Mapped[datetime | None]
    replies: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    reactions: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class SeenUpdateRow(Base):
    """An update handled without an event (a private command, a button press), by its id."""

    __tablename__ = "seen_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime]


# Core tables for batched statements (the ORM's per-object bookkeeping is not needed there).
groups_table = cast(Table, GroupRow.__table__)
users_table = cast(Table, UserRow.__table__)
members_table = cast(Table, MemberRow.__table__)
events_table = cast(Table, EventRow.__table__)
outbox_table = cast(Table, OutboxRow.__table__)
decisions_table = cast(Table, DecisionRow.__table__)
seen_updates_table = cast(Table, SeenUpdateRow.__table__)
activity_hours_table = cast(Table, ActivityHourRow.__table__)
member_days_table = cast(Table, MemberDayRow.__table__)
responses_table = cast(Table, ResponseRow.__table__)


class OpsNoticeRow(Base):
    """A fact the ops chat was told about a group (see migration 0006); no foreign key, since
    the chat may be one the bot never recorded."""

    __tablename__ = "ops_notices"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    detail: Mapped[str] = mapped_column(String(255), default="", server_default="")


ops_notices_table = cast(Table, OpsNoticeRow.__table__)


# --- the ad-share cap (migration 0007) ----------------------------------------------------------


class PromoHourRow(Base):
    """Per UTC hour and author: promos that stayed, and messages the bot removed.

    The budget reads these beside `activity_hours` (removed messages leave the denominator, as
    they leave the group). `user_id` 0 is a promo without a member (a channel posting as chat).
    """

    __tablename__ = "promo_hours"
    __table_args__ = (Index(None, "user_id"),)  # erasure

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    promos: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    removed: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class AdCapSettingsRow(Base):
    """A group's cap, window and policy; `version` is bumped by each operator reservation,
    so that reservations for one group queue on this row."""

    __tablename__ = "adcap_settings"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    cap: Mapped[float] = mapped_column(Float)
    window_seconds: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(16))
    mute_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class AdCapExemptionRow(Base):
    """A partner whose promos are never removed in one group (they still count)."""

    __tablename__ = "adcap_exemptions"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class PromoReservationRow(Base):
    """Budget an operator promo took: it counts as a promo (and a message) from `reserved_at`."""

    __tablename__ = "promo_reservations"
    __table_args__ = (Index(None, "chat_id", "reserved_at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(191), unique=True)
    reserved_at: Mapped[datetime]


class RemovedPromoRow(Base):
    """A promo the bot removed, kept 48 hours so it can be restored (text, author, reason)."""

    __tablename__ = "removed_promos"
    __table_args__ = (Index(None, "removed_at"), Index(None, "user_id"))

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int | None]
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32))
    removed_at: Mapped[datetime]
    notice_id: Mapped[int | None]  # the bot's reply saying why (a /notpromo answers it)


class PromoFeedbackRow(Base):
    """A moderator's /promo or /notpromo mark on a message, for the next retrain."""

    __tablename__ = "promo_feedback"
    __table_args__ = (Index(None, "author_id"),)

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    author_id: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    is_promo: Mapped[bool] = mapped_column(Boolean)
    marked_by: Mapped[int | None]
    marked_at: Mapped[datetime]


promo_hours_table = cast(Table, PromoHourRow.__table__)
adcap_settings_table = cast(Table, AdCapSettingsRow.__table__)
adcap_exemptions_table = cast(Table, AdCapExemptionRow.__table__)
promo_reservations_table = cast(Table, PromoReservationRow.__table__)
removed_promos_table = cast(Table, RemovedPromoRow.__table__)
promo_feedback_table = cast(Table, PromoFeedbackRow.__table__)


# --- questions and hand-offs (migration 0009) ---------------------------------------------------


class QuestionRow(Base):
    """A member question and its hand-off record; `due_at` is when the tick looks at it next."""

    __tablename__ = "questions"
    __table_args__ = (
        Index(None, "due_at"),
        Index(None, "chat_id", "state"),
        Index(None, "asker_id"),  # erasure
        Index(None, "closed_at"),  # the text sweep
    )

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    asker_id: Mapped[int]
    asker_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    text: Mapped[str | None] = mapped_column(Text)  # while open and 48 hours after
    follow_ups: Mapped[list[int]] = mapped_column(JSON, default=list)
    asked_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    handoff_at: Mapped[datetime]
    sla_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    handed_off_at: Mapped[datetime | None]
    claimed_by: Mapped[int | None]
    breached_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None]
    answerer: Mapped[str | None] = mapped_column(String(16))
    faq_entry_id: Mapped[int | None]
    notices: Mapped[list[list[int]]] = mapped_column(JSON, default=list)  # [chat, message]


class FaqEntryRow(Base):
    """A question a group's moderators answered once, and the answer."""

    __tablename__ = "faq_entries"
    __table_args__ = (Index(None, "chat_id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    added_by: Mapped[int | None]
    added_at: Mapped[datetime]


class OnCallShiftRow(Base):
    """One moderator's shift on a group's rota (`Mon-Fri 09:00-18:00`, in the group's zone)."""

    __tablename__ = "oncall_shifts"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    moderator_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    shift: Mapped[str] = mapped_column(String(64), primary_key=True)
    moderator_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))


class HandoffSettingsRow(Base):
    """A group's hand-off timers and ops chat (NULL: the bot's defaults)."""

    __tablename__ = "handoff_settings"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    handoff_after_seconds: Mapped[int | None] = mapped_column(Integer)
    sla_seconds: Mapped[int | None] = mapped_column(Integer)
    ops_chat_id: Mapped[int | None]
    sla_follows_hours: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


questions_table = cast(Table, QuestionRow.__table__)
faq_entries_table = cast(Table, FaqEntryRow.__table__)
oncall_shifts_table = cast(Table, OnCallShiftRow.__table__)
handoff_settings_table = cast(Table, HandoffSettingsRow.__table__)


# --- content on the PDCA loop (migration 0010) -------------------------------------------------


class ContentItemRow(Base):
    """A planned post: its state, body, plan and (recurring) rule; `due_at` is when the tick
    publishes it next (NULL when nothing is due)."""

    __tablename__ = "content_items"
    __table_args__ = (Index(None, "due_at"), Index(None, "chat_id", "state"))

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    variant: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    thread_id: Mapped[int | None]
    author_id: Mapped[int | None]
    owner_id: Mapped[int | None]
    locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    rule: Mapped[str | None] = mapped_column(String(64))
    planned_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    posts: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    experiment: Mapped[str | None] = mapped_column(String(16))
    slots: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class ContentTransitionRow(Base):
    """One step of an item's state machine: from, to, by whom and when."""

    __tablename__ = "content_transitions"
    __table_args__ = (Index(None, "item_id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    item_id: Mapped[int]
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    by_user: Mapped[int | None]
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class ContentPostRow(Base):
    """One occurrence of an item, keyed by the outbox's dedup key; its measures as JSON."""

    __tablename__ = "content_posts"
    __table_args__ = (
        Index(None, "key", unique=True),
        Index(None, "item_id"),
        Index(None, "chat_id", "planned_at"),
        Index(None, "next_measure_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    item_id: Mapped[int]
    chat_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(191))
    planned_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    arm: Mapped[int | None] = mapped_column(Integer)
    arm_label: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[datetime | None]
    message_id: Mapped[int | None]
    measures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_measure_at: Mapped[datetime | None]


class ContentSettingsRow(Base):
    """A group's quiet hours and grace period for missed posts."""

    __tablename__ = "content_settings"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    grace_seconds: Mapped[int | None] = mapped_column(Integer)


class ContentOperatorRow(Base):
    """A person a group's admins named to plan its content."""

    __tablename__ = "content_operators"
    __table_args__ = (Index(None, "user_id"),)

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    added_at: Mapped[datetime]


class ContentFocusRow(Base):
    """The group an operator plans in their private chat, and the item awaiting its body."""

    __tablename__ = "content_focus"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None]
    awaiting: Mapped[int | None]


content_items_table = cast(Table, ContentItemRow.__table__)
content_transitions_table = cast(Table, ContentTransitionRow.__table__)
content_posts_table = cast(Table, ContentPostRow.__table__)
content_settings_table = cast(Table, ContentSettingsRow.__table__)
content_operators_table = cast(Table, ContentOperatorRow.__table__)
content_focus_table = cast(Table, ContentFocusRow.__table__)


# --- moderation (migration 0011) ---------------------------------------------------------------


class ModerationSettingsRow(Base):
    """A group's warn policy, rules, welcome and locks (a group without a row has defaults).

    `welcomed_through` is the last join event a welcome covered: the welcome tick reads the
    joins recorded after it, so a restart neither repeats nor skips one.
    """

    __tablename__ = "moderation_settings"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    warn_limit: Mapped[int] = mapped_column(Integer, default=3, server_default=sql_text("3"))
    warn_punishment: Mapped[str] = mapped_column(String(8), default="mute", server_default="mute")
    warn_seconds: Mapped[int] = mapped_column(
        Integer, default=86_400, server_default=sql_text("86400")
    )
    warn_expiry_days: Mapped[int] = mapped_column(
        Integer, default=30, server_default=sql_text("30")
    )
    rules: Mapped[str | None] = mapped_column(Text)
    welcome: Mapped[str | None] = mapped_column(Text)  # NULL: no welcome
    welcomed_through: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    locks: Mapped[str] = mapped_column(String(64), default="", server_default="")


class WarningRow(Base):
    """One warning; it counts until the group's expiry, or until it is cleared (by /unwarn, or
    when the warn limit was reached and punished)."""

    __tablename__ = "warnings"
    __table_args__ = (Index(None, "user_id", "chat_id"),)  # a member's warnings; erasure

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    user_id: Mapped[int]
    reason: Mapped[str] = mapped_column(String(255), default="", server_default="")
    given_by_id: Mapped[int | None]
    given_by: Mapped[str] = mapped_column(String(255), default="", server_default="")
    given_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]


class ModLogRow(Base):
    """One moderation action: who (actor), whom (target), what, why, when, until."""

    __tablename__ = "mod_log"
    __table_args__ = (Index(None, "chat_id", "at"), Index(None, "target_id"))

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]  # NULL: an anonymous admin (the group itself)
    actor_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    target_id: Mapped[int | None]
    target_name: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(255), default="", server_default="")
    until: Mapped[datetime | None]
    count: Mapped[int | None] = mapped_column(Integer)


moderation_settings_table = cast(Table, ModerationSettingsRow.__table__)
warnings_table = cast(Table, WarningRow.__table__)
mod_log_table = cast(Table, ModLogRow.__table__)


# --- recognition (migration 0012) --------------------------------------------------------------


class OptOutRow(Base):
    """A member's `/optout` of a group: their activity there is recorded without who they are.

    The one row that names them, because honouring the choice needs it."""

    __tablename__ = "recognition_opt_outs"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    since: Mapped[datetime]


class PointAwardRow(Base):
    """A message that earned points (past the cooldown); keyed by the message, so a decision
    applied twice awards once."""

    __tablename__ = "point_awards"
    __table_args__ = (
        Index(None, "chat_id", "awarded_at"),  # boards and today's credits
        Index(None, "user_id"),  # erasure
    )

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int]
    awarded_at: Mapped[datetime]


class BadgeRow(Base):
    """A badge a member earned in a group; `announced_at` once the group heard of it."""

    __tablename__ = "recognition_badges"
    __table_args__ = (Index(None, "user_id"),)  # erasure

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    badge: Mapped[str] = mapped_column(String(32), primary_key=True)
    earned_at: Mapped[datetime]
    announced_at: Mapped[datetime | None]


class InviteLinkRow(Base):
    """A member's personal invite link to a group (made by the bot with createChatInviteLink)."""

    __tablename__ = "invite_links"
    __table_args__ = (Index(None, "chat_id", "user_id", unique=True), Index(None, "user_id"))

    link: Mapped[str] = mapped_column(String(255), primary_key=True)
    chat_id: Mapped[int]
    user_id: Mapped[int]
    created_at: Mapped[datetime]


class InviteCreditRow(Base):
    """An invite that counted: the newcomer stayed 7 days and posted. Unique on the newcomer,
    so one newcomer credits one inviter once; a newcomer who opts out leaves the credit with
    no name (NULL, which the unique index lets repeat)."""

    __tablename__ = "invite_credits"
    __table_args__ = (
        Index(None, "chat_id", "invitee_id", unique=True),
        Index(None, "inviter_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    invitee_id: Mapped[int | None]
    inviter_id: Mapped[int]
    joined_at: Mapped[datetime]
    credited_at: Mapped[datetime]


class RecognitionGroupRow(Base):
    """When a group last heard a badge announcement (at most one a day)."""

    __tablename__ = "recognition_groups"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    announced_at: Mapped[datetime | None]


opt_outs_table = cast(Table, OptOutRow.__table__)
point_awards_table = cast(Table, PointAwardRow.__table__)
badges_table = cast(Table, BadgeRow.__table__)
invite_links_table = cast(Table, InviteLinkRow.__table__)
invite_credits_table = cast(Table, InviteCreditRow.__table__)
recognition_groups_table = cast(Table, RecognitionGroupRow.__table__)


# --- reports: the weekly digest (migration 0013) -------------------------------------------------


class DigestRow(Base):
    """Whether a group's weekly digest goes to the ops chat, and the last week it was told."""

    __tablename__ = "digests"

    chat_id: Mapped[int] = mapped_column(
        ForeignKey("groups.chat_id"), primary_key=True, autoincrement=False
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_week: Mapped[date | None]  # the local Monday of the last week reported


digests_table = cast(Table, DigestRow.__table__)
