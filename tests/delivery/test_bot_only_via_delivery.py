"""Invariant 2, checked on the source: the aiogram `Bot` is called only through delivery.

The rule, per module of bot/, handlers/ and web/ other than handlers/transport.py (the adapter
delivery runs on) and bot/app.py (the composition root that builds the Bot):

1. no import of `aiogram.methods` (method objects are how a call is made without the Bot's
   helpers: `await bot(SendMessage(...))`, or returning one from a handler as a webhook reply);
2. no call of a receiver that is a Bot: a name annotated `Bot`, assigned `Bot(...)`, or called
   `bot` or `_bot` (also as an attribute: `self._bot`, `message.bot`) - neither `bot(...)`
   itself nor `bot.<api method>(...)`, the API methods being aiogram's own list;
3. no aiogram shortcut on an update object: `message.answer(...)`, `callback.message.edit_text
   (...)`, `event.chat.ban(...)` - any method of an aiogram type that returns a Bot API method,
   called on a name annotated with an aiogram type (the handler's parameters).

It reads names, not types, so it can be fooled on purpose; it is here to stop the easy mistake.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import aiogram.methods
import aiogram.types
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "handlers", "web")
ALLOWED = {Path("handlers/transport.py"), Path("bot/app.py")}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


API_METHODS = frozenset(_snake(name) for name in aiogram.methods.__all__)
AIOGRAM_TYPES = frozenset(aiogram.types.__all__) | {"Bot"}


def _shortcuts() -> frozenset[str]:
    """Methods of aiogram types that build a Bot API call (`Message.answer` -> SendMessage)."""
    names: set[str] = set()
    for type_name in aiogram.types.__all__:
        cls = getattr(aiogram.types, type_name)
        if not isinstance(cls, type):
            continue
        for attr, fn in vars(cls).items():
            if attr.startswith("_") or not inspect.isfunction(fn):
                continue
            returns = inspect.signature(fn).return_annotation
            returns = returns if isinstance(returns, str) else getattr(returns, "__name__", "")
            if returns in aiogram.methods.__all__:
                names.add(attr)
    return frozenset(names)


SHORTCUTS = _shortcuts()
BOT_NAME = re.compile(r"_?bot")  # bot, self._bot, message.bot: how a Bot is usually named


def _annotation_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Where `source` talks to Telegram without delivery, as "file:line: what"."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    bots: set[str] = set()  # names (or attributes) that hold a Bot, besides *bot ones
    events: set[str] = set()  # names that hold an aiogram object

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("aiogram.methods") or (
                node.module == "aiogram" and any(a.name == "methods" for a in node.names)
            ):
                found.append(f"{filename}:{node.lineno}: imports aiogram.methods")
        elif isinstance(node, ast.Import):
            if any(a.name.startswith("aiogram.methods") for a in node.names):
                found.append(f"{filename}:{node.lineno}: imports aiogram.methods")
        elif isinstance(node, ast.arg | ast.AnnAssign):
            target = node.arg if isinstance(node, ast.arg) else getattr(node.target, "id", None)
            kinds = _annotation_names(node.annotation) & AIOGRAM_TYPES
            if target and "Bot" in kinds:
                bots.add(target)
            elif target and kinds:
                events.add(target)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and "Bot" in _annotation_names(node.value.func)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name | ast.Attribute):
                    bots.add(target.id if isinstance(target, ast.Name) else target.attr)

    def is_bot(node: ast.expr) -> bool:
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
        return name in bots or BOT_NAME.fullmatch(name) is not None

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        where = f"{filename}:{node.lineno}"
        if is_bot(func):
            found.append(f"{where}: calls the Bot directly")
        elif isinstance(func, ast.Attribute):
            if is_bot(func.value) and func.attr in API_METHODS:
                found.append(f"{where}: Bot.{func.attr}")
            root = _root(func.value)
            if isinstance(root, ast.Name) and root.id in events and func.attr in SHORTCUTS:
                found.append(f"{where}: aiogram shortcut .{func.attr}()")
    return found


def test_the_bot_is_called_only_through_delivery() -> None:
    found: list[str] = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative not in ALLOWED:
                found += violations(path.read_text(encoding="utf-8"), str(relative))
    assert found == [], "send through bot.delivery instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "from aiogram.methods import SendMessage",
        "import aiogram.methods",
        "from aiogram import methods",
        "async def f(bot):\n    await bot.send_message(1, 'x')",
        "async def f(b: Bot):\n    await b.ban_chat_member(1, 2)",
        "async def f(m):\n    await m.bot.delete_message(1, 2)",
        "async def f(self):\n    await self.bot(x)",
        "async def f(self):\n    await self._bot.send_message(1, 'x')",
        "tg = Bot(token)\nasync def f():\n    await tg.get_chat(1)",
        "async def h(message: Message):\n    await message.answer('hi')",
        "async def h(cb: CallbackQuery):\n    await cb.message.edit_text('hi')",
        "async def h(event: types.ChatMemberUpdated):\n    await event.chat.ban(5)",
    ],
)
def test_the_check_catches_each_way_around_delivery(source: str) -> None:
    assert violations(source)


@pytest.mark.parametrize(
    "source",
    [
        "async def h(message: Message, gateway: ChatGateway):\n"
        "    await gateway.send_message(message.chat.id, message.text)",
        "@router.message(Command('stats'))\nasync def h(message: Message):\n    return None",
        "async def f(bot: Bot):\n    me = bot.id\n    return bot.token",
        "async def f(delivery):\n    await delivery.delete_message(1, 2)",
    ],
)
def test_the_check_lets_delivery_and_plain_reads_through(source: str) -> None:
    assert violations(source) == []
