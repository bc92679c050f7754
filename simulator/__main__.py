"""Run the simulator standalone: `python -m simulator` (or `groupops simulator`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence

from simulator.flood import FloodLimits
from simulator.server import Simulator


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    parser = argparse.ArgumentParser(
        prog="simulator", description="A Telegram Bot API simulator on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--username", default="groupops_bot", help="the bot's username")
    parser.add_argument("--token", default=None, help="a fixed token (default: a new one)")
    parser.add_argument("--demo", action="store_true", help="create a demo group with members")
    parser.add_argument("--no-flood", action="store_true", help="switch flood control off")
    parser.add_argument(
        "--read-all", action="store_true", help="the bot reads all group messages (privacy off)"
    )
    return parser


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> Simulator:
    """Start the simulator, print how to reach it, and serve until `stop` is set."""
    limits = FloodLimits.disabled() if args.no_flood else None
    sim = Simulator(host=args.host, port=args.port, flood_limits=limits)
    await sim.start()
    bot = sim.create_bot(
        username=args.username, token=args.token, can_read_all_group_messages=args.read_all
    )
    # The two lines to paste into the bot's .env, exactly as they must be written there.
    print("for the bot's .env:")
    print(f"TELEGRAM_API_BASE={sim.url}")
    print(f"BOT_TOKEN={bot.token}")
    print(f"bot:       @{bot.username} (id {bot.id})")
    print(f"control:   POST {sim.url}/control/<op> (list: GET {sim.url}/control)")
    if args.demo:
        owner = sim.create_user("Olga", username="olga_owner")
        group = sim.create_group("Demo group", creator_id=owner.id)
        sim.add_bot(group, bot.id, admin=True)
        for name in ("Alice", "Bob", "Chen"):
            member = sim.create_user(name)
            sim.join(group, member.id)
        print(f"demo:      group {group} (owner {owner.id}) with the bot as admin")
    print("serving; Ctrl-C stops", flush=True)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await sim.stop()
    return sim


async def serve_until_signalled(args: argparse.Namespace) -> None:
    """`serve` until SIGINT (Ctrl-C) or SIGTERM: handled on the loop, so the simulator stops
    cleanly also where it started with SIGINT ignored (a background job) or under a service
    manager (SIGTERM)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C stays KeyboardInterrupt
            loop.add_signal_handler(sig, stop.set)
    await serve(args, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m simulator` and `groupops simulator`."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_until_signalled(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
