"""The `groupops` command: run, migrate, simulator, demo and bench."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Sequence

from bot import logging as bot_logging
from bot import preflight
from bot.config import Settings, SettingsError, load_settings
from bot.preflight import StartupError

log = logging.getLogger("groupops")


# CPython walks every live object in a full collection once a quarter as many again have
# survived since the last. The analytics keep hundreds of thousands for a large group (its
# members' histories and days, kept for the local day), and `/segments` at 5M events spent half
# its time in two or three such walks a call (`groupops bench analytics`). Full collections are
# put off ten times longer than the default (10 collections of the middle generation); young
# objects are collected as before.
FULL_COLLECTION_AFTER = 100


def tune_gc() -> None:
    """Collect the oldest generation less often (see `FULL_COLLECTION_AFTER`)."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    tune_gc()
    # These pass their own options through, so they are dispatched before parsing.
    if args_list[:1] == ["simulator"]:
        from simulator.__main__ import main as simulator_main

        return simulator_main(args_list[1:])
    if args_list[:2] == ["bench", "ingest"]:
        from benchmarks.ingest import main as bench_main

        return bench_main(args_list[2:])
    if args_list[:2] == ["bench", "analytics"]:
        from benchmarks.analytics import main as bench_analytics_main

        return bench_analytics_main(args_list[2:])
    if args_list[:2] == ["bench", "timers"]:
        from benchmarks.timers import main as bench_timers_main

        return bench_timers_main(args_list[2:])
    if args_list[:1] == ["eval-questions"]:
        from bot.questions_eval import main as eval_questions_main

        return eval_questions_main(args_list[1:])
    if args_list[:1] == ["eval-promo"]:
        from bot.detectors.evaluate import main as eval_promo_main

        return eval_promo_main(args_list[1:])
    parser = argparse.ArgumentParser(prog="groupops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (long polling, or --webhook)")
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of polling")
    commands.add_parser("migrate", help="upgrade the database to the latest schema")
    commands.add_parser(
        "rebuild-rollups", help="fold stored events into the analytics rollups again (bot stopped)"
    )
    commands.add_parser("simulator", help="run the Telegram Bot API simulator (--help: options)")
    demo = commands.add_parser("demo", help="the bot, the simulator and a small community")
    demo.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (0: when done)"
    )
    demo.add_argument("--database", default="sqlite+aiosqlite:///./groupops-demo.db")
    commands.add_parser(
        "eval-questions", help="score the question detector on a labelled file (--help)"
    )
    commands.add_parser("eval-promo", help="score the promo detector on a labelled file (--help)")
    from bot.report import add_arguments as add_report_arguments

    add_report_arguments(
        commands.add_parser("report", help="print or write a group's analytics (--help)")
    )
    from bot.standings import add_arguments as add_standings_arguments

    add_standings_arguments(
        commands.add_parser("standings", help="a group's leaderboards and top inviters (--help)")
    )
    from bot.modlog import add_arguments as add_modlog_arguments

    add_modlog_arguments(commands.add_parser("modlog", help="a group's moderation log (--help)"))
    from bot.content_cli import add_arguments as add_content_arguments

    add_content_arguments(
        commands.add_parser(
            "content", help="plan content: add, list, show, move, cancel, export, import"
        )
    )
    bench = commands.add_parser("bench", help="benchmarks against a bare-framework baseline")
    bench.add_argument(
        "name", choices=["ingest", "analytics", "timers"], help="`bench ingest --help`: options"
    )
    args = parser.parse_args(args_list)

    redactor = bot_logging.configure("INFO")
    try:
        if args.command == "demo":
            from bot.demo import run_demo

            return asyncio.run(run_demo(args.database, args.seconds))
        settings = load_settings()
        redactor = bot_logging.configure(settings.log_level, settings.secrets())
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            print(f"database is at the latest schema: {redactor.redact(settings.database_url)}")
            return 0
        if args.command == "report":
            from bot.report import run_report

            return asyncio.run(run_report(settings, args))
        if args.command == "modlog":
            from bot.modlog import run_modlog

            return asyncio.run(run_modlog(settings, args))
        if args.command == "standings":
            from bot.standings import run_standings

            return asyncio.run(run_standings(settings, args))
        if args.command == "content":
            from bot.content_cli import run_content

            return asyncio.run(run_content(settings, args))
        if args.command == "rebuild-rollups":
            print(f"rollups rebuilt from {asyncio.run(_rebuild_rollups(settings)):,} events")
            return 0
        return asyncio.run(_run(settings, webhook=args.webhook))
    except SettingsError as exc:
        return _fail(redactor, exc, 2)
    except StartupError as exc:
        return _fail(redactor, exc, 1)
    except KeyboardInterrupt:
        return 130  # Ctrl-C before the bot took over the signal: nothing to report
    except Exception as exc:
        # A bug, not an operator's mistake: its traceback is worth having, through the log,
        # so that the token in a library's error message is hidden like everywhere else.
        log.critical("stopped by an unexpected error", exc_info=exc)
        return 1


def _fail(redactor: bot_logging.RedactSecrets, exc: Exception, code: int) -> int:
    """One line on stderr; the traceback only at LOG_LEVEL=DEBUG (an operator's mistake is not
    a bug, and 200 lines of asyncpg hide the one that says what to do)."""
    log.debug("start-up failed", exc_info=exc)
    print(f"groupops: {redactor.redact(str(exc))}", file=sys.stderr)
    return code


async def _migrate(settings: Settings) -> None:
    from storage.migrate import upgrade_to_head

    await preflight.check_database(settings.database_url)
    await upgrade_to_head(settings.database_url)


async def _rebuild_rollups(settings: Settings) -> int:
    """Fold history into the rollups (e.g. events recorded before migration 0005)."""
    from storage.analytics import rebuild_rollups
    from storage.engine import create_engine, session_factory

    await preflight.check_database(settings.database_url)
    # The bot's lock: a running bot folding its own batches meanwhile would count them twice.
    async with preflight.instance_lock(settings.database_url):
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                events = await rebuild_rollups(session)
                await session.commit()
        finally:
            await engine.dispose()
    return events


async def _run(settings: Settings, *, webhook: bool) -> int:
    token = settings.require_token()
    if webhook:
        preflight.check_webhook(settings)
    await preflight.check_bot_api(settings.telegram_api_base, token)
    await preflight.wait_for_database(settings.database_url, settings.database_wait_seconds)
    # aiogram takes seconds to import: a failed check should not wait for it.
    from bot.app import GroupOps
    from handlers.polling import PollingError

    async with preflight.instance_lock(settings.database_url):
        app = GroupOps(settings)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stopping.set)
        try:
            await app.start()
            if webhook:
                await app.run_webhook(stopping)
            else:
                await app.run_polling(stopping)
        except PollingError as exc:
            if exc.status == 401:
                raise StartupError(
                    "BOT_TOKEN was refused while running (401 Unauthorized): it was revoked or "
                    "changed in @BotFather; put the new token in .env"
                ) from exc
            if exc.status != 409:
                raise
            raise StartupError(
                "another process is polling Telegram with this BOT_TOKEN (409 Conflict): stop "
                "it; one token serves one running bot"
            ) from exc
        finally:
            await app.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
