"""Opting out: a member's events in a group are written without who they are.

A member who sent `/optout` for a group still counts in the group's totals (a message is a
message), but no event names them: the recorder passes each event through `anonymised` with
the set of opted-out (chat, user) pairs before writing it.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace

from bot.domain.events import EngagementEvent

OptedOut = Set[tuple[int, int]]  # (chat id, user id)


def anonymised(event: EngagementEvent, opted_out: OptedOut) -> EngagementEvent:
    """The event without the identity of any opted-out member it names (actor, the member
    replied to, the inviter) and without its text if the actor opted out."""
    chat_id = event.group.chat_id
    actor = event.actor
    actor_out = actor is not None and (chat_id, actor.user_id) in opted_out
    reply_out = (
        event.reply_to_user_id is not None and (chat_id, event.reply_to_user_id) in opted_out
    )
    inviter_out = event.inviter_id is not None and (chat_id, event.inviter_id) in opted_out
    if not (actor_out or reply_out or inviter_out):
        return event
    return replace(
        event,
        actor=None if actor_out else actor,
        text=None if actor_out else event.text,
        reply_to_user_id=None if reply_out else event.reply_to_user_id,
        inviter_id=None if inviter_out else event.inviter_id,
    )
