"""Load test of the production profile: many conversations at once over nginx, nothing lost.

    python scripts/loadtest.py [--conversations 200] [--turns 10] [--instances 1 2]   (`make loadtest`)

For each number of instances it starts the production profile (scripts/prod.py) on its own ports
with a throwaway PostgreSQL database and Redis key prefix, lets every conversation send its turns
one after the other (all conversations at once, closed loop: the next turn after the answer), and
then reads every conversation from PostgreSQL: it must hold exactly its turns, in order (lost,
duplicated and reordered turns are counted). Prints latency percentiles and throughput per run.

A closed-loop asyncio driver fits this better than a general load tool: the check is per
conversation (exact turns in order), and the load is a fixed number of whole conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from prod import throwaway_profile  # noqa: E402

QUESTIONS = [
    "is bewegen schadelijk?", "moet ik een foto laten maken?", "hoe lang duurt rugpijn meestal?",
    "mag ik sporten met rugpijn?", "helpt warmte?", "welke pijnstillers mag ik nemen?",
    "wat doet een fysiotherapeut?", "hoe vaak moet ik oefenen?", "is een hernia gevaarlijk?", "bedankt!",
]  # fmt: skip


def turn_text(turn: int) -> str:
    """The patient's message at a turn (numbered, so order and duplicates can be checked)."""
    return f"{QUESTIONS[turn % len(QUESTIONS)]} (vraag {turn + 1})"


async def run_load(url: str, conversations: int, turns: int, prefix: str = "load") -> Tuple[List[float], int, float]:
    """All conversations at once; returns the latencies (s), the failed requests and the wall time."""
    import aiohttp

    latencies: List[float] = []
    failures = 0
    outcomes: Counter = Counter()

    async def conversation(session, sender: str) -> None:
        nonlocal failures
        for turn in range(turns):
            began = time.perf_counter()
            try:
                async with session.post(
                    f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": turn_text(turn)}
                ) as response:
                    body = await response.read()
                    ok = response.status == 200 and json.loads(body or b"[]")
                    outcomes[response.status if response.status != 200 or ok else "200 without answer"] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                ok = False
                outcomes[type(error).__name__] += 1
            latencies.append(time.perf_counter() - began)
            failures += 0 if ok else 1

    connector = aiohttp.TCPConnector(limit=0)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        await asyncio.gather(*(conversation(session, f"{prefix}-{i:04d}") for i in range(conversations)))
    wall = time.perf_counter() - began
    if failures:
        print(f"  failed requests: {dict(outcomes)}", flush=True)
    return latencies, failures, wall


def check_trackers(database: Dict[str, str], conversations: int, turns: int, prefix: str = "load") -> Dict[str, int]:
    """Counts lost, duplicated and reordered turns and wrong conversations, from PostgreSQL."""
    import psycopg2

    with psycopg2.connect(
        host=database["BACKBOT_DB_HOST"], port=int(database["BACKBOT_DB_PORT"]), user=database["BACKBOT_DB_USER"],
        password=database["BACKBOT_DB_PASSWORD"] or None, dbname=database["BACKBOT_DB_NAME"],
    ) as connection, connection.cursor() as cursor:  # fmt: skip
        cursor.execute("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id")
        stored: Dict[str, List[str]] = {}
        for sender, data in cursor:
            stored.setdefault(sender, []).append(json.loads(data)["text"])
    expected = [turn_text(turn) for turn in range(turns)]
    counts = {"lost": 0, "duplicated": 0, "reordered": 0, "wrong_conversations": 0}
    for i in range(conversations):
        got = stored.get(f"{prefix}-{i:04d}", [])
        counts["lost"] += len([t for t in expected if t not in got])
        counts["duplicated"] += len(got) - len(set(got))
        in_order = [t for t in got if t in expected]
        counts["reordered"] += int(in_order != sorted(in_order, key=expected.index))
        counts["wrong_conversations"] += int(got != expected)
    return counts


def percentile(values: List[float], q: float) -> float:
    """The q-th percentile (0-100) of the values, in ms."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000


def one_run(instances: int, conversations: int, turns: int) -> Dict[str, float]:
    """Starts the profile with `instances` instances, runs the load, checks the trackers."""
    with throwaway_profile(instances, block=5, label="load") as profile:
        asyncio.run(run_load(profile.url, 10, 2, prefix="warm-up"))
        latencies, failures, wall = asyncio.run(run_load(profile.url, conversations, turns))
        counts = check_trackers(profile.settings.database, conversations, turns)
    return {
        "instances": instances, "messages": len(latencies), "failed": failures,
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
        "mean": statistics.mean(latencies) * 1000, "throughput": len(latencies) / wall, **counts,
    }  # fmt: skip


def main() -> int:
    """Runs the load per number of instances and prints one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = [one_run(n, args.conversations, args.turns) for n in args.instances]
    print(f"\nLoad test: {args.conversations} conversations x {args.turns} turns at once over nginx (REST)")
    print("  instances  messages  failed   p50 ms   p95 ms   p99 ms   msg/s  lost  dup  reordered  wrong conv.")
    for r in rows:
        print(f"  {r['instances']:9d}  {r['messages']:8d}  {r['failed']:6d}  {r['p50']:7.0f}  {r['p95']:7.0f}  "
              f"{r['p99']:7.0f}  {r['throughput']:6.1f}  {r['lost']:4d}  {r['duplicated']:3d}  {r['reordered']:9d}  "
              f"{r['wrong_conversations']:11d}")  # fmt: skip
    bad = any(r["failed"] or r["lost"] or r["duplicated"] or r["reordered"] or r["wrong_conversations"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
