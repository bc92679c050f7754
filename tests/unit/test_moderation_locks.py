"""The locks watcher: a locked kind from a non-admin becomes a delete (and, at most once a
minute per group, a notice), as decisions; admins, anonymous admins and the linked channel's
posts stay; nothing is read from the database while judging."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.domain.moderation import LockKind
from bot.domain.watching import Decision, WatchedMessage
from bot.ports import ChatAdmin
from bot.services.admins import AdminDirectory
from bot.services.moderation import ModerationService, lock_notice
from tests.fakes import FakeClock, FakeGateway

CHAT, CHANNEL = -1001, -1009
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANN = Actor(5, "Ann", language_code="ru")
MOD = Actor(2, "Mo")


def _message(
    n: int,
    kind: MessageKind,
    actor: Actor | None = ANN,
    *,
    link: bool = False,
    sender_chat: int | None = None,
    origin: str | None = None,
    seconds: int = 0,
) -> WatchedMessage:
    event = EngagementEvent(
        dedup_key=EngagementEvent.message_key(CHAT, n),
        update_id=n,
        kind=EventKind.MESSAGE,
        group=GroupRef(CHAT, "Makers", "supergroup"),
        occurred_at=NOW + timedelta(seconds=seconds),
        actor=actor,
        message_id=n,
        message_kind=kind,
        has_link=link,
        sender_chat_id=sender_chat,
    )
    return WatchedMessage(event, "text", forward_origin=origin)


def _service(locks: frozenset[LockKind]) -> tuple[ModerationService, FakeGateway]:
    gateway = FakeGateway({CHAT: [ChatAdmin(MOD.user_id, False, "administrator")]})
    clock = FakeClock(NOW)
    service = ModerationService(
        cast(Any, None),  # no database: judging reads only memory
        clock,
        cast(Any, None),
        AdminDirectory(cast(Any, gateway), clock),
        cast(Any, gateway),
        notice=lambda kind, language: f"{kind.value} locked ({language})",
        welcome_text=lambda *_: "",
    )
    service._locks = {CHAT: locks}
    return service, gateway


async def test_a_locked_kind_from_a_member_is_deleted_with_a_notice_once_a_minute() -> None:
    service, _ = _service(frozenset({LockKind.LINKS, LockKind.STICKERS}))
    first = await service.watch(_message(1, MessageKind.TEXT, link=True))
    assert first == [
        Decision.delete(CHAT, 1, "locked links"),
        lock_notice(CHAT, 1, "links locked (ru)", None),  # in the member's language
    ]
    second = await service.watch(_message(2, MessageKind.STICKER, seconds=59))
    assert second == [Decision.delete(CHAT, 2, "locked stickers")]  # no second notice yet
    third = await service.watch(_message(3, MessageKind.STICKER, seconds=60))
    assert len(third) == 2
    assert service.deleted_locked == 3


async def test_what_is_not_locked_or_not_a_members_stays() -> None:
    service, gateway = _service(frozenset({LockKind.LINKS, LockKind.FORWARDS}))
    kept = [
        _message(1, MessageKind.TEXT),  # no link
        _message(2, MessageKind.MEDIA, link=False),  # media are not locked
        _message(3, MessageKind.TEXT, MOD, link=True),  # an admin
        _message(4, MessageKind.TEXT, None, link=True, sender_chat=CHAT),  # an anonymous admin
        # The linked channel's post, forwarded into the group by Telegram.
        _message(5, MessageKind.FORWARD, None, link=True, sender_chat=CHANNEL, origin="channel"),
    ]
    for message in kept:
        assert list(await service.watch(message)) == []
    assert gateway.admin_lookups == 1  # one look-up, for the admin's link; then cached
    # A member forwarding from a channel is no linked-channel post.
    forwarded = _message(6, MessageKind.FORWARD, ANN, origin="channel")
    assert (await service.watch(forwarded))[0] == Decision.delete(CHAT, 6, "locked forwards")


async def test_a_group_without_locks_costs_nothing() -> None:
    service, gateway = _service(frozenset())
    assert list(await service.watch(_message(1, MessageKind.STICKER, link=True))) == []
    assert gateway.admin_lookups == 0


async def test_the_notice_goes_to_the_deleted_messages_topic() -> None:
    service, _ = _service(frozenset({LockKind.MEDIA}))
    message = _message(1, MessageKind.MEDIA)
    in_topic = WatchedMessage(replace(message.event, thread_id=77), message.text)
    decisions = await service.watch(in_topic)
    assert decisions[1].params == {"text": "media locked (ru)", "thread_id": 77}
