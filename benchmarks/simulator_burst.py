"""Simulator figures: long-poll wake-up latency and getUpdates throughput for a message burst.

Run: .venv/bin/python -m benchmarks.simulator_burst [--messages 10000] [--users 50] [--polls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp

from simulator import FloodLimits, Simulator


async def poll(session: aiohttp.ClientSession, url: str, **params: object) -> list[dict]:
    """One getUpdates call; returns its updates."""
    async with session.post(f"{url}/getUpdates", json=params) as response:
        return list((await response.json())["result"])


async def measure(messages: int, users: int, polls: int) -> None:
    """Print the median and 95th percentile wake-up latency, then the burst throughput."""
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim, aiohttp.ClientSession() as s:
        bot = sim.create_bot()
        owner = sim.create_user("Owner")
        chat_id = sim.create_group(creator_id=owner.id)
        sim.add_bot(chat_id, bot.id)
        people = [sim.create_user(f"User{i}") for i in range(users)]
        for person in people:
            sim.join(chat_id, person.id)
        url = f"{sim.url}/bot{bot.token}"
        offset = (await poll(s, url, offset=-1))[-1]["update_id"] + 1

        latencies: list[float] = []
        for i in range(polls):
            waiting = asyncio.create_task(poll(s, url, offset=offset, timeout=10))
            await asyncio.sleep(0.005)  # let the request reach the server and start waiting
            started = time.perf_counter()
            sim.post(chat_id, people[i % users].id, f"ping {i}")
            batch = await waiting
            latencies.append(time.perf_counter() - started)
            offset = batch[-1]["update_id"] + 1
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"long-poll wake-up over {polls} polls: median "
            f"{statistics.median(latencies) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"
        )

        started = time.perf_counter()
        for i in range(messages):
            sim.post(chat_id, people[i % users].id, f"m{i}")
        posted = time.perf_counter() - started
        received = 0
        while received < messages:
            batch = await poll(s, url, offset=offset, timeout=5)
            received += len(batch)
            offset = batch[-1]["update_id"] + 1
        total = time.perf_counter() - started
        print(
            f"burst of {messages} messages from {users} users: posted in {posted:.2f} s, "
            f"all delivered by getUpdates in {total:.2f} s ({messages / total:.0f} updates/s)"
        )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(measure(args.messages, args.users, args.polls))


if __name__ == "__main__":
    main()
