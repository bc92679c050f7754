"""Pure pieces of the simulator: spec checks, text entities and parse modes, flood control."""

from __future__ import annotations

import pytest

from simulator import BotApiError, FloodLimits
from simulator.flood import FloodControl
from simulator.spec import UploadedFile, load_spec
from simulator.text import auto_entities, parse_text, utf16_len


def test_spec_coerces_form_strings_and_json() -> None:
    spec = load_spec()
    method = spec.method("SENDMESSAGE")
    assert method is not None and method.name == "sendMessage"
    params = spec.coerce_params(
        method,
        {
            "chat_id": "-100123",
            "text": "hi",
            "disable_notification": "true",
            "reply_markup": '{"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}',
        },
        {},
    )
    assert params["chat_id"] == -100123
    assert params["disable_notification"] is True
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"chat_id": 1}, 'parameter "text" is required'),
        ({"chat_id": 1, "text": "x", "nope": 1}, 'unknown parameter "nope"'),
        ({"chat_id": 1.5, "text": "x"}, 'invalid parameter "chat_id"'),
        ({"chat_id": 1, "text": "x", "entities": "[{"}, 'invalid parameter "entities"'),
        (
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"x": 1}]]}},
            'invalid parameter "reply_markup"',
        ),
    ],
)
def test_spec_refuses_bad_requests(raw: dict, message: str) -> None:
    method = load_spec().method("sendMessage")
    assert method is not None
    with pytest.raises(BotApiError) as caught:
        load_spec().coerce_params(method, raw, {})
    assert caught.value.code == 400
    assert caught.value.description.startswith(f"Bad Request: {message}")


def test_spec_resolves_attached_files() -> None:
    method = load_spec().method("sendPhoto")
    assert method is not None
    upload = UploadedFile("cat.jpg", b"\xff\xd8")
    params = load_spec().coerce_params(
        method, {"chat_id": "1", "photo": "attach://file0"}, {"file0": upload}
    )
    assert params["photo"] is upload


def test_auto_entities_use_utf16_offsets() -> None:
    text = "😀 /help@groupops_bot see https://example.com #news"
    entities = auto_entities(text)
    assert [e["type"] for e in entities] == ["bot_command", "url", "hashtag"]
    # The emoji is two UTF-16 code units, so the command starts at 3, not 2.
    assert entities[0]["offset"] == 3
    assert utf16_len("😀") == 2


def test_html_parse_mode() -> None:
    text, entities = parse_text('<b>Hi</b> <a href="https://x.org">you</a> &amp; me', "HTML")
    assert text == "Hi you & me"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 3, "length": 3, "url": "https://x.org"},
    ]
    with pytest.raises(BotApiError, match="Unsupported start tag"):
        parse_text("<div>x</div>", "HTML")


def test_markdown_v2_rejects_unescaped_reserved_characters() -> None:
    text, entities = parse_text(r"*Done* in 5 min\.", "MarkdownV2")
    assert text == "Done in 5 min."
    assert entities == [{"type": "bold", "offset": 0, "length": 4}]
    with pytest.raises(BotApiError, match=r"Character '\.' is reserved"):
        parse_text("Done.", "MarkdownV2")


def test_flood_control_burst_then_rate_and_group_minute() -> None:
    flood = FloodControl(FloodLimits(per_chat_per_sec=1, per_chat_burst=3, per_group_per_min=5))
    assert [flood.check(-1, True, 0.0) for _ in range(3)] == [0, 0, 0]
    assert flood.check(-1, True, 0.0) == 1
    assert flood.check(-1, True, 1.0) == 0
    assert flood.check(-1, True, 2.0) == 0
    # Five in the minute: the group limit now waits for the oldest to leave the window.
    assert flood.check(-1, True, 10.0) == 50
    assert flood.check(-1, True, 60.5) == 0


def test_flood_control_global_limit_and_disabled() -> None:
    flood = FloodControl(
        FloodLimits(per_chat_per_sec=None, per_group_per_min=None, global_per_sec=2)
    )
    assert [flood.check(chat, False, 0.0) for chat in (1, 2)] == [0, 0]
    assert flood.check(3, False, 0.5) == 1
    off = FloodControl(FloodLimits.disabled())
    assert all(off.check(-1, True, 0.0) == 0 for _ in range(1000))
