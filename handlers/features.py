"""Today's features, each declared as one `Feature`: stats, settings, health, personal data, help.

A new feature writes its own factory like these (in its own module) and is added to
`FEATURES`; `bot/app.py` composes the list and names none of them.
"""

from __future__ import annotations

from datetime import timedelta

from bot.features import Feature, FeatureFactory, MenuEntry, Runtime, Tick
from bot.services.group_settings import GroupSettingsService
from bot.services.personal_data import PersonalDataService
from handlers import (
    adcap,
    analytics,
    content,
    handoff,
    health,
    help,
    personal_data,
    settings,
    stats,
)
from handlers.moderation import moderation_feature
from handlers.recognition import recognition_feature


def stats_feature(runtime: Runtime) -> Feature:
    return Feature(
        name="stats",
        routers=[stats.router],
        menu=[MenuEntry("all_group_chats", "stats", "Activity for today, 7 and 30 days (admins)")],
    )


def settings_feature(runtime: Runtime) -> Feature:
    service = GroupSettingsService(
        runtime.uow_factory,
        runtime.clock,
        runtime.recorder,
        runtime.settings.default_timezone,
        runtime.scrub,
    )
    return Feature(
        name="settings",
        routers=[settings.router],
        services={"group_settings": service},
        ticks=[
            Tick(
                "text-retention",
                timedelta(minutes=runtime.settings.text_retention_sweep_minutes),
                service.erase_expired_text,
            )
        ],
        on_start=[service.erase_expired_text],
        menu=[MenuEntry("all_group_chats", "settings", "Time zone and what is recorded (admins)")],
    )


def health_feature(runtime: Runtime) -> Feature:
    return Feature(
        name="health",
        routers=[health.router],
        menu=[MenuEntry("all_group_chats", "health", "How groupops is doing here (admins)")],
    )


def personal_data_feature(runtime: Runtime) -> Feature:
    return Feature(
        name="personal-data",
        routers=[personal_data.router],
        services={
            "personal_data": PersonalDataService(
                runtime.uow_factory, runtime.recorder, runtime.scrub
            )
        },
        menu=[
            MenuEntry("all_private_chats", "mydata", "What groupops has stored about you"),
            MenuEntry("all_private_chats", "forgetme", "Erase what groupops has stored about you"),
        ],
    )


def help_feature(runtime: Runtime) -> Feature:
    return Feature(
        name="help",
        routers=[help.router],
        chat_routers=[help.private_chat_router],
        menu=[
            MenuEntry("all_group_chats", "help", "What groupops does here, and its commands"),
            MenuEntry("all_private_chats", "help", "What groupops records, and why"),
        ],
    )


FEATURES: tuple[FeatureFactory, ...] = (
    stats_feature,
    settings_feature,
    health_feature,
    personal_data_feature,
    # Before help: its private-chat router answers any plain private message, and content's
    # takes the one an operator sends as a post's body after /draft (the rest of content,
    # menus included, comes with the later features).
    content.body_feature,
    help_feature,
    analytics.feature,
    adcap.adcap_feature,
    handoff.handoff_feature,
    moderation_feature,
    recognition_feature,
    content.content_feature,
)
