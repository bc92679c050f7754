"""The composition root: the only place that builds the engine, the Bot, delivery and routers."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiohttp import web

from bot.clock import SystemClock
from bot.config import Settings, SettingsError
from bot.delivery import Delivery
from bot.delivery.gateway import DEFAULT_LIMITS
from bot.delivery.limits import DeliveryLimits
from bot.domain.rate import CommandRate
from bot.domain.rights import needed_rights
from bot.features import (
    Feature,
    FeatureFactory,
    MenuEntry,
    Runtime,
    composed_writes,
    merged_services,
)
from bot.ports import Clock, FailureReason, Priority
from bot.preflight import webhook_port_error
from bot.scheduler import Ticker
from bot.services.admins import AdminDirectory
from bot.services.decisions import DecisionApplier
from bot.services.engagement import EngagementRecorder
from bot.services.health import GroupHealthReport, HealthReport
from bot.services.ops_notices import READINESS, OpsNotices
from bot.services.readiness import ReadinessService
from bot.services.stats import StatsService
from bot.services.watching import WatchPipeline
from handlers import commands, membership, render
from handlers.features import FEATURES
from handlers.i18n import SUPPORTED, gettext, pick_locale
from handlers.intake import UpdateIntake
from handlers.polling import UpdatePoller
from handlers.transport import AiogramTransport
from handlers.webhook import webhook_app
from storage.engine import (
    SQLITE_CHECKPOINT_SECONDS,
    checkpoint,
    create_engine,
    scrub,
    session_factory,
)
from storage.errors import is_transient
from storage.migrate import is_up_to_date, upgrade_to_head
from storage.sqlite_ingest import SqliteIngestStore
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)

# The updates the intake records (and watchers judge), whether or not a router acts on them;
# Telegram sends chat_member and the reaction updates only when asked by name.
RECORDED_UPDATES = (
    "message",
    "edited_message",
    "chat_member",
    "message_reaction",
    "message_reaction_count",
)


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is, from getMe."""

    id: int
    username: str
    reads_all_group_messages: bool


def build_dispatcher(features: Sequence[Feature]) -> Dispatcher:
    """A dispatcher with the membership handlers and every feature's command routers."""
    # No FSM: no feature keeps per-user conversation state, and its middleware costs every update.
    dispatcher = Dispatcher(disable_fsm=True)
    # Membership handlers sit on the dispatcher itself: every router level an update passes
    # costs aiogram's middleware chain.
    membership.register(dispatcher)
    dispatcher.include_router(
        commands.router([make for feature in features for make in feature.routers])
    )
    dispatcher.include_routers(*(make() for feature in features for make in feature.chat_routers))
    return dispatcher


def allowed_updates(dispatcher: Dispatcher) -> list[str]:
    """What to ask Telegram for: what the intake records and what some router handles."""
    return sorted(set(dispatcher.resolve_used_update_types()) | set(RECORDED_UPDATES))


def menus(features: Sequence[Feature]) -> list[dict[str, Any]]:
    """setMyCommands calls for each scope, in English and in each translated language."""
    by_scope: dict[str, list[MenuEntry]] = {}
    for feature in features:
        for entry in feature.menu:
            by_scope.setdefault(entry.scope, []).append(entry)
    calls = []
    for scope, entries in by_scope.items():
        for locale in SUPPORTED:
            params: dict[str, Any] = {
                "commands": [
                    {"command": e.command, "description": gettext(locale, e.description)}
                    for e in entries
                ],
                "scope": {"type": scope},
            }
            if locale != "en":
                params["language_code"] = locale.split("_")[0]
            calls.append(params)
    return calls


async def prepare_database(settings: Settings) -> None:
    """Migrate a database that is behind when allowed to; refuse to run on it otherwise."""
    if await is_up_to_date(settings.database_url):
        return
    if not settings.migrates_itself:
        raise SettingsError(
            "DATABASE_URL points at a database that is behind: run `groupops migrate` first "
            "(or set AUTO_MIGRATE=true)"
        )
    log.info("migrating the database to the latest schema")
    await upgrade_to_head(settings.database_url)


# How long the event loop may keep the interpreter lock while another thread waits for it. The
# SQLite ingest store's thread needs it for a moment between statements; at Python's default of
# 5 ms it waited out each burst of updates the intake took, and writes barely overlapped the
# intake (ingest benchmark, alternating runs: 7,800 updates a second at 0.5 ms against 6,700 at
# 5 ms). 1 ms keeps most of that and less of the cost to the loop's own latency (per-update p99
# 0.6-0.7 ms at 1 ms, 0.8 ms at 0.5 ms, 0.45-0.56 ms at 5 ms).
GIL_SWITCH_SECONDS = 0.001


class GroupOps:
    """The running bot: storage, delivery, recorder and routers, wired once."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        features: Sequence[FeatureFactory] = FEATURES,
        *,
        limits: DeliveryLimits = DEFAULT_LIMITS,
    ) -> None:
        """`clock` and `limits` are for simulator runs whose time passes faster than a day's."""
        self.settings = settings
        self.clock = clock or SystemClock()
        token = settings.require_token()
        api = (
            PRODUCTION
            if settings.telegram_api_base.rstrip("/") == "https://api.telegram.org"
            else TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
        )
        self.bot = Bot(token, session=AiohttpSession(api=api))
        self.engine = create_engine(settings.database_url)
        self.uow_factory = SqlUnitOfWorkFactory(session_factory(self.engine))
        self.delivery = Delivery(
            AiogramTransport(self.bot),
            on_refusal=self._tell_ops,
            uow_factory=self.uow_factory,
            wall_clock=self.clock,
            limits=limits,
        )
        self._switch_interval: float | None = None  # the interpreter's, restored at stop
        # SQLite: the recorder's batches go in one call to a thread of their own.
        self.ingest_store = (
            SqliteIngestStore(self.engine, self.uow_factory.profiles)
            if SqliteIngestStore.available(self.engine)
            else None
        )
        self.recorder = EngagementRecorder(
            self.uow_factory,
            self.clock,
            batch_size=settings.ingest_batch_size,
            flush_interval=settings.ingest_flush_ms / 1000,
            max_buffer=settings.ingest_queue_size,
            transient=is_transient,
            store=self.ingest_store,
        )
        self.admins = AdminDirectory(self.delivery, self.clock, settings.admin_cache_seconds)
        runtime = Runtime(
            settings,
            self.clock,
            self.uow_factory,
            self.delivery,
            self.recorder,
            self.admins,
            partial(scrub, self.engine),
        )
        self.features = [make(runtime) for make in features]
        # The admin rights the features declare: what readiness asks a group for.
        self.rights = needed_rights(right for feature in self.features for right in feature.rights)
        self.services = merged_services(self.features)
        runtime.services.update(self.services)
        self.ticker = Ticker()
        for feature in self.features:
            for tick in feature.ticks:
                self.ticker.every(tick.every, tick.job, name=tick.name)
        self.ticker.every(timedelta(hours=6), self.recorder.forget_handled, name="seen-updates")
        if self.engine.dialect.name == "sqlite":
            self.ticker.every(
                timedelta(seconds=SQLITE_CHECKPOINT_SECONDS),
                partial(checkpoint, self.engine),
                name="sqlite-checkpoint",
            )
        self.pipeline = WatchPipeline(
            [watcher for feature in self.features for watcher in feature.watchers],
            self.recorder,
            max_pending=settings.ingest_queue_size,
        )
        self.applier = DecisionApplier(
            self.delivery,
            self.uow_factory,
            {name: act for feature in self.features for name, act in feature.actions.items()},
        )
        self.recorder.on_decided = self.applier.apply_soon
        self.recorder.writes = composed_writes(self.features)
        self.dispatcher = build_dispatcher(self.features)
        self.intake = UpdateIntake(self.bot, self.dispatcher, self.recorder, self.pipeline)
        self.identity: BotIdentity | None = None
        self.readiness: ReadinessService
        self._group_stats = StatsService(self.uow_factory, self.clock, settings.default_timezone)

    async def start(self) -> BotIdentity:
        """Learn who the bot is, migrate if needed, start delivery and the recorder."""
        self.ops_notices = OpsNotices(self.uow_factory)
        await self.delivery.start()
        # getMe first: a refused token must not have created or migrated a database.
        me = await self.delivery.call("getMe", {}, priority=Priority.MODERATION)
        if not me.ok:
            await self.delivery.stop(drain=False)
            raise SettingsError(f"BOT_TOKEN was refused by Telegram: {me.detail or me.reason}")
        result: dict[str, Any] = me.result
        self.identity = BotIdentity(
            id=int(result["id"]),
            username=str(result.get("username", "")),
            reads_all_group_messages=bool(result.get("can_read_all_group_messages", False)),
        )
        # For links that open the private chat with the bot (t.me/<username>?start=…).
        self.dispatcher.workflow_data["bot_username"] = self.identity.username
        await prepare_database(self.settings)
        await self.delivery.resume_pending()
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        await self.recorder.start()
        self.readiness = ReadinessService(
            self.delivery,
            self.uow_factory,
            self.identity.id,
            self.identity.reads_all_group_messages,
            self.rights,
        )
        self.dispatcher.workflow_data.update(
            self.services,
            gateway=self.delivery,
            recorder=self.recorder,
            intake=self.intake,
            admins=self.admins,
            readiness=self.readiness,
            ops_chat_id=self.settings.ops_chat_id,
            health=self.health,
            group_health=self.group_health,
            clock=self.clock,
            command_rate=CommandRate(limit=self.settings.commands_per_minute),
        )
        await self.applier.start()
        for menu in menus(self.features):
            await self.delivery.call("setMyCommands", menu)
        if not self.identity.reads_all_group_messages:
            log.warning(
                "@%s has privacy mode on: in groups where it is not an admin it sees only "
                "commands. Make it an admin, or send /setprivacy to @BotFather and Disable.",
                self.identity.username,
            )
        await self._report_known_groups()
        for feature in self.features:
            for job in feature.on_start:
                await job()
        self.ticker.start()
        log.info("started as @%s (id %s)", self.identity.username, self.identity.id)
        return self.identity

    def health(self) -> HealthReport:
        """Ingest and delivery counters for /health."""
        delivery = self.delivery.metrics()
        recorder = self.recorder.metrics
        return HealthReport(
            updates_accepted=self.intake.accepted,
            updates_skipped=self.intake.skipped,
            events_written=recorder.written,
            events_duplicate=recorder.duplicates,
            events_buffered=recorder.recorded - recorder.written - recorder.duplicates,
            failed_flushes=recorder.failed_flushes,
            queued=delivery.queued,
            sent=delivery.sent,
            retried=delivery.retried,
            shed=delivery.shed,
            failed=delivery.failed,
            longest_wait=max(delivery.waits.values(), default=0.0),
            closed_chats=len(delivery.closed_chats),
            judged=self.pipeline.metrics.judged,
            judging=self.pipeline.pending,
            judge_lag=self.pipeline.lag(),
            watcher_errors=self.pipeline.metrics.errors,
            decisions=self.pipeline.metrics.decisions,
            lines=tuple(
                (line.label, line.value()) for feature in self.features for line in feature.health
            ),
        )

    async def group_health(self, chat_id: int, locale: str) -> GroupHealthReport:
        """One group's figures for /health there: its messages, its replies and messages
        waiting, what the bot lacks there, and each feature's line about it."""
        await self.recorder.durable()  # count what was received up to now
        report = await self._group_stats.group_report(chat_id)
        windows = dict(report.windows)
        backlog = self.delivery.backlog(chat_id)
        judging, judge_lag = self.pipeline.waiting_in(chat_id)
        lines = []
        for feature in self.features:
            for line in feature.group_health:
                text = await line.line(chat_id, locale)
                if text:
                    lines.append(text)
        return GroupHealthReport(
            messages_today=windows[1].messages if 1 in windows else 0,
            messages_week=windows[7].messages if 7 in windows else 0,
            replies_waiting=backlog.queued,
            reply_wait=backlog.wait,
            judging=judging,
            judge_lag=judge_lag,
            standing=await self.readiness.standing(chat_id),
            lines=tuple(lines),
        )

    async def _report_known_groups(self) -> None:
        """At start-up, tell the ops chat what the bot lacks in the groups it already serves
        (what it has not heard yet; the ops chat itself is not a community to check)."""
        ops = self.settings.ops_chat_id
        skip = () if ops is None else (ops,)
        for group, report in await self.readiness.check_known_groups(skip):
            if ops is not None:
                text = render.readiness(report, group.title, pick_locale(group.language))
                sent = await self.delivery.send_message(ops, text, priority=Priority.REPLY)
                if not sent.ok:
                    await self.ops_notices.untold(group.chat_id, READINESS)

    async def stop(self) -> None:
        """Finish handlers, write buffered events, drain delivery, close connections.

        Each step is bounded, so SIGTERM finishes within 10 s whatever hangs: handlers 3 s,
        the writer 3 s (unwritten events were never confirmed), decisions 1 s (kept in their
        table), delivery 3 s (durable sends stay in the outbox; other replies are dropped).
        """
        await self.ticker.stop()
        await self.intake.drain(within=3)
        await self.recorder.stop(within=3)
        if self.ingest_store is not None:
            await self.ingest_store.close()
        await self.applier.stop(within=1)
        await self.delivery.stop(drain=True, drain_timeout=3)
        await self.bot.session.close()
        await self.engine.dispose()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    async def run_polling(self, stopping: asyncio.Event) -> None:
        """Long-poll until `stopping` is set."""
        await self.delivery.call("deleteWebhook", {"drop_pending_updates": False})
        poller = UpdatePoller(self.bot, self.intake, allowed_updates(self.dispatcher))
        task = asyncio.create_task(poller.run())
        stop_waiter = asyncio.create_task(stopping.wait())
        await asyncio.wait({task, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
        poller.stop()
        stop_waiter.cancel()
        await task  # re-raises a fatal polling error

    async def run_webhook(self, stopping: asyncio.Event) -> None:
        """Serve the webhook until `stopping` is set."""
        settings = self.settings
        secret = settings.webhook_secret.get_secret_value()
        if not settings.webhook_url or not secret:
            raise SettingsError("WEBHOOK_URL and WEBHOOK_SECRET must both be set for --webhook")
        runner = web.AppRunner(webhook_app(self.intake, settings.webhook_path, secret))
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise webhook_port_error(settings, exc) from exc
        outcome = await self.delivery.call(
            "setWebhook",
            {
                "url": settings.webhook_url,
                "secret_token": secret,
                "allowed_updates": allowed_updates(self.dispatcher),
            },
        )
        if not outcome.ok:
            await runner.cleanup()
            raise SettingsError(f"WEBHOOK_URL was refused by Telegram: {outcome.detail}")
        log.info(
            "webhook listening on %s:%s%s",
            settings.webhook_host,
            settings.webhook_port,
            settings.webhook_path,
        )
        try:
            await stopping.wait()
        finally:
            await runner.cleanup()

    async def _tell_ops(self, chat_id: int | None, reason: FailureReason, detail: str) -> None:
        log.warning("Telegram refused a call to chat %s: %s (%s)", chat_id, reason.value, detail)
        ops = self.settings.ops_chat_id
        if chat_id is None or chat_id == ops:
            return
        # Noted even without an ops chat: a removed group is then passed by at start-up.
        about = await self.ops_notices.refusal(chat_id, reason)
        if about is not None and ops is not None:
            title = about.title
            if title is None:
                chat = await self.delivery.call("getChat", {"chat_id": chat_id})
                title = chat.result.get("title") if chat.ok and chat.result else None
            text = render.refusal(
                about.topic,
                title or str(chat_id),
                pick_locale(about.language),
                self.rights,
            )
            sent = await self.delivery.send_message(ops, text, priority=Priority.MODERATION)
            if not sent.ok:
                await self.ops_notices.untold(chat_id, about.topic)
