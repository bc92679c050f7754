"""The one place a feature plugs in: its routers, watchers, ticks, menu entries and health lines.

A feature (stats, settings, the ad-share cap, the question handoff…) is one `Feature` object,
built from the `Runtime` the composition root shares; `bot/app.py` composes a list of them and
knows none by name. Routers are for commands and buttons; ordinary chat reaches a feature
through its watchers (DESIGN.md, "The message pipeline").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from aiogram import Router

from bot.config import Settings
from bot.domain.rights import Gap
from bot.domain.watching import Watcher
from bot.ports import ChatGateway, Clock, UnitOfWorkFactory
from bot.services.admins import AdminDirectory
from bot.services.decisions import Action, Write
from bot.services.engagement import EngagementRecorder

MenuScope = Literal["all_group_chats", "all_private_chats"]


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A command in Telegram's menu for a scope; `description` is an English source string,
    translated into every supported language when the menus are set."""

    scope: MenuScope
    command: str
    description: str


@dataclass(frozen=True, slots=True)
class Tick:
    """A job the scheduler runs every `every` (finding its work in our tables)."""

    name: str
    every: timedelta
    job: Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class HealthLine:
    """One line of the whole bot's /health (the ops chat's): an English label (a source
    string) and its value now."""

    label: str
    value: Callable[[], int | float | str]


@dataclass(frozen=True, slots=True)
class GroupHealthLine:
    """One line of /health in a group, about that group only, in words a moderator reads:
    `line(chat_id, locale)` writes it (None: nothing to say about that group)."""

    name: str
    line: Callable[[int, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Feature:
    """Everything one feature adds to the bot."""

    name: str
    routers: Sequence[Callable[[], Router]] = ()  # command and button routers (fresh each call)
    # Routers for messages that are not commands (a private chat, a reply to the bot): after the
    # command routers; the route gate parses only what their filters could take.
    chat_routers: Sequence[Callable[[], Router]] = ()
    watchers: Sequence[Watcher] = ()
    ticks: Sequence[Tick] = ()
    menu: Sequence[MenuEntry] = ()
    health: Sequence[HealthLine] = ()  # the whole bot's counters, for the ops chat
    group_health: Sequence[GroupHealthLine] = ()  # a group's own figures, for /health there
    services: Mapping[str, object] = field(default_factory=dict)  # handlers' parameters
    actions: Mapping[str, Action] = field(default_factory=dict)  # decisions it applies itself
    # Decisions it writes in the transaction that stores their messages (each also has an
    # action of the same name, the fallback if the write fails): see bot/services/decisions.py.
    writes: Mapping[str, Write] = field(default_factory=dict)
    on_start: Sequence[Callable[[], Awaitable[object]]] = ()  # awaited once, before the ticks
    # The admin rights it needs in a group (e.g. `(Gap.CANNOT_DELETE, Gap.CANNOT_RESTRICT)`):
    # readiness asks a group only for the rights the composed features declare.
    rights: Sequence[Gap] = ()


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the composition root shares with the features it builds."""

    settings: Settings
    clock: Clock
    uow_factory: UnitOfWorkFactory
    gateway: ChatGateway
    recorder: EngagementRecorder
    admins: AdminDirectory
    scrub: Callable[[], Awaitable[None]] | None = None  # after an erasure (storage.engine.scrub)
    # The weekly digest's sections (issue 12): a feature's factory appends its own; the digest
    # asks each, in order, when it writes a group's week.
    digest_sections: list[DigestSection] = field(default_factory=list)
    # Every feature's handler services, filled by the composition root once all are built: a
    # feature that uses another's service looks it up when it runs (content reserves promo
    # budget through "adshare"), never while the features are being made.
    services: dict[str, object] = field(default_factory=dict)


# One section of a group's weekly digest: (chat_id, since, until, the group's language code)
# -> its text, or None when the feature has nothing to say about that group's week
# [since, until) (UTC instants). See bot/services/digest.py.
DigestSection = Callable[[int, datetime, datetime, str], Awaitable[str | None]]

FeatureFactory = Callable[[Runtime], Feature]


def merged_services(features: Sequence[Feature]) -> dict[str, object]:
    """All features' handler parameters; two features may not claim one name."""
    services: dict[str, object] = {}
    for feature in features:
        for name, service in feature.services.items():
            if name in services:
                raise ValueError(f"feature {feature.name!r} redefines the service {name!r}")
            services[name] = service
    return services


def composed_writes(features: Sequence[Feature]) -> dict[str, Write]:
    """All features' in-transaction writes; each needs an action of the same name, which
    applies its decisions if the write fails."""
    writes: dict[str, Write] = {}
    for feature in features:
        for name, write in feature.writes.items():
            if name not in feature.actions:
                raise ValueError(f"feature {feature.name!r} writes {name!r} without an action")
            if name in writes:
                raise ValueError(f"feature {feature.name!r} redefines the write {name!r}")
            writes[name] = write
    return writes
