"""What recognition costs the message pipeline: the points watcher and the opt-out rewrite.

    python -m benchmarks.recognition [--messages 200000] [--members 500] [--opted-out 1000]

Watcher: `--messages` messages from `--members` members of one chat, a second apart in turn
(each member posts every `--members` seconds: past the one-minute cooldown when there are more
than 60, until the daily cap of 50), judged by `RecognitionService.watch` with the chat's
cooldowns already loaded; the mean per message and the share that earned a point.
Opt-out: the recorder's `anonymised` on events of members who did not opt out (the common
case) and of one who did, with `--opted-out` pairs in the set; per event. With no one opted
out the recorder skips it entirely (one truth test a batch).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.domain.optout import anonymised
from bot.domain.recognition import Cooldown
from bot.domain.watching import WatchedMessage
from bot.services.engagement import EngagementRecorder
from bot.services.recognition import RecognitionService

GROUP = GroupRef(chat_id=-100123, title="Bench", type="supergroup")
START = datetime(2026, 12, 1, tzinfo=UTC)


def _messages(count: int, members: int) -> list[WatchedMessage]:
    actors = [Actor(user_id=1000 + i, first_name=f"m{i}") for i in range(members)]
    return [
        WatchedMessage(
            EngagementEvent(
                dedup_key=EngagementEvent.message_key(GROUP.chat_id, n),
                update_id=n,
                kind=EventKind.MESSAGE,
                group=GROUP,
                occurred_at=START + timedelta(seconds=n),
                actor=actors[n % members],
                message_id=n,
                message_kind=MessageKind.TEXT,
                text_length=5,
                reply_to_user_id=actors[(n + 1) % members].user_id,
            ),
            "hello",
        )
        for n in range(count)
    ]


async def _watcher(messages: list[WatchedMessage]) -> tuple[float, float]:
    recorder = EngagementRecorder(None, None)  # type: ignore[arg-type]  # never writes here
    service = RecognitionService(None, None, None, recorder, None)  # type: ignore[arg-type]
    service._cooldowns[GROUP.chat_id] = Cooldown()  # loaded, as after the chat's first message
    started = time.perf_counter()
    earned = 0
    for message in messages:
        earned += len(await service.watch(message))
    elapsed = time.perf_counter() - started
    return elapsed / len(messages) * 1e6, earned / len(messages)


def _optout(messages: list[WatchedMessage], opted: int) -> tuple[float, float]:
    events = [m.event for m in messages]
    pairs = {(GROUP.chat_id, -i) for i in range(1, opted)}
    started = time.perf_counter()
    for event in events:
        anonymised(event, pairs)
    others = (time.perf_counter() - started) / len(events) * 1e6
    pairs |= {(GROUP.chat_id, e.actor.user_id) for e in events if e.actor is not None}
    started = time.perf_counter()
    for event in events:
        anonymised(event, pairs)
    theirs = (time.perf_counter() - started) / len(events) * 1e6
    return others, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--opted-out", type=int, default=1000)
    args = parser.parse_args()
    messages = _messages(args.messages, args.members)
    per_message, share = asyncio.run(_watcher(messages))
    print(f"points watcher: {per_message:.2f} µs a message, {share:.1%} earned a point")
    others, theirs = _optout(messages, args.opted_out)
    print(
        f"opt-out rewrite ({args.opted_out} pairs): {others:.2f} µs an event of a member who "
        f"did not opt out, {theirs:.2f} µs one who did"
    )


if __name__ == "__main__":
    main()
