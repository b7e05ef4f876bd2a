"""Benchmarks the running assistant: REST latency and throughput, start time, memory, training time.

Starts both servers on their own ports with a fresh conversation database, sends held-out
patient messages over the REST channel (one user, then 20 concurrent users) and prints a table.
Each simulated user holds conversations of CONVERSATION_TURNS messages, then starts a new one
(a new sender id), as patients do: Rasa's cost per message grows with the conversation's length.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ROOT, Servers  # noqa: E402

CONVERSATION_TURNS = 10
TARGETS = {
    "p50_1": 25.0,
    "p95_1": 60.0,
    "throughput_20": 60.0,
    "start": 20.0,
    "train": 420.0,
    "detector": 5.0,
}


def messages() -> List[str]:
    """Patient messages from the held-out set (never seen in training)."""
    data = yaml.safe_load((ROOT / "tests" / "nlu" / "heldout.yml").read_text(encoding="utf-8"))
    return [
        line.strip()[2:]
        for block in data["nlu"]
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


async def _send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> float:
    began = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} for {text!r}")
    return (time.perf_counter() - began) * 1000


async def run_users(url: str, texts: List[str], users: int, per_user: int) -> Tuple[List[float], float]:
    """Each user sends `per_user` messages one after another; returns latencies (ms) and seconds."""
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def user(index: int) -> List[float]:
            run_id = time.time_ns()
            return [
                await _send(
                    session,
                    url,
                    f"bench-{run_id}-{users}-{index}-{i // CONVERSATION_TURNS}",
                    texts[(index * per_user + i) % len(texts)],
                )
                for i in range(per_user)
            ]

        began = time.perf_counter()
        results = await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.perf_counter() - began
    return [latency for result in results for latency in result], elapsed


def percentile(values: List[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def detector_cost_ms(texts: List[str], rounds: int = 5) -> Dict[str, Tuple[float, float, float]]:
    """Mean, p95 and maximum time (ms) per message of the red-flag reading.

    "patterns": normalisation and the pattern detector; "both": with the learned detector;
    "both + memory": with the conversation's 10 earlier turns (as the actions call it).
    """
    sys.path.insert(0, str(ROOT))
    from actions.config import get_detector
    from actions.redflags import RedFlagDetector

    detector = get_detector()
    patterns_only = RedFlagDetector(detector.rules, detector.normalise, None)
    history = texts[:10]
    runs = {
        "patterns": lambda text: patterns_only.assess(text),
        "both": lambda text: detector.assess(text),
        "both + memory": lambda text: detector.assess(text, earlier=history),
    }
    results = {}
    for name, run in runs.items():
        timings = []
        for _ in range(rounds):
            for text in texts:
                began = time.perf_counter()
                run(text)
                timings.append((time.perf_counter() - began) * 1000)
        results[name] = (statistics.mean(timings), percentile(timings, 95), max(timings))
    return results


def parses(rasa_url: str, texts: List[str], token: str) -> List[Dict[str, Any]]:
    """Rasa's NLU parse of each text (from the running server)."""
    import json
    import urllib.request

    found = []
    for text in texts:
        request = urllib.request.Request(
            f"{rasa_url}/model/parse?token={token}",
            json.dumps({"text": text}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            found.append(json.loads(response.read()))
    return found


def decision_cost_ms(texts: List[str], parsed: List[Dict[str, Any]], rounds: int = 5) -> Tuple[float, float, float]:
    """Mean, p50 and p95 time (ms) of the decision and its reply (decide + compose) per message."""
    sys.path.insert(0, str(ROOT))
    from actions.answers.decide import State, decide
    from actions.answers.reply import compose
    from actions.config import get_services

    services = get_services()
    timings = []
    for _ in range(rounds):
        for text, parse in zip(texts, parsed, strict=True):
            began = time.perf_counter()
            compose(decide(text, parse, State(), services), services, text)
            timings.append((time.perf_counter() - began) * 1000)
    return statistics.mean(timings), statistics.median(timings), percentile(timings, 95)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    """Runs the benchmark and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=300, help="messages sent by the single user")
    parser.add_argument("--per-user", type=int, default=30, help="messages per user with 20 concurrent users")
    args = parser.parse_args()
    texts = messages()
    with tempfile.TemporaryDirectory() as tmp:
        servers = Servers(
            rasa_port=5205, actions_port=5255, web_port=8280, tracker_db=Path(tmp) / "bench.db", log_dir=Path(tmp)
        )
        with servers.start(web=False):
            url = f"{servers.rasa_url}/webhooks/rest/webhook"
            asyncio.run(run_users(url, texts, users=4, per_user=10))  # warm-up
            single, _ = asyncio.run(run_users(url, texts, users=1, per_user=args.single))
            concurrent, elapsed = asyncio.run(run_users(url, texts, users=20, per_user=args.per_user))
            memory = {name: rss_mb(process.pid) for name, process in servers.processes.items()}
            unique = sorted(set(texts))
            parsed = parses(servers.rasa_url, unique, servers.token)
            backend = servers.language_backend()
            start = servers.started_in_s or float("nan")
    cases = yaml.safe_load((ROOT / "tests" / "red_flag_cases.yml").read_text(encoding="utf-8"))["cases"]
    detector = detector_cost_ms(texts + [case["text"] for case in cases])
    decision = decision_cost_ms(unique, parsed)
    train_file = ROOT / "results" / "train_seconds.txt"
    train = float(train_file.read_text()) if train_file.exists() else float("nan")
    throughput = len(concurrent) / elapsed
    rows = [
        ("REST p50, 1 user", f"{statistics.median(single):.1f} ms", f"<= {TARGETS['p50_1']:.0f} ms"),
        ("REST p95, 1 user", f"{percentile(single, 95):.1f} ms", f"<= {TARGETS['p95_1']:.0f} ms"),
        ("REST p50, 20 users", f"{statistics.median(concurrent):.1f} ms", ""),
        ("REST p95, 20 users", f"{percentile(concurrent, 95):.1f} ms", ""),
        ("throughput, 20 users", f"{throughput:.1f} msg/s", f">= {TARGETS['throughput_20']:.0f} msg/s"),
        ("server start (both ready)", f"{start:.1f} s", f"<= {TARGETS['start']:.0f} s"),
        ("resident memory, Rasa", f"{memory.get('rasa', float('nan')):.0f} MB", ""),
        ("resident memory, actions", f"{memory.get('actions', float('nan')):.0f} MB", ""),
        ("training time (last make train)", f"{train:.0f} s", f"<= {TARGETS['train']:.0f} s"),
        ("decision + reply (mean/p50/p95)", "/".join(f"{v:.2f}" for v in decision) + " ms", "p50 <= 5 ms"),
        *(
            (f"red flags, {name} (mean/p95/max)", "/".join(f"{v:.2f}" for v in values) + " ms", target)
            for (name, values), target in zip(
                detector.items(),
                ("", f"p95 <= {TARGETS['detector']:.0f} ms", f"p95 <= {TARGETS['detector']:.0f} ms"),
                strict=True,
            )
        ),
    ]
    print(
        f"\nBenchmark ({len(single)} + {len(concurrent)} REST messages in conversations of "
        f"{CONVERSATION_TURNS}; Dutch NLU: {backend})"
    )
    print(f"  {'measure':<34} {'value':>14}   target")
    for name, value, target in rows:
        print(f"  {name:<34} {value:>14}   {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
