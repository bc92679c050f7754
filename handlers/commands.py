"""The slash-command routers, under one parent that turns ordinary chat away once.

aiogram enters every router in turn until one handles the update, and entering one costs its
middleware chain even when nothing matches. Most group traffic is not a command, so the
feature routers sit under this parent: a message that does not start with "/" skips them all
after one check (callback queries still reach them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram import Router

from handlers.filters import first_delivery, looks_like_command


def router(features: Sequence[Callable[[], Router]]) -> Router:
    """A fresh parent router over fresh feature routers (a router joins one dispatcher only)."""
    commands = Router(name="commands")
    # A command Telegram redelivers after a crash is answered once (its event is a duplicate).
    commands.message.filter(looks_like_command, first_delivery)
    commands.include_routers(*(make() for make in features))
    return commands
