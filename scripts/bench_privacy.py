"""Privacy and front-desk costs: redaction per message, the redacting tracker store, insight over many conversations.

    python scripts/bench_privacy.py [--conversations 500] [--turns 10]

Prints: microseconds per redacted message (the held-out NLU messages, and messages full of
personal details); milliseconds per tracker save with Rasa's SQLTrackerStore and with the
redacting PrivateTrackerStore (SQLite in a temporary folder, one save per turn, as Rasa does);
the time to compute the insight page's figures over all those conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from actions.privacy.redact import redact  # noqa: E402
from actions.privacy.tracker_store import PrivateTrackerStore  # noqa: E402
from web.desk import insight  # noqa: E402

PERSONAL = [
    "Goedemiddag, ik ben Anneke van den Berg (geboren 12-03-1965), Kerkstraat 12, 3512 JK Utrecht, tel 06-12345678.",
    "mijn mail is jan.devries@example.nl en mijn bsn is 111222333, kunt u mij terugbellen op 020-1234567?",
    "Met Sanne Jansen. Ik heb sinds 3 dagen rugpijn en kan slecht zitten, wat moet ik doen?",
]


def heldout_messages() -> list:
    """The held-out NLU messages (written apart from the training data)."""
    data = yaml.safe_load((ROOT / "tests" / "nlu" / "heldout.yml").read_text(encoding="utf-8"))
    found = []
    for block in data.get("nlu", []):
        found += [line[2:].strip() for line in str(block.get("examples", "")).splitlines() if line.startswith("- ")]
    return found


def time_redaction(messages: list, rounds: int = 5) -> float:
    """Microseconds per message (best of `rounds`)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for message in messages:
            redact(message)
        best = min(best, (time.perf_counter() - start) / len(messages))
    return best * 1e6


def conversation_events(index: int, turns: int, start: float) -> list:
    """A conversation of `turns` questions and answers; every third question holds personal details."""
    events = []
    for turn in range(turns):
        at = start + turn * 30
        text = PERSONAL[turn % len(PERSONAL)] if turn % 3 == 0 else "is bewegen schadelijk bij rugpijn?"
        events += [
            ActionExecuted("action_listen", timestamp=at),
            UserUttered(
                text, {"name": "ask_movement_harmful", "confidence": 0.9}, timestamp=at, input_channel="socketio"
            ),
            ActionExecuted("action_answer", timestamp=at + 1),
            BotUttered("Nee, bewegen is niet schadelijk.", timestamp=at + 1),
            SlotSet("topic", "movement_harmful", timestamp=at + 1),
            SlotSet("answer_id", "movement_harmful", timestamp=at + 1),
        ]
    return events


async def time_saves(store, conversations: int, turns: int) -> float:
    """Milliseconds per save: each conversation saved after every turn (6 events a turn)."""
    durations = []
    start_at = time.time() - 86400
    for index in range(conversations):
        events = conversation_events(index, turns, start_at + index * 60)
        for turn in range(1, turns + 1):
            tracker = DialogueStateTracker.from_events(f"bench-{index}", events[: turn * 6])
            began = time.perf_counter()
            await store.save(tracker)
            durations.append(time.perf_counter() - began)
    return statistics.mean(durations) * 1000


def main() -> int:
    """Prints the three measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    heldout = heldout_messages()
    print(f"Redaction: {time_redaction(heldout):.0f} us per message ({len(heldout)} held-out messages), "
          f"{time_redaction(PERSONAL * 50):.0f} us per message full of personal details")  # fmt: skip
    domain = Domain.load(str(ROOT / "domain.yml"))
    with tempfile.TemporaryDirectory() as folder:
        plain = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(Path(folder) / "plain.db"))
        private = PrivateTrackerStore(domain=domain, dialect="sqlite", db=str(Path(folder) / "private.db"))
        plain_ms = asyncio.run(time_saves(plain, args.conversations, args.turns))
        private_ms = asyncio.run(time_saves(private, args.conversations, args.turns))
        print(f"Tracker save ({args.conversations} conversations x {args.turns} turns, SQLite): "
              f"SQLTrackerStore {plain_ms:.2f} ms, PrivateTrackerStore {private_ms:.2f} ms "
              f"(+{private_ms - plain_ms:.2f} ms a message)")  # fmt: skip
        insight.default_labels()  # the knowledge's labels are loaded once per process
        began = time.perf_counter()
        figures = insight.compute(private.engine, time.time() - 7 * 86400, time.time())
        took = time.perf_counter() - began
        events = args.conversations * args.turns * 6
        print(f"Insight over {figures.totals.conversations} conversations ({events} events): {took * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
