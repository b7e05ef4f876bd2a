"""Benchmarks the running assistant next to Rasa's starter bot, measured in the same run.

Starts both servers on their own ports with a fresh conversation database, sends held-out
patient messages over the REST channel (one user, then 20 concurrent users) and prints a table.
Each simulated user holds conversations of CONVERSATION_TURNS messages, then starts a new one
(a new sender id), as patients do: Rasa's cost per message grows with the conversation's length.
Then it creates Rasa's starter bot (`rasa init`, scripts/starter_bot.py), sends it the same
messages in the same way and prints its figures beside ours, with the ratio ours/starter.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ROOT, Servers  # noqa: E402
from starter_bot import StarterBot, rss_mb  # noqa: E402

CONVERSATION_TURNS = 10
STARTER_PORT = 5305
# Issue 12 for one instance: p50, throughput, start and memory; the others as before.
TARGETS = {
    "p50_1": 15.0,
    "p95_1": 60.0,
    "throughput_20": 100.0,
    "start": 15.0,
    "memory": 700.0,
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


@dataclass
class Load:
    """Latencies (ms) of the one-user and the concurrent run, and how long the concurrent run took."""

    single: List[float]
    concurrent: List[float]
    elapsed_s: float

    @property
    def throughput(self) -> float:
        """Messages per second of the concurrent run."""
        return len(self.concurrent) / self.elapsed_s if self.elapsed_s > 0 else float("nan")


def measure_rest(url: str, texts: List[str], single: int, per_user: int, users: int = 20) -> Load:
    """The REST load every bot gets: a warm-up, one user, then `users` concurrent users."""
    asyncio.run(run_users(url, texts, users=4, per_user=10))  # warm-up
    one, _ = asyncio.run(run_users(url, texts, users=1, per_user=single))
    many, elapsed = asyncio.run(run_users(url, texts, users=users, per_user=per_user))
    return Load(one, many, elapsed)


@dataclass
class Figures:
    """What a run measures of one bot, the same way for the assistant and the starter bot."""

    load: Load
    start_s: float  # from starting the processes to the first 200 on Rasa's `GET /`
    rasa_mb: float  # resident memory of the Rasa process after the load
    train_s: float
    actions_mb: Optional[float] = None  # the starter bot has no action server


@dataclass(frozen=True)
class Row:
    """One line of the table: a number (in `unit`) or ready text; `better` says which way is good."""

    measure: str
    ours: Union[float, str, None]
    target: str = ""
    starter: Union[float, str, None] = None
    unit: str = ""
    better: str = "lower"
    digits: int = 1


def value_text(value: Union[float, str, None], unit: str = "", digits: int = 1) -> str:
    """A value with its unit ("" when there is none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f} {unit}".strip()


def ratio_text(ours: Union[float, str, None], starter: Union[float, str, None], better: str = "lower") -> str:
    """Ours divided by the starter bot's, e.g. "0.55x (lower is better)"; "" when there is nothing to compare."""
    if not isinstance(ours, (int, float)) or not isinstance(starter, (int, float)):
        return ""
    if not (math.isfinite(ours) and math.isfinite(starter)) or starter == 0:
        return "n/a"
    return f"{ours / starter:.2f}x ({better} is better)"


# The measures taken of both bots: name, how to read it from Figures, unit, target, better, digits.
COMPARED = [
    ("REST p50, 1 user", lambda f: statistics.median(f.load.single), "ms", f"<= {TARGETS['p50_1']:.0f} ms", "lower", 1),
    ("REST p95, 1 user", lambda f: percentile(f.load.single, 95), "ms", f"<= {TARGETS['p95_1']:.0f} ms", "lower", 1),
    ("REST p50, 20 users", lambda f: statistics.median(f.load.concurrent), "ms", "", "lower", 1),
    ("REST p95, 20 users", lambda f: percentile(f.load.concurrent, 95), "ms", "", "lower", 1),
    (
        "throughput, 20 users",
        lambda f: f.load.throughput,
        "msg/s",
        f">= {TARGETS['throughput_20']:.0f} msg/s",
        "higher",
        1,
    ),
    ("server start (ready on GET /)", lambda f: f.start_s, "s", f"<= {TARGETS['start']:.0f} s", "lower", 1),
    ("resident memory, Rasa", lambda f: f.rasa_mb, "MB", f"<= {TARGETS['memory']:.0f} MB", "lower", 0),
    ("resident memory, actions", lambda f: f.actions_mb, "MB", "", "lower", 0),
    ("training time", lambda f: f.train_s, "s", f"<= {TARGETS['train']:.0f} s", "lower", 0),
]


def comparison_rows(ours: Figures, starter: Optional[Figures]) -> List[Row]:
    """The rows measured of both bots (the starter bot's values empty when it was skipped)."""
    return [
        Row(name, read(ours), target, None if starter is None else read(starter), unit, better, digits)
        for name, read, unit, target, better, digits in COMPARED
    ]


def format_table(rows: List[Row]) -> List[str]:
    """The table's lines: measure, ours, target, starter bot, ours/starter (columns as wide as their texts)."""
    cells = [("measure", "ours", "target", "starter bot", "ours/starter")] + [
        (
            row.measure,
            value_text(row.ours, row.unit, row.digits),
            row.target,
            value_text(row.starter, row.unit, row.digits),
            ratio_text(row.ours, row.starter, row.better),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(4)]
    return [
        f"  {m:<{widths[0]}}  {o:>{widths[1]}}   {t:<{widths[2]}}  {s:>{widths[3]}}   {r}".rstrip()
        for m, o, t, s, r in cells
    ]


def measure_production(
    texts: List[str], per_user: int, users: int = 20, instances: int = 2
) -> Tuple[Load, List[float]]:
    """The same 20 users over `make prod` (nginx, `instances` Rasa instances, PostgreSQL, Redis).

    Returns the load and each Rasa instance's resident memory (MB) after it.
    """
    from prod import throwaway_profile

    with throwaway_profile(instances, block=6, label="bench") as profile:
        url = f"{profile.url}/webhooks/rest/webhook"
        asyncio.run(run_users(url, texts, users=4, per_user=10))  # warm-up
        many, elapsed = asyncio.run(run_users(url, texts, users=users, per_user=per_user))
        memory = [rss_mb(profile.pid(f"rasa-{i + 1}")) for i in range(instances)]
    return Load([], many, elapsed), memory


def main() -> int:
    """Runs the benchmark and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=300, help="messages sent by the single user")
    parser.add_argument("--per-user", type=int, default=30, help="messages per user with 20 concurrent users")
    parser.add_argument("--no-starter", action="store_true", help="skip Rasa's starter bot (a quicker run)")
    parser.add_argument("--starter-port", type=int, default=STARTER_PORT, help="port of the starter bot")
    parser.add_argument("--no-prod", action="store_true", help="skip the 2-instance run over `make prod`")
    args = parser.parse_args()
    texts = messages()
    with tempfile.TemporaryDirectory() as tmp:
        servers = Servers(
            rasa_port=5205, actions_port=5255, web_port=8280, tracker_db=Path(tmp) / "bench.db", log_dir=Path(tmp)
        )
        with servers.start(web=False):
            load = measure_rest(f"{servers.rasa_url}/webhooks/rest/webhook", texts, args.single, args.per_user)
            memory = {name: rss_mb(process.pid) for name, process in servers.processes.items()}
            unique = sorted(set(texts))
            parsed = parses(servers.rasa_url, unique, servers.token)
            backend = servers.language_backend()
            start = servers.started_in_s or float("nan")
    train_file = ROOT / "results" / "train_seconds.txt"
    train = float(train_file.read_text()) if train_file.exists() else float("nan")
    ours = Figures(load, start, memory.get("rasa", float("nan")), train, memory.get("actions", float("nan")))
    starter = None
    if not args.no_starter:
        print("==> Rasa's starter bot: rasa init (trains it), then the same messages ...", flush=True)
        with StarterBot(port=args.starter_port) as bot:
            starter_load = measure_rest(bot.rest_url, texts, args.single, args.per_user)
            starter = Figures(starter_load, bot.started_in_s or float("nan"), bot.rss_mb(), bot.train_s or float("nan"))
    production_rows: List[Row] = []
    if not args.no_prod:
        print(
            "==> The production profile with 2 instances (nginx, PostgreSQL, Redis), the same 20 users ...", flush=True
        )
        production, instance_mb = measure_production(texts, args.per_user)
        production_rows = [
            Row(
                "throughput, 20 users, 2 instances (make prod)",
                production.throughput,
                f">= {TARGETS['throughput_20']:.0f} msg/s",
                None if starter is None else starter.load.throughput,
                "msg/s",
                "higher",
            ),  # fmt: skip
            Row(
                "REST p50, 20 users, 2 instances (make prod)",
                statistics.median(production.concurrent),
                "",
                None if starter is None else statistics.median(starter.load.concurrent),
                "ms",
            ),  # fmt: skip
            Row(
                "resident memory per Rasa instance (make prod)",
                max(instance_mb),
                f"<= {TARGETS['memory']:.0f} MB",
                None if starter is None else starter.rasa_mb,
                "MB",
                digits=0,
            ),  # fmt: skip
        ]
    cases = yaml.safe_load((ROOT / "tests" / "red_flag_cases.yml").read_text(encoding="utf-8"))["cases"]
    detector = detector_cost_ms(texts + [case["text"] for case in cases])
    decision = decision_cost_ms(unique, parsed)
    rows = (
        comparison_rows(ours, starter)
        + production_rows
        + [
            Row("decision + reply (mean/p50/p95)", "/".join(f"{v:.2f}" for v in decision) + " ms", "p50 <= 5 ms"),
            *(
                Row(f"red flags, {name} (mean/p95/max)", "/".join(f"{v:.2f}" for v in values) + " ms", target)
                for (name, values), target in zip(
                    detector.items(),
                    ("", f"p95 <= {TARGETS['detector']:.0f} ms", f"p95 <= {TARGETS['detector']:.0f} ms"),
                    strict=True,
                )
            ),
        ]
    )
    print(
        f"\nBenchmark ({len(load.single)} + {len(load.concurrent)} REST messages per bot in conversations of "
        f"{CONVERSATION_TURNS}; Dutch NLU: {backend})"
    )
    print(
        "  ours: Rasa (SQLite tracker store) + action server, start = both ready; training = last make train\n"
        + (
            "  starter bot: `rasa init` (English, in-memory tracker store), trained and measured in this run\n"
            if starter
            else "  starter bot: skipped (--no-starter)\n"
        )
    )
    print("\n".join(format_table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
