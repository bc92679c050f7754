"""The ports services talk to: units of work with repositories, the chat gateway and the clock.

Nothing here knows aiogram, SQLAlchemy or aiohttp; adapters live in `storage/`, `bot/delivery`
and `handlers/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain.adshare import Bucket
from bot.domain.analytics import (
    HourTotals,
    MemberDay,
    Membership,
    Response,
    ResponseTotals,
    TopMember,
)
from bot.domain.content import ContentKind, ContentState
from bot.domain.events import EngagementEvent, GroupRef
from bot.domain.handoff import Handoff
from bot.domain.moderation import (
    Joined,
    LockKind,
    LogEntry,
    ModerationSettings,
    Person,
    WarningRecord,
)
from bot.domain.recognition import Badge, Invitee
from bot.domain.watching import Decision

# --- time -------------------------------------------------------------------------------------


class Clock(Protocol):
    """Where time comes from (invariant 4)."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


# --- storage ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """A group's stored settings."""

    chat_id: int
    title: str
    timezone: str | None = None  # None: the bot's default time zone
    language: str = "en"
    store_text: bool = False
    text_retention_days: int = 30


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Activity in one group over [since, until)."""

    messages: int
    active_members: int
    new_members: int


@dataclass(frozen=True, slots=True)
class Footprint:
    """What is stored about one person in one group (for /mydata)."""

    chat_id: int
    title: str
    status: str  # member, left or kicked
    first_seen_at: datetime
    last_seen_at: datetime
    events: int  # messages, edits, reactions, joins and leaves recorded
    messages: int
    stored_texts: int  # messages whose text is kept (only where the group stores text)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a person removed."""

    groups: int  # memberships
    events: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A durable outbound intent: recorded before it is sent, marked sent after."""

    id: int
    dedup_key: str
    chat_id: int
    method: str
    params: dict[str, Any]
    priority: int
    created_at: datetime
    sent_at: datetime | None = None
    failed_reason: str | None = None
    result_message_id: int | None = None


class GroupRepository(Protocol):
    async def upsert_many(self, groups: Sequence[GroupRef], seen_at: datetime) -> None:
        """Insert new groups and refresh titles of known ones."""
        ...

    async def get(self, chat_id: int) -> GroupSettings | None: ...

    async def active_chat_ids(self) -> list[int]:
        """Ids of the groups the bot knows that have not moved to a supergroup."""
        ...

    async def chats_storing_text(self) -> set[int]:
        """Ids of the groups that turned message text storage on."""
        ...

    async def update_settings(self, settings: GroupSettings) -> None: ...

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """Move a group's history from a basic group id to its supergroup id."""
        ...


class MemberRepository(Protocol):
    async def observe_many(self, events: Sequence[EngagementEvent]) -> None:
        """Upsert users and memberships seen in events: names, language, first/last seen,
        joins (with inviter or link) and leaves.

        Call it after `EventRepository.add_new` in the same unit of work: memberships fold
        only the events that call inserted, so a redelivered batch changes nothing.
        """
        ...

    async def footprint(self, user_id: int) -> list[Footprint]:
        """What is stored about a person, group by group."""
        ...

    async def erase(self, user_id: int) -> Erasure:
        """Delete a person's profile, memberships and events, and unlink them from others'
        events (replies to them, people they invited); say how much went."""
        ...


class EventRepository(Protocol):
    async def recorded(self, dedup_keys: Sequence[str]) -> set[str]:
        """Which of these keys are already stored (a redelivery check)."""
        ...

    async def latest_update_id(self) -> int | None:
        """The highest update id stored: updates up to it may come again after a crash."""
        ...

    async def first_seen(self, update_id: int, seen_at: datetime) -> bool:
        """Note an update handled without an event; False if it was noted before."""
        ...

    async def forget_seen_before(self, before: datetime) -> int:
        """Drop notes of updates Telegram can no longer send again."""
        ...

    async def add_new(self, events: Sequence[EngagementEvent]) -> list[EngagementEvent]:
        """Insert events, skipping those whose dedup key is stored; return those that were new,
        in batch order."""
        ...

    async def chats_with_text(self) -> list[int]:
        """Groups with any message text stored."""
        ...

    async def purge_text_before(self, chat_id: int, before: datetime) -> int:
        """Forget stored message text older than `before`; return rows changed."""
        ...


class OutboxRepository(Protocol):
    async def add(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: int,
        created_at: datetime,
    ) -> OutboxItem:
        """Record an intent (or return the one already recorded under this key)."""
        ...

    async def pending(self, limit: int = 1000) -> list[OutboxItem]:
        """Intents neither sent nor failed, by priority, then oldest first."""
        ...

    async def mark_sent(self, item_id: int, sent_at: datetime, message_id: int | None) -> None: ...

    async def mark_failed(self, item_id: int, reason: str, failed_at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A watcher's decision as kept until it is applied."""

    id: int
    watcher: str
    decision: Decision


class DecisionRepository(Protocol):
    async def add(
        self, decisions: Sequence[tuple[str, Decision]], created_at: datetime
    ) -> list[StoredDecision]:
        """Store decisions (watcher name, decision) and return them with their ids."""
        ...

    async def pending(self, limit: int = 1000) -> list[StoredDecision]:
        """Decisions not yet applied, oldest first."""
        ...

    async def remove(self, ids: Sequence[int]) -> None:
        """Forget applied decisions."""
        ...


class RollupRepository(Protocol):
    """The analytics rollups: folded from new events at ingest, read by reports."""

    async def add(self, new_events: Sequence[EngagementEvent]) -> None:
        """Fold events into the rollups; pass only what `EventRepository.add_new` returned in
        the same unit of work, so a redelivered batch changes nothing."""
        ...

    async def hour_totals(
        self, chat_id: int, since: datetime, until: datetime
    ) -> list[HourTotals]: ...

    async def member_days(self, chat_id: int, since: date, until: date) -> list[MemberDay]:
        """Members' UTC days in [since, until]."""
        ...

    async def responses(self, chat_id: int, since: datetime, until: datetime) -> list[Response]:
        """Messages posted in [since, until) that got a reply or reaction from someone else."""
        ...

    async def window_stats(self, chat_id: int, since: datetime, until: datetime) -> WindowStats:
        """Messages, active members and members who joined in [since, until) (hours that
        begin before `since` count from their start)."""
        ...

    async def response_totals(
        self, chat_id: int, since: datetime, until: datetime, *, median: bool = True
    ) -> ResponseTotals:
        """What the messages posted in [since, until) got from others, summed (the median
        first-reply wait only with `median`)."""
        ...

    async def reply_waits(self, chat_id: int, since: datetime, until: datetime) -> list[float]:
        """The first-reply wait, in seconds, of each message posted in [since, until) that
        got a reply."""
        ...

    async def members_removed(self, chat_id: int) -> int:
        """How many times memberships of the group were deleted (erasure, opt-out, a move in):
        what a report keeps in memory holds while it stays the same."""
        ...

    async def first_seen_between(self, chat_id: int, since: datetime, until: datetime) -> set[int]:
        """The members first seen in [since, until)."""
        ...

    async def invitations(self, chat_id: int, since: datetime) -> dict[int, int]:
        """How many members each inviter brought in whose latest join is at or after `since`."""
        ...

    async def joins_since(
        self, chat_id: int, sinces: Sequence[datetime], until: datetime
    ) -> list[int]:
        """For each of `sinces`, how many members' latest join is in [since, until)."""
        ...

    async def joined_since(self, chat_id: int, since: datetime) -> list[Membership]:
        """Memberships whose latest join (or, with none, first sighting) is at or after
        `since`."""
        ...

    async def member_totals(
        self, chat_id: int, since: date, until: date, top: int | None = None
    ) -> list[TopMember]:
        """Each member's messages and responses received over the UTC days [since, until]
        (with `top`: the first `top` as `top_members` ranks them)."""
        ...

    async def memberships(self, chat_id: int) -> list[Membership]:
        """Every membership of the group: first seen, latest join, inviter."""
        ...

    async def names(self, user_ids: Sequence[int]) -> dict[int, str]:
        """Display names of these people (those erased or never seen are absent)."""
        ...


class OpsNoticeRepository(Protocol):
    """What the ops chat has been told about each group (one row per group and topic)."""

    async def note(self, chat_id: int, topic: str, detail: str = "") -> bool:
        """Remember `topic` about a group; True when it is news (not told, or told otherwise)."""
        ...

    async def chats_with(self, topic: str) -> set[int]:
        """The groups `topic` was noted for."""
        ...

    async def forget(self, chat_id: int, topic: str | None = None) -> None:
        """Forget one topic about a group, or all of them."""
        ...


# --- the ad-share cap (issue 9) ----------------------------------------------------------------


class AdCapPolicyName(StrEnum):
    """What happens to a member's promo over the budget."""

    DELETE = "delete"  # removed, with a short reply naming the reason (the default)
    WARN = "warn"  # left, with a warning; it counts
    MUTE = "mute"  # removed, and the member muted for a while
    REPORT = "report"  # left, and the ops chat told; it counts


@dataclass(frozen=True, slots=True)
class AdCapSettings:
    """A group's ad-cap settings as stored (a group without a row has these defaults)."""

    chat_id: int
    cap: float = 0.15
    window: timedelta = timedelta(days=7)
    policy: AdCapPolicyName = AdCapPolicyName.DELETE
    mute: timedelta = timedelta(0)  # for the mute policy


@dataclass(frozen=True, slots=True)
class RemovedPromo:
    """A promo the bot removed, kept 48 hours so it can be restored."""

    chat_id: int
    message_id: int
    user_id: int | None
    author: str  # the name to restore it under
    text: str
    reason: str  # a `PromoRuling`
    removed_at: datetime
    notice_id: int | None = None  # the bot's reply saying why


@dataclass(frozen=True, slots=True)
class JudgedMessage:
    """A recorded message as the ad share sees it: who, when, and its promo score if any."""

    chat_id: int
    message_id: int
    user_id: int | None
    occurred_at: datetime
    promo_score: float | None


@dataclass(frozen=True, slots=True)
class Standing:
    """What decides a member's standing: when they joined and how many messages they sent."""

    joined_at: datetime | None  # None: never seen joining (there before the bot)
    messages: int


@dataclass(frozen=True, slots=True)
class CountedPromo:
    """An allowed promo to count: its message, author, when it was sent and its score."""

    chat_id: int
    message_id: int
    user_id: int | None
    sent_at: datetime
    score: float


class AdShareRepository(Protocol):
    """Promo counts (a rollup), settings, exemptions, reservations and removed promos."""

    async def settings(self, chat_id: int) -> AdCapSettings:
        """The group's settings, or the defaults."""
        ...

    async def save_settings(self, settings: AdCapSettings) -> None: ...

    async def exemptions(self, chat_id: int) -> set[int]: ...

    async def set_exempt(self, chat_id: int, user_id: int, exempt: bool) -> None: ...

    async def buckets(self, chat_id: int, since: datetime, until: datetime) -> list[Bucket]:
        """Per UTC hour from `since`: messages still in the group and promos among them,
        operators' reservations included (each is a promo and a message)."""
        ...

    async def top_sources(self, chat_id: int, since: datetime, limit: int) -> list[tuple[int, int]]:
        """(member, promos) for the members with most promos since `since`, most first."""
        ...

    async def count_promo(
        self, chat_id: int, message_id: int, user_id: int | None, score: float, removed: bool
    ) -> bool:
        """Store the verdict on the message's event and count it (as removed or as a promo),
        once: False when the event already carries a verdict or is not stored."""
        ...

    async def count_promos(self, promos: Sequence[CountedPromo]) -> None:
        """`count_promo` for allowed promos whose events this transaction has just stored
        (so none carries a verdict yet): one statement per table for the whole batch."""
        ...

    async def judged(self, chat_id: int, message_id: int) -> JudgedMessage | None:
        """A recorded message with its promo score, or None if it is not stored."""
        ...

    async def recount(
        self, message: JudgedMessage, *, promo: bool, removed: bool, was_removed: bool
    ) -> None:
        """Correct one message's count after a moderator's mark: its verdict on the event
        (score 1.0 or none) and the rollup (promo or not, removed or not)."""
        ...

    async def standing(self, chat_id: int, user_id: int) -> Standing | None:
        """A member's join time and messages recorded, or None for a member never recorded."""
        ...

    async def standings(self, chat_id: int) -> dict[int, Standing]:
        """Every recorded member of the group: when they joined, how many messages they sent."""
        ...

    async def user_named(self, chat_id: int, username: str) -> int | None:
        """The member of the group with this @username, if one was recorded."""
        ...

    async def lock_budget(self, chat_id: int) -> None:
        """Hold the group's budget until the commit: a second reservation waits here."""
        ...

    async def reserve(self, chat_id: int, key: str, at: datetime) -> bool:
        """Record an operator's promo under `key`; False if that key was reserved before."""
        ...

    async def keep_removed(self, promo: RemovedPromo) -> None: ...

    async def removed(self, chat_id: int, message_id: int) -> RemovedPromo | None:
        """The removed promo that was message `message_id`, or whose notice it is."""
        ...

    async def forget_removed(self, chat_id: int, message_id: int) -> None: ...

    async def removed_by(self, user_id: int) -> list[RemovedPromo]:
        """The person's removed promos still kept (for /mydata)."""
        ...

    async def purge_removed(self, before: datetime) -> int:
        """Erase removed promos kept since before `before`; return how many."""
        ...

    async def add_feedback(
        self,
        message: JudgedMessage,
        text: str,
        is_promo: bool,
        marked_by: int | None,
        at: datetime,
    ) -> None:
        """A moderator's mark, for the next retrain (the latest mark on a message wins)."""
        ...

    async def feedback(self) -> list[tuple[str, bool]]:
        """Every mark: (text, is promo)."""
        ...

    async def erase_member(self, user_id: int) -> int:
        """Forget a person's removed promos, marks on their messages and their name on promo
        counts (the counts stay); return the texts erased."""
        ...


# --- questions and hand-offs (issue 10) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """A member question as stored: where it was asked, by whom, and its hand-off record.

    `text` is kept while the question is open and 48 hours after (None once erased);
    `notices` are the hand-off messages sent about it (chat, message), edited on a claim.
    """

    chat_id: int
    message_id: int
    handoff: Handoff
    asker_name: str = ""
    text: str | None = None
    follow_ups: tuple[int, ...] = ()
    last_message_at: datetime | None = None  # None: when it was asked
    faq_entry_id: int | None = None
    notices: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class JoinedFollowUps:
    """A question's follow-ups as its watcher knows them, after one more joined at `at`."""

    chat_id: int
    message_id: int
    follow_ups: tuple[int, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class HandoffSettings:
    """A group's hand-off settings as stored (None: the bot's defaults)."""

    chat_id: int
    handoff_after: int | None = None  # seconds
    sla: int | None = None  # seconds
    ops_chat_id: int | None = None
    sla_follows_hours: bool = False  # the SLA clock counts only on-call time


@dataclass(frozen=True, slots=True)
class FaqRecord:
    """One entry of a group's FAQ."""

    id: int
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    """One moderator's shift as stored (`shift` in the words `parse_shift` reads)."""

    moderator_id: int
    moderator_name: str
    shift: str


class HandoffRepository(Protocol):
    """Questions and their deadlines, the FAQ, the on-call rota and hand-off settings."""

    async def open(self, record: QuestionRecord) -> bool:
        """Store a new question; False if it is stored already (a decision applied again)."""
        ...

    async def open_many(self, records: Sequence[QuestionRecord]) -> set[tuple[int, int]]:
        """`open` for a batch in one statement: the (chat, message) of those newly stored."""
        ...

    async def get(self, chat_id: int, message_id: int) -> QuestionRecord | None: ...

    async def get_many(
        self, keys: Collection[tuple[int, int]]
    ) -> dict[tuple[int, int], QuestionRecord]:
        """The stored questions among these (chat, message) keys."""
        ...

    async def save(self, record: QuestionRecord) -> None:
        """Store a question's new state, deadlines, follow-ups and notices."""
        ...

    async def save_many(self, records: Sequence[QuestionRecord]) -> None:
        """`save` for a batch in one statement."""
        ...

    async def join_follow_ups(self, joined: Sequence[JoinedFollowUps]) -> None:
        """Set questions' follow-ups and last message time (nothing else) in one statement."""
        ...

    async def due(self, now: datetime, limit: int) -> list[QuestionRecord]:
        """Questions whose next deadline is at or before `now`, earliest first."""
        ...

    async def unclosed(self, chat_id: int) -> list[QuestionRecord]:
        """A group's questions not yet answered, for the watcher to judge replies against."""
        ...

    async def asked_since(self, chat_id: int | None, since: datetime) -> list[QuestionRecord]:
        """Questions asked since `since` in one group (or all), for the measures."""
        ...

    async def asked_by(self, user_id: int) -> list[QuestionRecord]:
        """A person's questions whose text is still kept (for /mydata)."""
        ...

    async def erase_member(self, user_id: int) -> int:
        """Erase a person's question texts and name (the rows stay for the measures)."""
        ...

    async def erase_text_closed_before(self, before: datetime) -> int:
        """Erase the text of questions closed before `before`."""
        ...

    async def settings(self, chat_id: int) -> HandoffSettings: ...

    async def save_settings(self, settings: HandoffSettings) -> None: ...

    async def faq(self, chat_id: int) -> list[FaqRecord]:
        """The group's FAQ, oldest first."""
        ...

    async def add_faq(
        self, chat_id: int, question: str, answer: str, by: int | None, at: datetime
    ) -> int:
        """Add an entry; return its id."""
        ...

    async def remove_faq(self, chat_id: int, entry_id: int) -> bool: ...

    async def rota(self, chat_id: int) -> list[ShiftRecord]:
        """The group's shifts, in the order they were added."""
        ...

    async def add_shift(self, chat_id: int, shift: ShiftRecord) -> None: ...

    async def remove_shifts(self, chat_id: int, moderator_id: int) -> int: ...


# --- moderation (issue 13) ----------------------------------------------------------------------


class ModerationRepository(Protocol):
    """Warnings, the moderation log, each group's moderation settings, and what moderation reads
    from the recorded members and events (names, message ids, joins)."""

    async def settings(self, chat_id: int) -> ModerationSettings:
        """The group's settings, or the defaults."""
        ...

    async def save_settings(self, settings: ModerationSettings) -> None: ...

    async def all_locks(self) -> dict[int, frozenset[LockKind]]:
        """Every group with something locked."""
        ...

    async def add_warning(
        self, chat_id: int, user_id: int, reason: str, by: Person, at: datetime
    ) -> None: ...

    async def warnings(self, chat_id: int, user_id: int, since: datetime) -> list[WarningRecord]:
        """A member's warnings given after `since` and not cleared, oldest first."""
        ...

    async def warnings_of(self, user_id: int) -> list[tuple[str, WarningRecord, bool]]:
        """Every warning stored about a person, in every group, oldest first: the group's
        title, the warning, and whether a moderator cleared it (for /mydata)."""
        ...

    async def clear_warnings(
        self, chat_id: int, user_id: int, since: datetime, at: datetime, *, latest_only: bool
    ) -> int:
        """Clear a member's warnings that count (or the latest of them); return how many."""
        ...

    async def log(self, entry: LogEntry) -> None: ...

    async def entries(self, chat_id: int, target_id: int | None, limit: int) -> list[LogEntry]:
        """The group's log (about one member, or all), newest first."""
        ...

    async def member_named(self, chat_id: int, username: str) -> Person | None:
        """The member of the group with this @username, if one was recorded."""
        ...

    async def person(self, user_id: int) -> Person | None:
        """How to call someone recorded (None: never seen)."""
        ...

    async def message_ids(self, chat_id: int, user_id: int, since: datetime) -> list[int]:
        """The ids of a member's messages recorded in the group since `since`."""
        ...

    async def welcome_chats(self) -> dict[int, int]:
        """Groups with a welcome: the last join event each welcomed."""
        ...

    async def joins_after(self, chat_id: int, event_id: int, limit: int) -> list[Joined]:
        """Joins recorded in the group after event `event_id`, in order."""
        ...

    async def last_event_id(self) -> int:
        """The highest event id stored (0 with none): a welcome turned on starts after it."""
        ...

    async def welcomed(self, chat_id: int, through: int) -> None:
        """The welcome covered joins up to event `through`."""
        ...

    async def erase_member(self, user_id: int) -> int:
        """Forget a person's name in warnings and the log (their id stays: a warning counts
        until it expires); return rows changed."""
        ...


# --- content on the PDCA loop (issue 11) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContentBody:
    """What a post shows: text with Telegram's formatting entities, an optional photo or
    document (a Telegram file id) and URL buttons (label, url)."""

    text: str
    entities: tuple[dict[str, Any], ...] = ()
    media_kind: str | None = None  # "photo" or "document"
    media_file_id: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ContentItem:
    """A content item as stored: its state, body, plan and (for a recurring one) its rule.

    `planned_at` is the current occurrence's time by the plan (its identity: the outbox key);
    `due_at` when it is to go out (later when quiet hours or the ad cap moved it), None when
    nothing is due. `posts` counts occurrences taken (the experiment's arm index).
    """

    id: int
    chat_id: int
    state: ContentState
    kind: ContentKind
    title: str
    body: ContentBody | None = None
    variant: ContentBody | None = None  # the second text of a variants experiment
    thread_id: int | None = None
    author_id: int | None = None
    owner_id: int | None = None
    locale: str = "en"  # the owner's language, for what the bot tells them
    rule: str | None = None  # a recurrence in `parse_when`'s words ("every mon,thu 20:00")
    planned_at: datetime | None = None
    due_at: datetime | None = None
    posts: int = 0
    experiment: str | None = None  # "slots" or "variants"
    slots: tuple[str, ...] = ()  # the slots' wall times ("08:00", "20:00")
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContentPost:
    """One occurrence of an item: claimed, then published (or missed, failed), then measured.

    `measures` maps "1h", "6h", "24h" to the figures taken then.
    """

    id: int
    item_id: int
    chat_id: int
    key: str  # the outbox's dedup key for this occurrence
    planned_at: datetime
    state: str  # sending, published, measured, reviewed, missed, failed
    arm: int | None = None
    arm_label: str | None = None
    published_at: datetime | None = None
    message_id: int | None = None
    measures: dict[str, dict[str, float | None]] = field(default_factory=dict)
    next_measure_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContentTransition:
    """One step of an item's state machine: from, to, by whom, when and why."""

    item_id: int
    from_state: ContentState | None
    to_state: ContentState
    action: str
    by: int | None
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class ContentSettings:
    """A group's quiet hours ("22:00"–"08:00") and grace period for missed posts."""

    chat_id: int
    quiet_start: str | None = None
    quiet_end: str | None = None
    grace_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Focus:
    """The group an operator plans in their private chat, and the item awaiting its body."""

    user_id: int
    chat_id: int | None
    awaiting: int | None = None


@dataclass(frozen=True, slots=True)
class ResponseCounts:
    """Replies and reactions a post got in a window, and how many members gave them."""

    replies: int
    reactions: int
    responders: int


class ContentRepository(Protocol):
    """Content items, their transitions and posts, settings, operators and focus."""

    async def add(self, item: ContentItem) -> int: ...

    async def get(self, item_id: int) -> ContentItem | None: ...

    async def save(self, item: ContentItem) -> None: ...

    async def claim(self, item: ContentItem, seen: ContentItem) -> bool:
        """Save `item` only if the stored row is still as `seen` (state, occurrence, due
        time): False when another process (or an edit) took it first."""
        ...

    async def record(self, transition: ContentTransition) -> None: ...

    async def history(self, item_id: int) -> list[ContentTransition]: ...

    async def items(
        self, chat_id: int | None, states: Sequence[ContentState] | None = None
    ) -> list[ContentItem]: ...

    async def due(self, now: datetime, limit: int) -> list[ContentItem]: ...

    async def upcoming(self, chat_ids: Sequence[int], limit: int) -> list[ContentItem]: ...

    async def add_post(self, post: ContentPost) -> bool: ...

    async def save_post(self, post: ContentPost) -> None: ...

    async def posts(self, item_id: int) -> list[ContentPost]: ...

    async def posts_in(
        self, chat_id: int, since: datetime, until: datetime
    ) -> list[ContentPost]: ...

    async def to_measure(self, now: datetime, limit: int) -> list[ContentPost]: ...

    async def outbox_result(self, key: str) -> tuple[datetime | None, int | None, str | None]: ...

    async def responses_to(
        self, chat_id: int, message_id: int, since: datetime, until: datetime
    ) -> ResponseCounts: ...

    async def group_hours(
        self, chat_id: int, since: datetime, until: datetime
    ) -> tuple[int, int]: ...

    async def settings(self, chat_id: int) -> ContentSettings: ...

    async def save_settings(self, settings: ContentSettings) -> None: ...

    async def operators(self, chat_id: int) -> list[tuple[int, str]]: ...

    async def add_operator(self, chat_id: int, user_id: int, name: str, at: datetime) -> bool: ...

    async def remove_operator(self, chat_id: int, user_id: int) -> bool: ...

    async def operated_by(self, user_id: int) -> list[int]: ...

    async def focus(self, user_id: int) -> Focus: ...

    async def save_focus(self, focus: Focus) -> None: ...

    async def user_named(self, username: str) -> tuple[int, str] | None: ...


# --- recognition (issue 13) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarnedBadge:
    """A badge a member earned in a group, and when."""

    chat_id: int
    user_id: int
    badge: Badge
    earned_at: datetime


@dataclass(frozen=True, slots=True)
class PointAward:
    """A message that earned its author points."""

    chat_id: int
    message_id: int
    user_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class RecognitionFootprint:
    """What recognition keeps about a person in one group (for /mydata)."""

    chat_id: int
    title: str
    points_messages: int = 0  # messages that earned points
    badges: tuple[Badge, ...] = ()
    invite_link: str | None = None
    invites_credited: int = 0
    opted_out: bool = False


class RecognitionRepository(Protocol):
    """Point awards, badges, personal invite links and credits, opt-outs."""

    async def opt_outs(self) -> set[tuple[int, int]]:
        """Every opted-out (chat, user) pair."""
        ...

    async def opted_out_chats(self, user_id: int) -> list[int]: ...

    async def opt_out(self, chat_id: int, user_id: int, at: datetime) -> bool:
        """Note an opt-out; False if it was noted already."""
        ...

    async def opt_in(self, chat_id: int, user_id: int) -> bool: ...

    async def anonymise(self, chat_id: int, user_id: int) -> bool:
        """Take a member's identity out of a group's records; whether they have a membership
        left in another group."""
        ...

    async def erase_member(self, user_id: int) -> None:
        """Recognition's records about a person, in every group (their opt-outs stay)."""
        ...

    async def award(self, awards: Sequence[PointAward]) -> int:
        """Record messages that earned points (once per message); how many were new."""
        ...

    async def credits_since(self, chat_id: int, since: datetime) -> dict[int, tuple[int, datetime]]:
        """Per member: messages that earned points since `since`, and the latest one's time."""
        ...

    async def message_points(self, chat_id: int, since: datetime | None) -> dict[int, int]: ...

    async def answers(self, chat_id: int, since: datetime | None) -> dict[int, int]:
        """Questions each member answered (a human's first answer to someone else's)."""
        ...

    async def reaction_points(self, chat_id: int, since: date | None) -> dict[int, int]:
        """Reactions each member received from others, capped per day."""
        ...

    async def active_days(self, chat_id: int, since: date) -> dict[int, list[date]]: ...

    async def badges(self, chat_id: int) -> dict[int, set[Badge]]: ...

    async def add_badges(
        self, chat_id: int, earned: Sequence[tuple[int, Badge]], at: datetime
    ) -> int: ...

    async def unannounced(self, chat_id: int) -> list[EarnedBadge]: ...

    async def chats_with_unannounced(self) -> list[int]: ...

    async def last_announced(self, chat_id: int) -> datetime | None: ...

    async def mark_announced(
        self, chat_id: int, badges: Sequence[EarnedBadge], at: datetime
    ) -> None: ...

    async def link_of(self, chat_id: int, user_id: int) -> str | None: ...

    async def save_link(self, chat_id: int, user_id: int, link: str, at: datetime) -> str:
        """Keep a member's link; the one saved first wins."""
        ...

    async def invitees(self, chat_id: int) -> list[Invitee]:
        """Members whose latest join was by someone's personal link."""
        ...

    async def credited(self, chat_id: int) -> set[int]: ...

    async def credit(self, chat_id: int, invitees: Sequence[Invitee], at: datetime) -> int:
        """Credit inviters, once per newcomer; how many were new."""
        ...

    async def credits(self, chat_id: int) -> dict[int, int]:
        """Credited invites per inviter."""
        ...

    async def chats_with_links(self) -> list[int]: ...

    async def display_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        """Names as boards show them (without @handles, which would ping)."""
        ...

    async def footprint(self, user_id: int) -> list[RecognitionFootprint]: ...


class DigestRepository(Protocol):
    """Which groups want the weekly digest, and the last week each was told (issue 12)."""

    async def enabled(self, chat_id: int) -> bool: ...

    async def set_enabled(self, chat_id: int, enabled: bool) -> None: ...

    async def subscribed(self) -> list[tuple[int, date | None]]:
        """Groups with the digest on, and the local Monday of the last week told (None: never)."""
        ...

    async def mark_told(self, chat_id: int, week: date) -> bool:
        """Record that `week` was told; False when it (or a later one) already was."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories that never commit, and an explicit commit."""

    # Read-only properties, so an adapter may expose its own repository classes.
    @property
    def groups(self) -> GroupRepository: ...

    @property
    def members(self) -> MemberRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def rollups(self) -> RollupRepository: ...

    @property
    def decisions(self) -> DecisionRepository: ...

    @property
    def ops_notices(self) -> OpsNoticeRepository: ...

    @property
    def adshare(self) -> AdShareRepository: ...

    @property
    def handoff(self) -> HandoffRepository: ...

    @property
    def moderation(self) -> ModerationRepository: ...

    @property
    def content(self) -> ContentRepository: ...

    @property
    def recognition(self) -> RecognitionRepository: ...

    @property
    def digests(self) -> DigestRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True, slots=True)
class IngestWritten:
    """What writing a batch of events stored: the new events, in batch order, and the
    decisions stored about them."""

    new: list[EngagementEvent]
    decided: list[StoredDecision]


# The features' writes of a batch's decisions (watcher name, decision), run on the batch's own
# unit of work; returns the decisions to store for the applier (the rest and follow-ups).
FeatureWrites = Callable[
    [UnitOfWork, list[tuple[str, Decision]]], Awaitable[list[tuple[str, Decision]]]
]


class WriteSuspended(Exception):
    """A feature's write waited for something besides its unit of work, which the ingest store
    cannot give it: the batch is written again with its decisions left to the applier."""


class StoreFailed(Exception):
    """The ingest store failed for a reason that is not the database's (a fault of its own):
    the recorder writes the batch through a unit of work instead, rather than set its events
    aside as data the database refused."""


class IngestStore(Protocol):
    """Writes the recorder's batches in one transaction each, faster than a unit of work can
    (SQLite: `storage.sqlite_ingest`)."""

    async def write(
        self,
        groups: Sequence[GroupRef],
        events: Sequence[EngagementEvent],
        decisions: Mapping[str, Sequence[tuple[str, Decision]]],
        now: datetime,
        feature_writes: FeatureWrites | None = None,
    ) -> IngestWritten:
        """Store `groups` (new or renamed) and `events`, as a unit of work's `groups.upsert_many`,
        `events.add_new`, `members.observe_many` and `rollups.add` would; run `feature_writes`
        on the decisions under new events' keys, in the same transaction, and store what it
        returns (without it, those decisions) as `decisions.add` would; commit.

        `feature_writes` gets a unit of work that must be all it waits for: it may run in
        another thread, with no event loop (`WriteSuspended` otherwise)."""
        ...

    async def close(self) -> None: ...


# --- outbound ---------------------------------------------------------------------------------


class Priority(IntEnum):
    """Lower is served first (invariant 2)."""

    MODERATION = 0  # deletes, restrictions, bans, handoff alerts
    REPLY = 1  # answers to commands
    CONTENT = 2  # scheduled posts, digests


class FailureReason(StrEnum):
    """Why Telegram refused a call, in the words callers act on."""

    MISSING_RIGHTS = "missing_rights"  # the bot lacks the admin right needed
    MESSAGE_TOO_OLD = "message_too_old"  # a delete of a message older than 48 h
    MESSAGE_NOT_FOUND = "message_not_found"
    BOT_REMOVED = "bot_removed"  # kicked from the group, or the group is gone
    CHAT_NOT_FOUND = "chat_not_found"
    BAD_REQUEST = "bad_request"  # anything else Telegram answered 400 to
    GAVE_UP = "gave_up"  # transient failures past the retry limit
    SHED = "shed"  # dropped by back-pressure when the queue was full


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent with a call (a chart, a CSV export): a value in a call's parameters, which
    the transport uploads as a multipart part (`sendPhoto`, `sendDocument`)."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one outbound call."""

    ok: bool
    result: Any = None  # the decoded Bot API result when ok
    reason: FailureReason | None = None
    detail: str = ""

    @property
    def message_id(self) -> int | None:
        if self.ok and isinstance(self.result, dict):
            mid = self.result.get("message_id")
            return int(mid) if mid is not None else None
        return None


@dataclass(frozen=True, slots=True)
class ChatAdmin:
    """One administrator of a group, as getChatAdministrators tells it."""

    user_id: int
    is_bot: bool
    status: str  # "creator" or "administrator"
    is_anonymous: bool = False
    rights: frozenset[str] = field(default_factory=frozenset)  # e.g. "can_delete_messages"


class DurableSender(Protocol):
    """Delivery's outbox path (`Delivery.send_durable`): a call recorded before it is sent, so a
    restart neither drops nor repeats it (scheduled posts, the weekly digest)."""

    async def send_durable(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: Priority = Priority.CONTENT,
    ) -> Outcome: ...


class ChatGateway(Protocol):
    """Everything sent to Telegram (invariant 2): implemented by `bot.delivery`."""

    async def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        priority: Priority = Priority.REPLY,
        chat_id: int | None = None,
    ) -> Outcome:
        """Queue one Bot API call and wait for its outcome."""
        ...

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        priority: Priority = Priority.REPLY,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
    ) -> Outcome: ...

    async def delete_message(
        self, chat_id: int, message_id: int, *, priority: Priority = Priority.MODERATION
    ) -> Outcome: ...

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin] | None:
        """The group's admins; None when Telegram could not be asked (an outage, a refusal)."""
        ...

    async def get_chat_member_status(self, chat_id: int, user_id: int) -> ChatAdmin | None:
        """A member's admin status and rights, or None when not an admin."""
        ...


class BotApiError(Exception):
    """A Bot API call failed; subclasses say whether and when to try again."""


class RetryAfter(BotApiError):
    """Telegram answered 429: wait exactly `retry_after` seconds before the next try."""

    def __init__(self, retry_after: float, description: str = "") -> None:
        super().__init__(description or f"Flood control exceeded. Retry in {retry_after} seconds")
        self.retry_after = retry_after


class TransientError(BotApiError):
    """5xx, a time-out or a dropped connection: worth retrying with backoff."""


class Refused(BotApiError):
    """400 or 403: retrying will not help."""

    def __init__(
        self, error_code: int, description: str, migrate_to_chat_id: int | None = None
    ) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        # Set when the group became a supergroup: the same call goes to this chat instead.
        self.migrate_to_chat_id = migrate_to_chat_id


class BotApiTransport(Protocol):
    """Executes one Bot API call (the aiogram adapter lives in `handlers/`)."""

    async def execute(self, method: str, params: dict[str, Any]) -> Any:
        """Run `method` with `params`; return the decoded result or raise a `BotApiError`."""
        ...
