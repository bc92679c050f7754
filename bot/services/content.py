"""Content on the PDCA loop: plan, schedule, publish once, measure, review, experiment.

One service behind every surface (the private chat's commands, the `groupops content` CLI).

Publishing (`run_due`, on the tick). Due items live in `content_items` (`due_at`, indexed);
APScheduler only ticks. For each due item, in one unit of work: the item moves to its next
occurrence (or out of the due index), only if its stored occurrence is still the one read
(`claim`: of two processes, one wins); the occurrence's row is written, keyed by the outbox's
dedup key for (item, occurrence); and the outbox row itself is written under that key. After
the commit, delivery sends the row (`send_durable` finds it recorded). A crash after the
commit leaves a pending outbox row that delivery sends at the next start (`resume_pending`),
and the measuring pass learns its message id from the outbox. So an occurrence is published
once, across restarts and processes; the one window left is delivery's own (a crash after
Telegram accepted and before the row was marked sent).

A promo first reserves ad-share budget (the ad-cap service, under the occurrence's key, so a
retry is harmless); over budget it is deferred to the time it fits and the owner is told. A
post due while the bot was down goes out late within the grace period (15 minutes by default)
and is otherwise marked missed and reported. Quiet hours move a due time to their end.

Measures (`run_measures`): 1 h, 6 h and 24 h after each post: replies and reactions to it,
distinct members responding, messages in the group against the same hours of the same weekday
in the four weeks before (lift), and leaves. Stored on the post.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

from bot.domain.content import (
    CLOSED,
    GRACE,
    MAX_TITLE,
    MEASURE_AFTER,
    ContentAction,
    ContentKind,
    ContentState,
    Every,
    NextRun,
    QuietHours,
    Rule,
    StepRefused,
    WhenError,
    after_quiet,
    local_instant,
    occurrence_key,
    parse_clock,
    parse_when,
    step,
    zone,
)
from bot.domain.experiments import Comparison, ExperimentKind, Verdict, arm_for, verdict
from bot.ports import (
    ChatGateway,
    Clock,
    ContentBody,
    ContentItem,
    ContentPost,
    ContentSettings,
    ContentTransition,
    DurableSender,
    FailureReason,
    Focus,
    Priority,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.services.admins import AdminDirectory, AdminsUnknown

log = logging.getLogger(__name__)

DUE_BATCH = 500
MEASURE_BATCH = 500
LAG_KEPT = 20_000
SENDING_CHECK = timedelta(seconds=30)  # a post sent without its id noted: look in the outbox
COMPARABLE_WEEKS = 4
TYPICAL_OVER = timedelta(days=90)
EXPERIMENT_MEASURE = "24h"
HORIZONS = {"1h": MEASURE_AFTER[0], "6h": MEASURE_AFTER[1], "24h": MEASURE_AFTER[2]}
# Delivery reasons that leave the outbox row pending (sent at the next start), not failed.
_LATER = (FailureReason.SHED,)


class PromoBudget(Protocol):
    """The ad-cap service's reservation (`AdShareService.reserve`)."""

    async def reserve(self, chat_id: int, key: str) -> Any:
        """An object with `granted` (bool) and `at` (when it fits)."""
        ...


class ContentWording(Protocol):
    """What the bot tells an item's owner (translated by the handlers)."""

    def missed(self, item: ContentItem, planned: datetime, timezone: str, locale: str) -> str: ...

    def deferred(self, item: ContentItem, at: datetime, timezone: str, locale: str) -> str: ...

    def failed(self, item: ContentItem, reason: str, locale: str) -> str: ...


class ContentError(Exception):
    """A request the service refuses: an English template and its values, for the handler."""

    def __init__(self, problem: str, **values: object) -> None:
        super().__init__(problem.format(**values) if values else problem)
        self.problem = problem
        self.values = values


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A schedule or a move: the item, when it goes out, and the time quiet hours moved."""

    item: ContentItem
    at: datetime
    timezone: str
    quiet_from: datetime | None = None  # the asked time, when quiet hours moved it


@dataclass(frozen=True, slots=True)
class Review:
    """A post's measures beside the group's typical post (medians of its other posts)."""

    item: ContentItem
    post: ContentPost | None
    typical: dict[str, dict[str, float | None]]
    typical_posts: int


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """An experiment's arms and the verdict on them."""

    item: ContentItem
    kind: str
    labels: tuple[str, str]
    outcomes: tuple[tuple[float, ...], tuple[float, ...]]
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class PostSummary:
    """One post of a week, as the weekly PDCA summary reads it."""

    item_id: int
    title: str
    kind: str
    planned_at: datetime
    state: str  # published, measured, reviewed, missed, failed
    responses: int | None  # replies + reactions within 24 h (None: not measured yet)
    responders: int | None
    lift: float | None
    arm_label: str | None = None


@dataclass(frozen=True, slots=True)
class WeeklySummary:
    """What went out in [since, until), what worked, and what to try next (plain data, for
    the weekly digest to render)."""

    chat_id: int
    since: datetime
    until: datetime
    posts: list[PostSummary]
    deferred: int  # items now waiting for ad-share budget
    best: PostSummary | None
    experiments: list[ExperimentReport]
    suggestions: list[str]  # English templates: "keep_slot", "more_posts", "try_experiment"…


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One line of a plan spreadsheet (CSV): every field as text."""

    id: str
    chat: str
    kind: str
    when: str
    title: str
    text: str
    state: str = ""


PLAN_COLUMNS = ("id", "chat", "kind", "when", "title", "text", "state")


@dataclass(frozen=True, slots=True)
class PlanChange:
    """One change an import makes: add, change or cancel."""

    action: str
    item_id: int | None
    chat_id: int
    detail: str


@dataclass(frozen=True, slots=True)
class PlanImport:
    """What an import would do (or did), and the lines it refused, with their reasons."""

    changes: list[PlanChange]
    errors: list[tuple[int, str]]  # (line in the file, reason)
    applied: bool


@dataclass(slots=True)
class ContentMetrics:
    published: int = 0
    missed: int = 0
    deferred: int = 0
    failed: int = 0
    measured: int = 0
    lag: list[float] = field(default_factory=list)  # seconds past due of recent posts


CompareArms = Callable[[Sequence[float], Sequence[float], tuple[str, str], int], Comparison | None]


class ContentService:
    """Plans, publishes, measures and reviews content items (see the module's docstring)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        admins: AdminDirectory,
        gateway: ChatGateway,
        sender: DurableSender,
        *,
        next_run: NextRun,
        compare: CompareArms,
        wording: ContentWording,
        default_timezone: str = "UTC",
        budget: Callable[[], PromoBudget | None] = lambda: None,
        ops_chat_id: int | None = None,
        grace: timedelta = GRACE,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._admins = admins
        self._gateway = gateway
        self._sender = sender
        self._next_run = next_run
        self._compare = compare
        self._wording = wording
        self._default_timezone = default_timezone
        self._budget = budget
        self._ops_chat_id = ops_chat_id
        self._grace = grace
        self._due_lock = asyncio.Lock()
        self._settle_lock = asyncio.Lock()
        self._sending: set[asyncio.Task[None]] = set()
        self.metrics = ContentMetrics()

    # --- who may act --------------------------------------------------------------------------

    async def may_plan(self, chat_id: int, user_id: int) -> bool:
        """A group's admins, and the operators they named (raises `AdminsUnknown`)."""
        async with self._uow_factory() as uow:
            if user_id in {u for u, _ in await uow.content.operators(chat_id)}:
                return True
        return await self._admins.is_admin(chat_id, user_id, None)

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """An admin of the group (who may name operators); raises `AdminsUnknown`."""
        return await self._admins.is_admin(chat_id, user_id, None)

    async def groups_for(self, user_id: int) -> list[tuple[int, str]]:
        """(chat id, title) of the groups the person may plan: those they were named an
        operator of, and those they are recorded in where they are an admin (asked only about
        their own groups, not every group the bot serves)."""
        async with self._uow_factory() as uow:
            operated = set(await uow.content.operated_by(user_id))
            member_of = {f.chat_id: f.title for f in await uow.members.footprint(user_id)}
            titles = {c: (g.title if (g := await uow.groups.get(c)) else str(c)) for c in operated}
        titles.update(member_of)
        found = []
        for chat_id in sorted(titles):
            if chat_id in operated:
                found.append((chat_id, titles[chat_id]))
                continue
            try:
                if await self._admins.is_admin(chat_id, user_id, None):
                    found.append((chat_id, titles[chat_id]))
            except AdminsUnknown:  # a group whose admins cannot be asked now is left out
                log.debug("admins of %s unknown", chat_id)
        return found

    async def focus(self, user_id: int) -> Focus:
        async with self._uow_factory() as uow:
            return await uow.content.focus(user_id)

    async def set_focus(
        self, user_id: int, chat_id: int | None, awaiting: int | None = None
    ) -> None:
        async with self._uow_factory() as uow:
            await uow.content.save_focus(Focus(user_id, chat_id, awaiting))
            await uow.commit()

    async def title_of(self, chat_id: int) -> str:
        async with self._uow_factory() as uow:
            group = await uow.groups.get(chat_id)
        return group.title if group else str(chat_id)

    async def timezone_of(self, chat_id: int) -> str:
        async with self._uow_factory() as uow:
            return await self._timezone(uow, chat_id)

    # --- plan ---------------------------------------------------------------------------------

    async def idea(
        self, chat_id: int, text: str, by: int | None, locale: str = "en"
    ) -> ContentItem:
        """Record an idea: its first line is the title; its text waits for /draft."""
        text = text.strip()
        if not text:
            raise ContentError("Write the idea after the command: /idea <text>.")
        item = ContentItem(
            id=0,
            chat_id=chat_id,
            state=ContentState.IDEA,
            kind=ContentKind.ORGANIC,
            title=_title(text),
            author_id=by,
            owner_id=by,
            locale=locale,
            created_at=self._clock.now(),
        )
        return await self._create(item, by, "idea")

    async def start_draft(
        self, user_id: int, chat_id: int, item_id: int | None, locale: str = "en"
    ) -> ContentItem:
        """`/draft` (a new item) or `/draft N` (an idea or draft): the next private message
        from `user_id` is its body."""
        if item_id is None:
            item = await self._create(
                ContentItem(
                    id=0,
                    chat_id=chat_id,
                    state=ContentState.IDEA,
                    kind=ContentKind.ORGANIC,
                    title="",
                    author_id=user_id,
                    owner_id=user_id,
                    locale=locale,
                    created_at=self._clock.now(),
                ),
                user_id,
                "draft",
            )
        else:
            item = await self._item(item_id)
            step(item.state, ContentAction.WRITE)  # refuses a scheduled item early
        await self.set_focus(user_id, item.chat_id, item.id)
        return item

    async def write_body(self, user_id: int, body: ContentBody) -> ContentItem | None:
        """The message an operator sent after /draft (or /experiment variants): the body (or
        the second variant) of the item awaiting it; None when nothing awaits."""
        async with self._uow_factory() as uow:
            focus = await uow.content.focus(user_id)
            if focus.awaiting is None:
                return None
            item = await uow.content.get(abs(focus.awaiting))
            await uow.content.save_focus(replace(focus, awaiting=None))
            if item is None:
                await uow.commit()
                return None
            if focus.awaiting < 0:  # the second text of a variants experiment
                item = replace(item, variant=body, experiment=ExperimentKind.VARIANTS.value)
                await uow.content.save(item)
                await uow.commit()
                return item
            new = step(item.state, ContentAction.WRITE)
            item = replace(
                item, state=new, body=body, title=item.title or _title(body.text or "(media)")
            )
            await uow.content.save(item)
            await self._transition(uow, item.id, ContentState.IDEA, new, "write", user_id)
            await uow.commit()
        return item

    async def set_kind(self, item_id: int, kind: ContentKind, by: int | None) -> ContentItem:
        """Organic, announcement or promo (a promo reserves ad-share budget when it goes out)."""
        async with self._uow_factory() as uow:
            item = await uow.content.get(item_id)
            if item is None:
                raise ContentError("There is no item {item}.", item=item_id)
            if item.state in CLOSED:
                raise ContentError("Item {item} is closed.", item=item_id)
            item = replace(item, kind=kind)
            await uow.content.save(item)
            await self._transition(uow, item_id, item.state, item.state, "kind", by, kind.value)
            await uow.commit()
        return item

    async def approve(self, item_id: int, by: int | None) -> ContentItem:
        return await self._act(item_id, ContentAction.APPROVE, by)

    async def reject(self, item_id: int, by: int | None) -> ContentItem:
        return await self._act(item_id, ContentAction.REJECT, by)

    async def pause(self, item_id: int, by: int | None) -> ContentItem:
        return await self._act(item_id, ContentAction.PAUSE, by)

    async def cancel(self, item_id: int, by: int | None) -> ContentItem:
        return await self._act(item_id, ContentAction.CANCEL, by, due=None)

    async def resume(self, item_id: int, by: int | None) -> ContentItem:
        """Back to scheduled; a recurring item goes on from its next run after now."""
        item = await self._item(item_id)
        due = item.due_at
        planned = item.planned_at
        if item.rule is not None:
            async with self._uow_factory() as uow:
                tz = await self._timezone(uow, item.chat_id)
                quiet = _quiet(await uow.content.settings(item.chat_id))
            now = self._clock.now()
            if planned is None or planned <= now:
                planned = self._next_planned(item, now, tz)
                due = after_quiet(planned, quiet, tz) if planned else None
        return await self._act(item_id, ContentAction.RESUME, by, due=due, planned=planned)

    async def schedule(self, item_id: int, when: str, by: int | None) -> Scheduled:
        """Schedule (or move) an approved item: a time or a rule, in the group's zone; quiet
        hours move it to their end. Raises `WhenError` for a time it cannot read."""
        item = await self._item(item_id)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            tz = await self._timezone(uow, item.chat_id)
            quiet = _quiet(await uow.content.settings(item.chat_id))
        parsed = parse_when(when, now, tz, self._next_run)
        if isinstance(parsed, Every):
            rule: str | None = parsed.rule.text()
            planned = parsed.first
            if item.experiment == ExperimentKind.SLOTS.value:
                item = replace(item, rule=rule)
                planned = self._next_planned(item, now, tz) or planned
        else:
            rule, planned = None, parsed.at
        due = after_quiet(planned, quiet, tz)
        new_item = await self._act(
            item_id, ContentAction.SCHEDULE, by, due=due, planned=planned, rule=rule, note=when
        )
        return Scheduled(new_item, due, tz, planned if due != planned else None)

    async def move(self, item_id: int, when: str, by: int | None) -> Scheduled:
        """A new time for a scheduled (or paused, deferred, missed) item."""
        item = await self._item(item_id)
        if item.state is ContentState.PAUSED:
            await self._act(item_id, ContentAction.RESUME, by)
        return await self.schedule(item_id, when, by)

    async def upcoming(self, chat_ids: Sequence[int], limit: int = 20) -> list[ContentItem]:
        async with self._uow_factory() as uow:
            return await uow.content.upcoming(chat_ids, limit)

    async def items(self, chat_id: int | None) -> list[ContentItem]:
        async with self._uow_factory() as uow:
            return await uow.content.items(chat_id)

    async def get(self, item_id: int) -> ContentItem:
        return await self._item(item_id)

    async def history(self, item_id: int) -> list[ContentTransition]:
        async with self._uow_factory() as uow:
            return await uow.content.history(item_id)

    async def posts(self, item_id: int) -> list[ContentPost]:
        async with self._uow_factory() as uow:
            return await uow.content.posts(item_id)

    def preview(
        self, item: ContentItem, chat_id: int, variant: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """The Bot API call that posts the item, addressed to `chat_id` (a private chat)."""
        body = item.variant if variant and item.variant else item.body
        if body is None:
            raise ContentError("Item {item} has no text yet: /draft {item}.", item=item.id)
        method, params = render_post(body, chat_id, None)
        return method, params

    # --- settings and operators ---------------------------------------------------------------

    async def set_quiet(self, chat_id: int, quiet: QuietHours | None) -> None:
        async with self._uow_factory() as uow:
            current = await uow.content.settings(chat_id)
            await uow.content.save_settings(
                replace(
                    current,
                    quiet_start=f"{quiet.start:%H:%M}" if quiet else None,
                    quiet_end=f"{quiet.end:%H:%M}" if quiet else None,
                )
            )
            await uow.commit()

    async def quiet(self, chat_id: int) -> QuietHours | None:
        async with self._uow_factory() as uow:
            return _quiet(await uow.content.settings(chat_id))

    async def add_operator(self, chat_id: int, username: str) -> tuple[int, str] | None:
        """Name a recorded member an operator; None if no one with that @username is known."""
        async with self._uow_factory() as uow:
            found = await uow.content.user_named(username)
            if found is None:
                return None
            await uow.content.add_operator(chat_id, found[0], found[1], self._clock.now())
            await uow.commit()
        return found

    async def remove_operator(self, chat_id: int, username: str) -> tuple[int, str] | None:
        async with self._uow_factory() as uow:
            found = await uow.content.user_named(username)
            if found is None or not await uow.content.remove_operator(chat_id, found[0]):
                return None
            await uow.commit()
        return found

    async def operators(self, chat_id: int) -> list[tuple[int, str]]:
        async with self._uow_factory() as uow:
            return await uow.content.operators(chat_id)

    # --- the CLI's add ------------------------------------------------------------------------

    async def add(
        self,
        chat_id: int,
        when: str,
        text: str,
        *,
        kind: ContentKind = ContentKind.ORGANIC,
        title: str | None = None,
        by: int | None = None,
    ) -> Scheduled:
        """Create an item and schedule it in one go (for scripts): it is recorded as written,
        approved and scheduled by `by` (None: the command line)."""
        if not text.strip():
            raise ContentError("The post needs a text.")
        now = self._clock.now()
        async with self._uow_factory() as uow:
            tz = await self._timezone(uow, chat_id)
        parse_when(when, now, tz, self._next_run)  # refuse a bad time before anything is stored
        item = await self._create(
            ContentItem(
                id=0,
                chat_id=chat_id,
                state=ContentState.APPROVED,
                kind=kind,
                title=title or _title(text),
                body=ContentBody(text),
                author_id=by,
                owner_id=by,
                created_at=now,
            ),
            by,
            "add",
        )
        return await self.schedule(item.id, when, by)

    # --- the plan as a table (export, import) -------------------------------------------------

    async def export(self, chat_id: int) -> list[PlanRow]:
        """A group's items not yet done with, as rows a spreadsheet can edit and import."""
        async with self._uow_factory() as uow:
            tz = await self._timezone(uow, chat_id)
            items = await uow.content.items(chat_id)
        rows = []
        for item in items:
            if item.state in CLOSED:
                continue
            if item.rule is not None:
                when = item.rule
            elif item.planned_at is not None:
                when = f"{item.planned_at.astimezone(zone(tz)):%Y-%m-%d %H:%M}"
            else:
                when = ""
            text = item.body.text if item.body else ""
            rows.append(
                PlanRow(
                    str(item.id),
                    str(chat_id),
                    item.kind.value,
                    when,
                    item.title,
                    text,
                    item.state.value,
                )
            )
        return rows

    async def import_plan(self, rows: Sequence[PlanRow], *, apply: bool) -> PlanImport:
        """Validate every row; with none bad and `apply`, make all the changes in one unit of
        work (all or nothing). Returns the changes (a diff) and the bad rows with reasons.

        A row without an id adds an item (approved and scheduled); with one, it moves the
        item, rewrites its text or kind, or (state "cancelled") cancels it.
        """
        now = self._clock.now()
        changes: list[PlanChange] = []
        errors: list[tuple[int, str]] = []
        planned: list[tuple[PlanChange, ContentItem]] = []
        async with self._uow_factory() as uow:
            zones: dict[int, str] = {}
            for line, row in enumerate(rows, start=2):  # line 1 is the header
                try:
                    change, item = await self._plan_change(uow, row, now, zones)
                except (WhenError, ContentError, StepRefused, ValueError) as error:
                    errors.append((line, _problem(error)))
                    continue
                if change is not None and item is not None:
                    changes.append(change)
                    planned.append((change, item))
            if errors or not apply:
                return PlanImport(changes, errors, applied=False)
            for change, item in planned:
                if change.action == "add":
                    item_id = await uow.content.add(item)
                    await self._transition(uow, item_id, None, item.state, "import", None)
                else:
                    old = await uow.content.get(item.id)
                    await uow.content.save(item)
                    await self._transition(
                        uow,
                        item.id,
                        old.state if old else None,
                        item.state,
                        "import",
                        None,
                        change.detail,
                    )
            await uow.commit()
        return PlanImport(changes, errors, applied=True)

    async def _plan_change(
        self, uow: UnitOfWork, row: PlanRow, now: datetime, zones: dict[int, str]
    ) -> tuple[PlanChange | None, ContentItem | None]:
        chat_id = _int_field(row.chat, "chat")
        if chat_id not in zones:
            zones[chat_id] = await self._timezone(uow, chat_id)
        tz = zones[chat_id]
        kind = (
            ContentKind(row.kind.strip().lower() or "organic")
            if row.kind.strip()
            else ContentKind.ORGANIC
        )
        quiet = _quiet(await uow.content.settings(chat_id))
        if not row.id.strip():
            if not row.text.strip():
                raise ContentError("The post needs a text.")
            rule, planned = self._when(row.when, now, tz)
            added = ContentItem(
                id=0,
                chat_id=chat_id,
                state=ContentState.SCHEDULED,
                kind=kind,
                title=row.title.strip()[:MAX_TITLE] or _title(row.text),
                body=ContentBody(row.text),
                rule=rule,
                planned_at=planned,
                due_at=after_quiet(planned, quiet, tz),
                created_at=now,
            )
            return PlanChange("add", None, chat_id, f"{row.when} · {added.title}"), added
        item_id = _int_field(row.id, "id")
        item = await uow.content.get(item_id)
        if item is None or item.chat_id != chat_id:
            raise ContentError("There is no item {item}.", item=item_id)
        if row.state.strip().lower() == ContentState.CANCELLED.value:
            if item.state is ContentState.CANCELLED:
                return None, None
            step(item.state, ContentAction.CANCEL)
            new = replace(item, state=ContentState.CANCELLED, due_at=None)
            return PlanChange("cancel", item_id, chat_id, item.title), new
        details = []
        new = item
        if kind is not item.kind:
            new = replace(new, kind=kind)
            details.append(f"kind {item.kind.value} → {kind.value}")
        text = row.text
        if item.body is None or text != item.body.text:
            if item.state in (ContentState.PUBLISHED, ContentState.MEASURED, ContentState.REVIEWED):
                raise ContentError(
                    "Item {item} is published; its text can no longer change.", item=item_id
                )
            if not text.strip():
                raise ContentError("The post needs a text.")
            new = replace(new, body=ContentBody(text))
            details.append("text")
        if row.title.strip() and row.title.strip() != item.title:
            new = replace(new, title=row.title.strip()[:MAX_TITLE])
            details.append("title")
        current = await self._export_when(item, tz)
        if row.when.strip() != current:
            new_state = step(item.state, ContentAction.SCHEDULE)
            rule, planned = self._when(row.when, now, tz)
            new = replace(
                new,
                state=new_state,
                rule=rule,
                planned_at=planned,
                due_at=after_quiet(planned, quiet, tz),
            )
            details.append(f"when {current or '—'} → {row.when.strip()}")
        if not details:
            return None, None
        return PlanChange("change", item_id, chat_id, ", ".join(details)), new

    def _when(self, text: str, now: datetime, tz: str) -> tuple[str | None, datetime]:
        parsed = parse_when(text, now, tz, self._next_run)
        if isinstance(parsed, Every):
            return parsed.rule.text(), parsed.first
        return None, parsed.at

    async def _export_when(self, item: ContentItem, tz: str) -> str:
        if item.rule is not None:
            return item.rule
        if item.planned_at is not None:
            return f"{item.planned_at.astimezone(zone(tz)):%Y-%m-%d %H:%M}"
        return ""

    # --- publish ------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Publish (or defer, or mark missed) every item due now; return how many were taken."""
        async with self._due_lock:
            now = self._clock.now()
            async with self._uow_factory() as uow:
                items = await uow.content.due(now, DUE_BATCH)
            taken = 0
            context: dict[int, tuple[str, QuietHours | None, timedelta]] = {}
            for item in items:
                if item.chat_id not in context:
                    context[item.chat_id] = await self._context(item.chat_id)
                try:
                    taken += await self._take(item, now, *context[item.chat_id])
                except Exception:
                    log.exception("content item %s could not be published", item.id)
            return taken

    async def drain(self) -> None:
        """Wait for the sends started by `run_due` (tests, the benchmark, a stop)."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def _take(
        self, item: ContentItem, now: datetime, tz: str, quiet: QuietHours | None, grace: timedelta
    ) -> int:
        assert item.planned_at is not None and item.due_at is not None
        planned, recurring = item.planned_at, item.rule is not None
        key = occurrence_key(item.id, planned)
        if now - item.due_at > grace:
            return await self._miss(item, now, tz, quiet, key)
        if item.kind is ContentKind.PROMO:
            budget = self._budget()
            if budget is not None:
                reservation = await budget.reserve(item.chat_id, key)
                if not reservation.granted:
                    return await self._defer(item, now, tz, quiet, reservation.at)
        arm = arm_for(item.id, item.posts) if item.experiment else None
        body = item.variant if arm == 1 and item.variant is not None else item.body
        if body is None:
            log.warning("content item %s is due without a body; cancelled", item.id)
            await self._act(item.id, ContentAction.CANCEL, None, due=None)
            return 0
        method, params = render_post(body, item.chat_id, item.thread_id)
        async with self._uow_factory() as uow:
            advanced = self._advanced(item, now, tz, quiet, after=planned)
            if not await uow.content.claim(advanced, item):
                return 0
            fresh = await uow.content.add_post(
                ContentPost(
                    id=0,
                    item_id=item.id,
                    chat_id=item.chat_id,
                    key=key,
                    planned_at=planned,
                    state="sending",
                    arm=arm,
                    arm_label=_arm_label(item, arm),
                    next_measure_at=now + SENDING_CHECK,
                )
            )
            if not fresh:
                return 0  # the occurrence was taken before (the row is keyed by it)
            await uow.outbox.add(key, item.chat_id, method, params, int(Priority.CONTENT), now)
            await uow.commit()
        self.metrics.lag.append((now - item.due_at).total_seconds())
        del self.metrics.lag[:-LAG_KEPT]
        task = asyncio.create_task(self._send(item, key, method, params, recurring))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return 1

    async def _send(
        self, item: ContentItem, key: str, method: str, params: dict[str, Any], recurring: bool
    ) -> None:
        try:
            outcome = await self._sender.send_durable(key, item.chat_id, method, params)
            if outcome.ok:
                await self._settle(key, self._clock.now(), outcome.message_id, None)
            elif outcome.reason not in _LATER:
                await self._settle(key, None, None, (outcome.reason or "failed").__str__())
        except Exception:
            log.exception("content post %s: its outcome could not be noted", key)

    async def _settle(
        self, key: str, sent_at: datetime | None, message_id: int | None, failure: str | None
    ) -> None:
        """Note a sent (or failed) occurrence on its post and, for a one-off, on its item."""
        async with self._settle_lock, self._uow_factory() as uow:
            post = next((p for p in await self._posts_by_key(uow, key)), None)
            if post is None or post.state != "sending":
                return
            item = await uow.content.get(post.item_id)
            if failure is None:
                at = sent_at or self._clock.now()
                post = replace(
                    post,
                    state="published",
                    published_at=at,
                    message_id=message_id,
                    next_measure_at=at + MEASURE_AFTER[0],
                )
                action, label = ContentAction.PUBLISH, "publish"
                self.metrics.published += 1
            else:
                post = replace(post, state="failed", next_measure_at=None)
                action, label = ContentAction.FAIL, "fail"
                self.metrics.failed += 1
            await uow.content.save_post(post)
            told = None
            if item is not None:
                recurring = item.rule is not None
                old = item.state
                if not recurring and old is ContentState.SCHEDULED and item.due_at is None:
                    new = step(old, action)
                    await uow.content.save(replace(item, state=new))
                else:
                    new = old
                await self._transition(uow, item.id, old, new, label, None, failure or "")
                if failure is not None:
                    told = item
            await uow.commit()
        if told is not None and failure is not None:
            await self._tell(told, self._wording.failed(told, failure, told.locale))

    async def _posts_by_key(self, uow: UnitOfWork, key: str) -> list[ContentPost]:
        item_id = int(key.split(":")[1])
        return [p for p in await uow.content.posts(item_id) if p.key == key]

    async def _miss(
        self, item: ContentItem, now: datetime, tz: str, quiet: QuietHours | None, key: str
    ) -> int:
        assert item.planned_at is not None
        planned = item.planned_at
        async with self._uow_factory() as uow:
            advanced = self._advanced(item, now, tz, quiet, after=now)
            if item.rule is None:
                advanced = replace(advanced, state=ContentState.MISSED)
            if not await uow.content.claim(advanced, item):
                return 0
            await uow.content.add_post(
                ContentPost(0, item.id, item.chat_id, key, planned, state="missed")
            )
            await self._transition(uow, item.id, item.state, advanced.state, "miss", None)
            await uow.commit()
        self.metrics.missed += 1
        await self._tell(item, self._wording.missed(item, planned, tz, item.locale))
        return 1

    async def _defer(
        self, item: ContentItem, now: datetime, tz: str, quiet: QuietHours | None, fits: datetime
    ) -> int:
        assert item.planned_at is not None
        at = after_quiet(max(fits, now + timedelta(seconds=1)), quiet, tz)
        new = step(item.state, ContentAction.DEFER)
        async with self._uow_factory() as uow:
            if not await uow.content.claim(replace(item, state=new, due_at=at), item):
                return 0
            await self._transition(uow, item.id, item.state, new, "defer", None, at.isoformat())
            await uow.commit()
        self.metrics.deferred += 1
        await self._tell(item, self._wording.deferred(item, at, tz, item.locale))
        return 1

    def _advanced(
        self, item: ContentItem, now: datetime, tz: str, quiet: QuietHours | None, after: datetime
    ) -> ContentItem:
        """The item past its current occurrence: its next one (recurring), or out of the due
        index (one-off: the post's outcome sets its state)."""
        if item.rule is None:
            return replace(item, state=ContentState.SCHEDULED, due_at=None, posts=item.posts + 1)
        moved = replace(item, posts=item.posts + 1)
        planned = self._next_planned(moved, max(after, now), tz)
        if planned is None:
            return replace(moved, state=ContentState.SCHEDULED, due_at=None, planned_at=None)
        return replace(
            moved,
            state=ContentState.SCHEDULED,
            planned_at=planned,
            due_at=after_quiet(planned, quiet, tz),
        )

    def _next_planned(self, item: ContentItem, after: datetime, tz: str) -> datetime | None:
        """A recurring item's next run after `after`; an experiment on slots takes its arm's
        time, on a day after the last post's (one post a day)."""
        assert item.rule is not None
        rule = _rule_of(item.rule)
        if item.experiment == ExperimentKind.SLOTS.value and item.slots:
            arm = arm_for(item.id, item.posts)
            slot = parse_clock(item.slots[arm])
            if item.planned_at is not None and item.planned_at <= after:
                local = item.planned_at.astimezone(zone(tz))
                day_end = local_instant(local.date() + timedelta(days=1), time(0, 0), zone(tz))
                after = max(after, day_end - timedelta(microseconds=1))
            return self._next_run(rule.at(slot.hour, slot.minute), after, tz)
        return self._next_run(rule, after, tz)

    # --- measure ------------------------------------------------------------------------------

    async def run_measures(self) -> int:
        """Take the 1 h, 6 h and 24 h measures that are due; note sends whose id was not."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            posts = await uow.content.to_measure(now, MEASURE_BATCH)
        done = 0
        for post in posts:
            if post.state == "sending":
                async with self._uow_factory() as uow:
                    sent_at, message_id, failed = await uow.content.outbox_result(post.key)
                if sent_at is not None:
                    await self._settle(post.key, sent_at, message_id, None)
                elif failed is not None:
                    await self._settle(post.key, None, None, failed)
                else:
                    async with self._uow_factory() as uow:
                        later = replace(post, next_measure_at=now + SENDING_CHECK)
                        await uow.content.save_post(later)
                        await uow.commit()
                continue
            done += await self._measure(post, now)
        return done

    async def _measure(self, post: ContentPost, now: datetime) -> int:
        if post.published_at is None:
            return 0
        measures = dict(post.measures)
        async with self._uow_factory() as uow:
            for label, after in HORIZONS.items():
                if label in measures or post.published_at + after > now:
                    continue
                measures[label] = await self._figures(uow, post, after)
            pending = [post.published_at + a for lbl, a in HORIZONS.items() if lbl not in measures]
            done = not pending
            new = replace(
                post,
                measures=measures,
                next_measure_at=min(pending) if pending else None,
                state="measured" if done and post.state == "published" else post.state,
            )
            await uow.content.save_post(new)
            if done:
                item = await uow.content.get(post.item_id)
                if item is not None and item.rule is None and item.state is ContentState.PUBLISHED:
                    await uow.content.save(replace(item, state=ContentState.MEASURED))
                    await self._transition(
                        uow, item.id, item.state, ContentState.MEASURED, "measure", None
                    )
            await uow.commit()
        self.metrics.measured += 1
        return 1

    async def _figures(
        self, uow: UnitOfWork, post: ContentPost, after: timedelta
    ) -> dict[str, float | None]:
        assert post.published_at is not None
        # Telegram dates messages to the second: a reply in the same second as the post counts.
        start = post.published_at.replace(microsecond=0)
        end = post.published_at + after
        counts = (
            await uow.content.responses_to(post.chat_id, post.message_id, start, end)
            if post.message_id is not None
            else None
        )
        messages, leaves = await uow.content.group_hours(post.chat_id, start, end)
        before = []
        for week in range(1, COMPARABLE_WEEKS + 1):
            back = timedelta(days=7 * week)
            before.append(
                (await uow.content.group_hours(post.chat_id, start - back, end - back))[0]
            )
        baseline = statistics.fmean(before) if before else 0.0
        return {
            "replies": counts.replies if counts else 0,
            "reactions": counts.reactions if counts else 0,
            "responders": counts.responders if counts else 0,
            "messages": messages,
            "baseline": round(baseline, 2),
            "lift": round(messages / baseline, 2) if baseline > 0 else None,
            "leaves": leaves,
        }

    # --- check and act ------------------------------------------------------------------------

    async def review(self, item_id: int, by: int | None) -> Review:
        """The item's latest published post next to the group's typical post (medians over
        its other measured posts of 90 days); marks the post (and a one-off item) reviewed."""
        item = await self._item(item_id)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            posts = [p for p in await uow.content.posts(item_id) if p.published_at is not None]
            post = posts[-1] if posts else None
            others = [
                p
                for p in await uow.content.posts_in(item.chat_id, now - TYPICAL_OVER, now)
                if p.published_at is not None and p.measures and (post is None or p.key != post.key)
            ]
            typical: dict[str, dict[str, float | None]] = {}
            for label in HORIZONS:
                have = [p.measures[label] for p in others if label in p.measures]
                if not have:
                    continue
                typical[label] = {
                    name: _median([m.get(name) for m in have])
                    for name in ("replies", "reactions", "responders", "messages", "lift", "leaves")
                }
            if post is not None and post.state in ("published", "measured"):
                await uow.content.save_post(replace(post, state="reviewed"))
                if item.rule is None and item.state in (
                    ContentState.PUBLISHED,
                    ContentState.MEASURED,
                ):
                    new = step(item.state, ContentAction.REVIEW)
                    await uow.content.save(replace(item, state=new))
                    await self._transition(uow, item.id, item.state, new, "review", by)
                    item = replace(item, state=new)
            await uow.commit()
        return Review(item, post, typical, len(others))

    async def start_experiment(
        self, item_id: int, kind: ExperimentKind, slots: Sequence[str], by: int | None
    ) -> ContentItem:
        """Slots: alternate a recurring item between two times. Variants: alternate its text
        with a second one (the operator's next message)."""
        item = await self._item(item_id)
        if item.state in CLOSED:
            raise ContentError("Item {item} is closed.", item=item_id)
        if kind is ExperimentKind.SLOTS:
            if len(slots) != 2:
                raise ContentError(
                    "Give two times: /experiment slots {item} 08:00 20:00.", item=item_id
                )
            times = [parse_clock(s) for s in slots]
            if times[0] == times[1]:
                raise ContentError("The two slots must differ.")
            if item.rule is None:
                raise ContentError(
                    "Slots alternate a recurring item: schedule it first, like "
                    "/schedule {item} daily 08:00.",
                    item=item_id,
                )
            new = replace(item, experiment=kind.value, slots=tuple(f"{t:%H:%M}" for t in times))
            async with self._uow_factory() as uow:
                tz = await self._timezone(uow, item.chat_id)
                quiet = _quiet(await uow.content.settings(item.chat_id))
                planned = self._next_planned(replace(new, planned_at=None), self._clock.now(), tz)
                new = replace(
                    new,
                    planned_at=planned,
                    due_at=after_quiet(planned, quiet, tz) if planned else None,
                )
                if item.state not in (ContentState.SCHEDULED, ContentState.DEFERRED):
                    new = replace(new, due_at=item.due_at, planned_at=item.planned_at)
                await uow.content.save(new)
                await uow.commit()
            return new
        await self.set_focus(by or 0, item.chat_id, -item_id)
        return item

    async def experiment(self, item_id: int) -> ExperimentReport:
        """The experiment's arms compared on responses (replies + reactions) within 24 h."""
        item = await self._item(item_id)
        if not item.experiment:
            raise ContentError(
                "Item {item} runs no experiment: /experiment slots {item} 08:00 20:00 or "
                "/experiment variants {item}.",
                item=item_id,
            )
        posts = await self.posts(item_id)
        return self._report(item, posts)

    def _report(self, item: ContentItem, posts: Sequence[ContentPost]) -> ExperimentReport:
        labels = _labels(item)
        arms: tuple[list[float], list[float]] = ([], [])
        for post in posts:
            figures = post.measures.get(EXPERIMENT_MEASURE)
            if post.arm in (0, 1) and figures is not None:
                arms[post.arm or 0].append(
                    float((figures["replies"] or 0) + (figures["reactions"] or 0))
                )
        comparison = self._compare(arms[0], arms[1], labels, item.id)
        return ExperimentReport(
            item,
            item.experiment or "",
            labels,
            (tuple(arms[0]), tuple(arms[1])),
            verdict(comparison, (len(arms[0]), len(arms[1]))),
        )

    async def weekly_summary(self, chat_id: int, since: datetime, until: datetime) -> WeeklySummary:
        """What went out in [since, until), what worked and what to try next, as plain data
        for the weekly digest (issue 12) to render."""
        async with self._uow_factory() as uow:
            posts = await uow.content.posts_in(chat_id, since, until)
            items = {i.id: i for i in await uow.content.items(chat_id)}
        summaries = []
        for post in posts:
            item = items.get(post.item_id)
            day = post.measures.get("24h") or post.measures.get("6h") or post.measures.get("1h")
            summaries.append(
                PostSummary(
                    item_id=post.item_id,
                    title=item.title if item else "",
                    kind=item.kind.value if item else "",
                    planned_at=post.planned_at,
                    state=post.state,
                    responses=None
                    if day is None
                    else int((day["replies"] or 0) + (day["reactions"] or 0)),
                    responders=None if day is None else int(day["responders"] or 0),
                    lift=None if day is None else day.get("lift"),
                    arm_label=post.arm_label,
                )
            )
        measured = [s for s in summaries if s.responses is not None]
        best = max(measured, key=lambda s: (s.responses or 0, s.lift or 0), default=None)
        reports = []
        for item in items.values():
            if item.experiment and item.state not in CLOSED:
                reports.append(self._report(item, await self.posts(item.id)))
        suggestions = []
        for report in reports:
            suggestions.append("keep_winner" if report.verdict.recommended else "more_posts")
        if not reports and any(i.rule for i in items.values()):
            suggestions.append("try_slots")
        if any(s.state == "missed" for s in summaries):
            suggestions.append("check_missed")
        deferred = sum(1 for i in items.values() if i.state is ContentState.DEFERRED)
        return WeeklySummary(chat_id, since, until, summaries, deferred, best, reports, suggestions)

    # --- parts --------------------------------------------------------------------------------

    async def _create(self, item: ContentItem, by: int | None, note: str) -> ContentItem:
        async with self._uow_factory() as uow:
            item_id = await uow.content.add(item)
            await self._transition(uow, item_id, None, item.state, note, by)
            await uow.commit()
        return replace(item, id=item_id)

    async def _item(self, item_id: int) -> ContentItem:
        async with self._uow_factory() as uow:
            item = await uow.content.get(item_id)
        if item is None:
            raise ContentError("There is no item {item}.", item=item_id)
        return item

    _UNSET: Any = object()

    async def _act(
        self,
        item_id: int,
        action: ContentAction,
        by: int | None,
        *,
        due: datetime | Any | None = _UNSET,
        planned: datetime | Any | None = _UNSET,
        rule: str | Any | None = _UNSET,
        note: str = "",
    ) -> ContentItem:
        async with self._uow_factory() as uow:
            item = await uow.content.get(item_id)
            if item is None:
                raise ContentError("There is no item {item}.", item=item_id)
            new_state = step(item.state, action, recurring=item.rule is not None)
            new = replace(item, state=new_state)
            if due is not self._UNSET:
                new = replace(new, due_at=due)
            if planned is not self._UNSET:
                new = replace(new, planned_at=planned)
            if rule is not self._UNSET:
                new = replace(new, rule=rule)
            await uow.content.save(new)
            await self._transition(uow, item_id, item.state, new_state, action.value, by, note)
            await uow.commit()
        return new

    async def _transition(
        self,
        uow: UnitOfWork,
        item_id: int,
        old: ContentState | None,
        new: ContentState,
        action: str,
        by: int | None,
        note: str = "",
    ) -> None:
        await uow.content.record(
            ContentTransition(item_id, old, new, action, by, self._clock.now(), note[:500])
        )

    async def _context(self, chat_id: int) -> tuple[str, QuietHours | None, timedelta]:
        async with self._uow_factory() as uow:
            tz = await self._timezone(uow, chat_id)
            settings = await uow.content.settings(chat_id)
        grace = timedelta(seconds=settings.grace_seconds) if settings.grace_seconds else self._grace
        return tz, _quiet(settings), grace

    async def _timezone(self, uow: UnitOfWork, chat_id: int) -> str:
        group = await uow.groups.get(chat_id)
        return (group.timezone if group else None) or self._default_timezone

    async def _tell(self, item: ContentItem, text: str) -> None:
        """Tell the item's owner in private (the ops chat for an item added from the CLI)."""
        target = item.owner_id or self._ops_chat_id
        if target is None:
            log.info("content item %s: %s (no one to tell)", item.id, text)
            return
        await self._gateway.send_message(target, text, priority=Priority.REPLY)


def render_post(
    body: ContentBody, chat_id: int, thread_id: int | None
) -> tuple[str, dict[str, Any]]:
    """The Bot API call that shows `body` in a chat exactly as members will see it."""
    params: dict[str, Any] = {"chat_id": chat_id}
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    if body.buttons:
        params["reply_markup"] = {
            "inline_keyboard": [[{"text": label, "url": url}] for label, url in body.buttons]
        }
    if body.media_kind in ("photo", "document") and body.media_file_id:
        params[body.media_kind] = body.media_file_id
        if body.text:
            params["caption"] = body.text
            if body.entities:
                params["caption_entities"] = list(body.entities)
        method = "sendPhoto" if body.media_kind == "photo" else "sendDocument"
        return method, params
    params["text"] = body.text
    if body.entities:
        params["entities"] = list(body.entities)
    return "sendMessage", params


def _int_field(value: str, name: str) -> int:
    text = value.strip()
    body = text[1:] if text.startswith("-") else text
    if not (body.isascii() and body.isdecimal() and len(body) <= 20):
        raise ContentError("“{value}” is not a {name} id.", value=value, name=name)
    return int(text)


def _problem(error: Exception) -> str:
    if isinstance(error, StepRefused):
        return error.refusal.reason
    if isinstance(error, ContentError):
        return str(error)
    if isinstance(error, WhenError):
        return str(error)
    return f"not a kind (organic, announcement, promo): {error}"


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:MAX_TITLE]


def _quiet(settings: ContentSettings) -> QuietHours | None:
    if settings.quiet_start is None or settings.quiet_end is None:
        return None
    return QuietHours(parse_clock(settings.quiet_start), parse_clock(settings.quiet_end))


def _rule_of(text: str) -> Rule:
    parsed = parse_when(text, datetime(2000, 1, 1, tzinfo=UTC), "UTC", lambda r, a, z: a)
    if not isinstance(parsed, Every):
        raise WhenError("“{rule}” is not a rule.", {"rule": text})
    return parsed.rule


def _labels(item: ContentItem) -> tuple[str, str]:
    if item.experiment == ExperimentKind.SLOTS.value and len(item.slots) == 2:
        return item.slots[0], item.slots[1]
    return "A", "B"


def _arm_label(item: ContentItem, arm: int | None) -> str | None:
    return None if arm is None else _labels(item)[arm]


def _median(values: Sequence[float | None]) -> float | None:
    have = [v for v in values if v is not None]
    return float(statistics.median(have)) if have else None
