"""The `groupops` command: run, migrate, simulator, demo and bench."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from bot import logging as bot_logging
from bot.config import Settings, SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # These pass their own options through, so they are dispatched before parsing.
    if args_list[:1] == ["simulator"]:
        from simulator.__main__ import main as simulator_main

        return simulator_main(args_list[1:])
    if args_list[:2] == ["bench", "ingest"]:
        from benchmarks.ingest import main as bench_main

        return bench_main(args_list[2:])
    if args_list[:1] == ["eval-questions"]:
        from bot.questions_eval import main as eval_questions_main

        return eval_questions_main(args_list[1:])
    parser = argparse.ArgumentParser(prog="groupops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (long polling, or --webhook)")
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of polling")
    commands.add_parser("migrate", help="upgrade the database to the latest schema")
    commands.add_parser("simulator", help="run the Telegram Bot API simulator (--help: options)")
    demo = commands.add_parser("demo", help="the bot, the simulator and a small community")
    demo.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (0: when done)"
    )
    demo.add_argument("--database", default="sqlite+aiosqlite:///./groupops-demo.db")
    commands.add_parser(
        "eval-questions", help="score the question detector on a labelled file (--help)"
    )
    bench = commands.add_parser("bench", help="benchmarks against a bare-framework baseline")
    bench.add_argument("name", choices=["ingest"], help="`bench ingest --help`: options")
    args = parser.parse_args(args_list)

    try:
        if args.command == "demo":
            from bot.demo import run_demo

            bot_logging.configure("INFO")
            return asyncio.run(run_demo(args.database, args.seconds))
        settings = load_settings()
        if args.command == "migrate":
            from storage.migrate import upgrade_to_head

            bot_logging.configure(settings.log_level)
            asyncio.run(upgrade_to_head(settings.database_url))
            print(f"database is at the latest schema: {settings.database_url}")
            return 0
        token = settings.require_token()
        bot_logging.configure(settings.log_level, token)
        return asyncio.run(_run(settings, webhook=args.webhook))
    except SettingsError as exc:
        print(f"groupops: {exc}", file=sys.stderr)
        return 2


async def _run(settings: Settings, *, webhook: bool) -> int:
    from bot.app import GroupOps

    app = GroupOps(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    await app.start()
    try:
        if webhook:
            await app.run_webhook(stopping)
        else:
            await app.run_polling(stopping)
    finally:
        await app.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
