"""/settings: reading the command's words, and the service that applies them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.events import GroupRef
from bot.domain.group_settings import (
    SetLanguage,
    SetTimezone,
    SettingsInputError,
    ShowSettings,
    StopStoringText,
    StoreText,
    parse_settings,
)
from bot.ports import GroupSettings
from bot.services.engagement import EngagementRecorder
from bot.services.group_settings import GroupSettingsService
from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.test_services import GROUP, message


@pytest.mark.parametrize(
    ("args", "change"),
    [
        (None, ShowSettings()),
        ("", ShowSettings()),
        ("timezone Asia/Shanghai", SetTimezone("Asia/Shanghai")),
        ("TZ europe/berlin", SetTimezone("Europe/Berlin")),  # any case, IANA spelling back
        ("text on", StoreText(30)),
        ("text on 7", StoreText(7)),
        ("text ON 90d", StoreText(90)),
        ("text off", StopStoringText()),
        ("language zh", SetLanguage("zh-hans")),
        ("lang zh_CN", SetLanguage("zh-hans")),
        ("language 中文", SetLanguage("zh-hans")),
        ("language English", SetLanguage("en")),
        ("language ru", SetLanguage("ru")),
        ("language Русский", SetLanguage("ru")),
    ],
)
def test_parse_settings(args: str | None, change: object) -> None:
    assert parse_settings(args) == change


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("colour blue", "There is no setting “colour”."),
        ("timezone", "Give one time zone name"),
        ("timezone Mars/Olympus", "“Mars/Olympus” is not a time zone name"),
        ("timezone Europe/Berlin Asia/Tokyo", "Give one time zone name"),
        ("text on 0", "Keep text for 1 to 365 days, not “0”."),
        ("text on 366", "not “366”"),
        ("text on forever", "not “forever”"),
        ("text maybe", "Say “text on”"),
        ("text off now", "Say “text on”"),
        ("language klingon", "Choose the language: en (English), zh (简体中文) or ru (Русский)."),
        ("language", "Choose the language"),
    ],
)
def test_malformed_settings_say_what_is_wrong(args: str, says: str) -> None:
    with pytest.raises(SettingsInputError) as caught:
        parse_settings(args)
    assert says in str(caught.value)


AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
QUIET = GroupRef(chat_id=-100888, title="Quiet", type="supergroup")


async def _started(
    factory: FakeUnitOfWorkFactory,
) -> tuple[GroupSettingsService, EngagementRecorder]:
    clock = FakeClock(AT)
    recorder = EngagementRecorder(factory, clock)
    await recorder.start()
    return GroupSettingsService(factory, clock, recorder, default_timezone="UTC"), recorder


async def test_turning_text_on_keeps_new_text_and_off_erases_it() -> None:
    factory = FakeUnitOfWorkFactory()
    service, recorder = await _started(factory)
    await recorder.record([message(1, text="before")])
    result = await service.apply(GROUP.chat_id, GROUP.title, StoreText(7))
    assert result.settings.store_text and result.settings.text_retention_days == 7
    await recorder.record([message(2, text="while on")])
    await recorder.durable()
    assert factory.db.events[message(1).dedup_key].text is None  # not retroactive
    assert factory.db.events[message(2).dedup_key].text == "while on"

    result = await service.apply(GROUP.chat_id, GROUP.title, StopStoringText())
    assert not result.settings.store_text and result.erased == 1
    assert factory.db.events[message(2).dedup_key].text is None
    await recorder.record([message(3, text="after")])
    await recorder.stop()
    assert factory.db.events[message(3).dedup_key].text is None


async def test_showing_changes_nothing_and_the_timezone_is_kept() -> None:
    factory = FakeUnitOfWorkFactory()
    service, recorder = await _started(factory)
    await recorder.record([message(1)])
    changed = await service.apply(GROUP.chat_id, GROUP.title, SetTimezone("Asia/Shanghai"))
    assert changed.settings == GroupSettings(GROUP.chat_id, GROUP.title, "Asia/Shanghai")
    commits = factory.db.commits
    shown = await service.apply(GROUP.chat_id, GROUP.title, ShowSettings())
    assert shown.settings == changed.settings and factory.db.commits == commits
    await recorder.stop()


async def test_the_sweep_erases_text_past_each_groups_retention() -> None:
    factory = FakeUnitOfWorkFactory()
    factory.db.groups[GROUP.chat_id] = GroupSettings(
        GROUP.chat_id, GROUP.title, store_text=True, text_retention_days=7
    )
    factory.db.groups[QUIET.chat_id] = GroupSettings(QUIET.chat_id, QUIET.title)
    service, recorder = await _started(factory)
    old, fresh = AT - timedelta(days=8), AT - timedelta(days=6)
    await recorder.record([message(1, at=old, text="old"), message(2, at=fresh, text="fresh")])
    await recorder.stop()
    # Text left from when the quiet group stored it: erased whatever its age.
    stray = replace(message(3, at=fresh, text="stray"), group=QUIET)
    factory.db.events[stray.dedup_key] = stray

    assert await service.erase_expired_text() == 2
    texts = {key: event.text for key, event in factory.db.events.items()}
    assert texts == {
        message(1).dedup_key: None,
        message(2).dedup_key: "fresh",
        stray.dedup_key: None,
    }
    assert await service.erase_expired_text() == 0
