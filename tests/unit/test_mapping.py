"""Raw Bot API updates become the engagement events DESIGN.md names, and nothing else."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import simulator
from bot.domain.events import EngagementEvent, EventKind, MessageKind
from handlers import mapping
from handlers.mapping import READS, MalformedUpdate, clean, map_update

# The simulator's copy of shared/data/telegram-bot-api/api.json (the same file, in the repo).
SPEC = Path(simulator.__file__).with_name("botapi.json")

GROUP = {"id": -1001234567890123, "type": "supergroup", "title": "Makers"}
ALICE = {"id": 9_000_000_001, "is_bot": False, "first_name": "Alice", "language_code": "en"}
BOB = {"id": 42, "is_bot": False, "first_name": "Bob"}


def _update(update_id: int = 1, **body: Any) -> dict[str, Any]:
    return {"update_id": update_id, **body}


def events_from_update(
    raw: dict[str, Any], keeps_text: Callable[[int], bool] = lambda chat_id: False
) -> list[EngagementEvent]:
    return list(map_update(raw, keeps_text).events)


def _message(message_id: int = 10, **fields: Any) -> dict[str, Any]:
    return {"message_id": message_id, "date": 1_764_000_000, "chat": GROUP, "from": ALICE, **fields}


def test_text_message() -> None:
    (event,) = events_from_update(_update(message=_message(text="hello there")))
    assert event.kind is EventKind.MESSAGE
    assert event.message_kind is MessageKind.TEXT
    assert event.dedup_key == f"m:{GROUP['id']}:10"
    assert event.actor is not None and event.actor.user_id == ALICE["id"]
    assert event.text_length == 11
    assert event.group.chat_id == GROUP["id"]
    assert event.occurred_at.tzinfo is not None
    assert not event.has_link


def test_reply_names_the_replied_member() -> None:
    replied = _message(message_id=5, text="q?", **{"from": BOB})
    (event,) = events_from_update(_update(message=_message(text="a", reply_to_message=replied)))
    assert event.reply_to_user_id == BOB["id"]
    assert event.reply_to_message_id == 5


def test_topic_root_is_not_a_reply() -> None:
    root = _message(message_id=3, forum_topic_created={"name": "t", "icon_color": 1})
    body = _message(
        text="in a topic", message_thread_id=3, is_topic_message=True, reply_to_message=root
    )
    (event,) = events_from_update(_update(message=body))
    assert event.reply_to_user_id is None
    assert event.thread_id == 3


def test_anonymous_admin_has_no_member() -> None:
    bot_user = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    (event,) = events_from_update(
        _update(message=_message(text="notice", sender_chat=GROUP, **{"from": bot_user}))
    )
    assert event.actor is None
    assert event.sender_chat_id == GROUP["id"]


def test_kinds_and_links() -> None:
    cases = {
        MessageKind.STICKER: {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "u",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        },
        MessageKind.MEDIA: {
            "photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
            "caption": "see",
        },
        MessageKind.COMMAND: {"text": "/stats"},
        MessageKind.FORWARD: {
            "text": "fwd",
            "forward_origin": {"type": "hidden_user", "date": 1, "sender_user_name": "x"},
        },
    }
    for kind, fields in cases.items():
        (event,) = events_from_update(_update(message=_message(**fields)))
        assert event.message_kind is kind
        # A command talks to a bot: it is recorded, but as no message and no activity.
        assert event.kind is (
            EventKind.COMMAND if kind is MessageKind.COMMAND else EventKind.MESSAGE
        )
    (linked,) = events_from_update(_update(message=_message(text="go to t.me/shop now")))
    assert linked.has_link


def test_service_messages_and_private_chats_are_not_engagement() -> None:
    joined = _message(new_chat_members=[BOB])
    assert events_from_update(_update(message=joined)) == []
    private = _message(text="hi", chat={"id": ALICE["id"], "type": "private", "first_name": "A"})
    assert events_from_update(_update(message=private)) == []


def test_edit_is_keyed_on_update() -> None:
    (event,) = events_from_update(
        _update(update_id=77, edited_message=_message(text="fixed", edit_date=1_764_000_100))
    )
    assert event.kind is EventKind.EDIT
    assert event.dedup_key == "u:77:0"
    assert event.occurred_at.timestamp() == 1_764_000_100


def test_reaction_changes_become_added_and_removed() -> None:
    reaction = {
        "chat": GROUP,
        "message_id": 10,
        "date": 1_764_000_000,
        "user": BOB,
        "old_reaction": [{"type": "emoji", "emoji": "👍"}],
        "new_reaction": [
            {"type": "emoji", "emoji": "🔥"},
            {"type": "custom_emoji", "custom_emoji_id": "c1"},
        ],
    }
    events = events_from_update(_update(update_id=5, message_reaction=reaction))
    assert [(e.kind, e.reaction) for e in events] == [
        (EventKind.REACTION_ADDED, "🔥"),
        (EventKind.REACTION_ADDED, "custom:c1"),
        (EventKind.REACTION_REMOVED, "👍"),
    ]
    assert len({e.dedup_key for e in events}) == 3


def test_anonymous_reaction_counts() -> None:
    counts = {
        "chat": GROUP,
        "message_id": 10,
        "date": 1_764_000_000,
        "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 4}],
    }
    (event,) = events_from_update(_update(message_reaction_count=counts))
    assert event.kind is EventKind.REACTION_COUNT
    assert event.actor is None and event.reaction_count == 4


def _member_update(old: str, new: str, by: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "chat": GROUP,
        "from": by,
        "date": 1_764_000_000,
        "old_chat_member": {
            "status": old,
            "user": BOB,
            **({"until_date": 0} if old == "kicked" else {}),
        },
        "new_chat_member": {
            "status": new,
            "user": BOB,
            **({"until_date": 0} if new == "kicked" else {}),
        },
        **extra,
    }


def test_join_with_inviter_and_link() -> None:
    link = {
        "invite_link": "https://t.me/+abc",
        "creator": ALICE,
        "creates_join_request": False,
        "is_primary": False,
        "is_revoked": False,
    }
    (event,) = events_from_update(
        _update(chat_member=_member_update("left", "member", ALICE, invite_link=link))
    )
    assert event.kind is EventKind.JOIN
    assert event.actor is not None and event.actor.user_id == BOB["id"]
    assert event.inviter_id == ALICE["id"]
    assert event.invite_link == "https://t.me/+abc"


def test_self_join_leave_and_kick() -> None:
    (join,) = events_from_update(_update(chat_member=_member_update("left", "member", BOB)))
    assert join.inviter_id is None
    (leave,) = events_from_update(_update(chat_member=_member_update("member", "left", BOB)))
    assert leave.kind is EventKind.LEAVE
    (kick,) = events_from_update(_update(chat_member=_member_update("member", "kicked", ALICE)))
    assert kick.kind is EventKind.KICK


def test_migration_is_read_from_both_service_messages() -> None:
    old = {"id": -4001, "type": "group", "title": "old"}
    to = map_update(_update(message=_message(chat=old, migrate_to_chat_id=GROUP["id"])))
    assert list(to.events) == [] and to.migration is not None
    assert (to.migration.old_chat_id, to.migration.new_chat_id) == (-4001, GROUP["id"])
    frm = map_update(_update(message=_message(migrate_from_chat_id=-4001)))
    assert frm.migration == to.migration


def test_text_is_carried_only_for_groups_that_store_it() -> None:
    update = _update(message=_message(text="my phone is 555"))
    (private_by_default,) = events_from_update(update)
    assert private_by_default.text is None
    assert private_by_default.text_length == len("my phone is 555")
    (stored,) = events_from_update(update, keeps_text=lambda chat_id: chat_id == GROUP["id"])
    assert stored.text == "my phone is 555"


def test_a_default_group_keeps_no_text_at_mapping_time_but_watchers_see_it() -> None:
    mapped = map_update(_update(message=_message(text="call me 555")))
    assert mapped.events[0].text is None
    assert mapped.watched is not None and mapped.watched.text == "call me 555"
    assert mapped.watched.event is mapped.events[0]


def test_watchers_see_captions_hidden_links_buttons_and_origin() -> None:
    body = _message(
        caption="deal",
        photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
        caption_entities=[{"type": "text_link", "offset": 0, "length": 4, "url": "https://x.io"}],
        forward_origin={"type": "channel", "date": 1, "chat": GROUP, "message_id": 3},
        reply_markup={"inline_keyboard": [[{"text": "buy", "url": "https://shop.example"}]]},
    )
    watched = map_update(_update(message=body)).watched
    assert watched is not None
    assert watched.text == "deal"
    assert watched.links == ("https://x.io",)
    assert watched.url_buttons == ("https://shop.example",)
    assert watched.forward_origin == "channel"
    assert watched.event.has_link


def test_edits_are_watched_as_edits() -> None:
    watched = map_update(
        _update(edited_message=_message(text="x", edit_date=1_764_000_001))
    ).watched
    assert watched is not None and watched.is_edit


def test_unknown_fields_are_ignored() -> None:
    body = _message(text="hi", some_future_field={"nested": [1, 2]})
    raw = _update(message=body, another_future_update_field=True)
    (event,) = events_from_update(raw)
    assert event.message_kind is MessageKind.TEXT
    assert list(map_update(_update(some_new_update_kind={"x": 1})).events) == []


@pytest.mark.parametrize(
    "raw",
    [
        _update(edited_message=_message(text="x", edit_date=10**20)),
        _update(message=_message(text="x", date="yesterday")),
        _update(message=_message(text=42)),
        _update(message={"message_id": "1", "date": 1, "chat": GROUP, "text": "x"}),
        _update(message=_message(text="x", chat="not a chat")),
        {"update_id": "7", "message": _message(text="x")},
        _update(message_reaction={"chat": GROUP, "message_id": 1, "date": 1, "new_reaction": 5}),
    ],
)
def test_malformed_updates_raise_one_error_the_intake_skips(raw: dict[str, Any]) -> None:
    with pytest.raises(MalformedUpdate):
        map_update(raw)


def test_names_are_cleaned_of_what_databases_refuse() -> None:
    assert clean("a\x00b") == "a\ufffdb"
    assert clean("bad \ud800 surrogate") == "bad ? surrogate"
    assert clean("普通 text") == "普通 text"
    nasty = {"id": 77, "is_bot": False, "first_name": "Eve\ud83d", "last_name": "\x00"}
    (event,) = events_from_update(_update(message=_message(text="hi", **{"from": nasty})))
    assert event.actor is not None
    event.actor.first_name.encode("utf-8")
    assert "\x00" not in (event.actor.last_name or "")


def test_every_field_read_is_in_the_bot_api_spec() -> None:
    types = json.loads(SPEC.read_text())["types"]
    for type_name, fields in READS.items():
        if type_name in ("ChatMember", "MessageOrigin", "ReactionType"):
            # Union types: a field counts if any of their subtypes has it.
            subtypes = [t for t in types.values() if type_name in (t.get("subtype_of") or [])]
            known = {f["name"] for t in subtypes for f in t.get("fields", [])}
        else:
            known = {f["name"] for f in types[type_name].get("fields", [])}
        assert fields <= known, (type_name, fields - known)


def test_the_mapping_reads_no_field_it_does_not_declare() -> None:
    """Every string key the module looks up (`x.get("k")`, `x["k"]`, `"k" in x`) is declared."""
    tree = ast.parse(Path(mapping.__file__).read_text())
    declared = set().union(*READS.values())
    looked_up: set[str] = set()
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
                key = node.args[0].value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In):
            # `"k" in message` looks a field up; `"://" in body` searches a text.
            right = node.comparators[0]
            if isinstance(node.left, ast.Constant) and not (
                isinstance(right, ast.Name) and right.id in ("body", "text")
            ):
                key = node.left.value
        if isinstance(key, str):
            looked_up.add(key)
    assert looked_up, "the check found no look-ups: it would pass on anything"
    assert looked_up <= declared, looked_up - declared
