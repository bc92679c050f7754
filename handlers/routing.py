"""Which raw updates some router can act on, derived from the routers themselves.

aiogram parses an update into its object tree before any filter runs, and that costs more
than mapping and recording it; most group traffic is ordinary chat that no router handles.
`RouteGate` reads the dispatcher's routers once and answers, from the raw JSON, whether an
update could reach a handler: an update type no router observes never can; a message can
only if, for some message handler, every filter on its way there (router filters, then the
handler's own) could pass. Each filter we know has a raw twin below; a filter without one
counts as "could pass", so a new filter makes the gate dispatch more, never drop a command.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters import Command

from handlers import filters
from handlers.mapping import GROUP_TYPES

RawMessage = Mapping[str, Any]
RawCheck = Callable[[RawMessage], bool]
MESSAGE_TYPES = ("message", "edited_message")


def _chat_type(message: RawMessage) -> object:
    chat = message.get("chat")
    return chat.get("type") if isinstance(chat, dict) else None


def _body(message: RawMessage) -> str:
    body = message.get("text") or message.get("caption")
    return body if isinstance(body, str) else ""


def _always(message: RawMessage) -> bool:
    return True


# The raw twin of each coroutine filter in handlers/filters.py that narrows messages.
RAW_TWINS: dict[Callable[..., Any], RawCheck] = {
    filters.in_group: lambda m: _chat_type(m) in GROUP_TYPES,
    filters.in_private: lambda m: _chat_type(m) == "private",
    filters.looks_like_command: lambda m: isinstance(m.get("text"), str) and m["text"][:1] == "/",
    filters.first_delivery: _always,
    filters.within_command_rate: _always,
    filters.first_press: _always,
}


def _command_twin(command: Command) -> RawCheck:
    """Text (or caption) that starts with one of the filter's commands (any mention)."""
    names = {c for c in command.commands if isinstance(c, str)}
    if len(names) < len(command.commands):  # a pattern: any command with the prefix could match
        return lambda m: _body(m)[:1] in command.prefix
    word = re.compile(r"[" + re.escape(command.prefix) + r"]([^\s@]+)")

    def starts_with_command(message: RawMessage) -> bool:
        found = word.match(_body(message))
        if found is None:
            return False
        name = found.group(1)
        return (name.casefold() if command.ignore_case else name) in names

    return starts_with_command


def _twin(filter_object: FilterObject) -> RawCheck:
    callback = filter_object.callback
    if isinstance(callback, Command):
        return _command_twin(callback)
    return RAW_TWINS.get(callback, _always)


def _paths(
    router: Router, update_type: str, above: tuple[RawCheck, ...]
) -> Iterator[tuple[RawCheck, ...]]:
    """For each handler of `update_type` under `router`: the raw twins of its filters."""
    observer = router.observers[update_type]
    here = above + tuple(_twin(f) for f in observer._handler.filters or ())
    for handler in observer.handlers:
        yield here + tuple(_twin(f) for f in handler.filters or ())
    for child in router.sub_routers:
        yield from _paths(child, update_type, here)


def _any_path(paths: Sequence[tuple[RawCheck, ...]]) -> RawCheck:
    """One check that passes when every check of some path passes, asking each check at most
    once per message: the check most paths share is asked first (the command parent's
    `looks_like_command` turns ordinary chat away there), then the paths with and without it."""
    paths = [tuple(c for c in path if c is not _always) for path in paths]
    if not paths:
        return lambda message: False
    if any(not path for path in paths):
        return _always  # some handler takes every message of this type
    check, _ = Counter(c for path in paths for c in set(path)).most_common(1)[0]
    with_it = _any_path(
        [tuple(c for c in path if c is not check) for path in paths if check in path]
    )
    without = [path for path in paths if check not in path]
    if not without:
        return lambda message: check(message) and with_it(message)
    rest = _any_path(without)
    return lambda message: (check(message) and with_it(message)) or rest(message)


class RouteGate:
    """Answers from the raw update whether aiogram should parse and dispatch it."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        used = set(dispatcher.resolve_used_update_types())
        self._types = frozenset(used)
        self._messages: dict[str, RawCheck] = {
            update_type: _any_path(list(_paths(dispatcher, update_type, ())))
            for update_type in MESSAGE_TYPES
            if update_type in used
        }

    @property
    def update_types(self) -> frozenset[str]:
        """The update types some router observes."""
        return self._types

    def routes(self, raw: Mapping[str, Any]) -> bool:
        """Whether some handler could act on this raw update."""
        for update_type, body in raw.items():
            if update_type == "update_id":
                continue
            if update_type not in self._types:
                return False
            check = self._messages.get(update_type)
            return check is None or (isinstance(body, dict) and check(body))
        return False
