"""Counts answers, not intents: is the reply to each message one of its acceptable answers?

For every message of an answer set the trained NLU parses it (in-process, the same model the
server loads) and `decide` chooses the reply, exactly as in the chat. A reply is
- acceptable: its `answer_id` is one of the message's acceptable answers;
- wrong: a substantive answer (FAQ entry, topic, passage, scope, administration, contact,
  conversation) that is not acceptable: the patient is told something beside the point;
- unhelpful: a clarifying question, rephrase request or "not covered" that was not acceptable.
Intent accuracy (DIET's intent against the expected topic) is printed beside it, so "right topic,
wrong answer" shows.

Sets: tests/answers/*.yml with `messages` (one turn each) or `conversations` (multi-turn; a
conversation counts when every turn is acceptable).

Usage: python scripts/evaluate_answers.py [--misses] [--model models/backbot.tar.gz] [FILE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETS = ROOT / "tests" / "answers"
MODEL = ROOT / "models" / "backbot.tar.gz"
UNHELPFUL = ("clarify", "fallback", "not_covered")
SUBSTANTIVE_KINDS = ("faq", "topic", "passage", "out_of_scope", "admin", "contact", "conversation", "followup_duration")


def load_agent(model: Path):
    """The trained Rasa model, for parsing only."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    return Agent.load(str(model))


def parser(agent) -> Any:
    """A blocking parse function over the agent's NLU."""
    loop = asyncio.new_event_loop()

    def parse(text: str) -> Dict[str, Any]:
        return loop.run_until_complete(agent.parse_message(text))

    return parse


def judge(answer_id: str, kind: str, acceptable: Sequence[str]) -> str:
    """acceptable, wrong or unhelpful."""
    if answer_id in acceptable or (answer_id.startswith("red_flag/") and "red_flag" in acceptable):
        return "acceptable"
    if kind in SUBSTANTIVE_KINDS and answer_id not in UNHELPFUL:
        return "wrong"
    return "unhelpful"


def run_messages(messages: List[Dict[str, Any]], parse, services) -> List[Dict[str, Any]]:
    """Decides every message on its own (a fresh conversation each)."""
    from actions.answers.decide import State, decide

    rows = []
    for message in messages:
        parsed = parse(message["text"])
        decision = decide(message["text"], parsed, State(), services)
        rows.append(
            {
                "text": message["text"],
                "group": message.get("group", "all"),
                "expected": message.get("expected"),
                "acceptable": list(message.get("acceptable") or []),
                "answer_id": decision.answer_id,
                "kind": decision.kind,
                "intent": (parsed.get("intent") or {}).get("name"),
                "verdict": judge(decision.answer_id, decision.kind, message.get("acceptable") or []),
            }
        )
    return rows


def run_conversations(conversations: List[Dict[str, Any]], parse, services) -> List[Dict[str, Any]]:
    """Plays every conversation turn by turn, carrying the state as the chat's slots would."""
    from actions.answers.decide import State, decide
    from actions.answers.reply import compose, next_state

    rows = []
    for conversation in conversations:
        state, turns = State(), []
        for turn in conversation["turns"]:
            parsed = parse(turn["user"])
            decision = decide(turn["user"], parsed, state, services)
            reply = compose(decision, services, turn["user"], state)
            verdict = judge(decision.answer_id, decision.kind, turn.get("acceptable") or [])
            turns.append((turn["user"], decision.answer_id, turn.get("acceptable"), verdict))
            state = next_state(state, turn["user"], decision, reply)
        rows.append(
            {"name": conversation.get("name", ""), "turns": turns, "ok": all(t[3] == "acceptable" for t in turns)}
        )
    return rows


def expected_intent(expected: str | None) -> str | None:
    """The DIET intent that fits an expected topic or class."""
    if not expected:
        return None
    if expected.startswith("admin/"):
        return "ask_practice_admin"
    if expected.startswith("out_of_scope/"):
        return "out_of_scope"
    if expected == "fallback":
        return "nlu_fallback"
    if expected in ("greet", "goodbye", "thanks", "bot_challenge", "request_human", "request_appointment"):
        return expected
    if expected == "not_covered":
        return None
    return f"ask_{expected}"


def report_messages(name: str, rows: List[Dict[str, Any]], misses: bool) -> Dict[str, Tuple[float, float]]:
    """Prints acceptable/wrong/unhelpful and intent accuracy per group."""
    groups: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)
    print(f"\n{name}: {len(rows)} messages")
    print(f"  {'group':<16}{'n':>5}{'acceptable':>12}{'wrong':>8}{'unhelpful':>11}{'intent acc.':>13}")
    figures = {}
    for group in sorted(groups) + ["all"]:
        chosen = rows if group == "all" else groups[group]
        counts = Counter(row["verdict"] for row in chosen)
        n = len(chosen)
        with_intent = [r for r in chosen if expected_intent(r["expected"])]
        intent_ok = sum(r["intent"] == expected_intent(r["expected"]) for r in with_intent)
        acc = counts["acceptable"] / n
        wrong = counts["wrong"] / n
        intent = f"{intent_ok / len(with_intent):.1%}" if with_intent else "-"
        print(f"  {group:<16}{n:>5}{acc:>12.1%}{wrong:>8.1%}{counts['unhelpful'] / n:>11.1%}{intent:>13}")
        figures[group] = (acc, wrong)
    kinds = Counter(row["kind"] for row in rows)
    print("  reply kinds: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    if misses:
        for row in rows:
            if row["verdict"] != "acceptable":
                print(
                    f"  [{row['verdict']}] {row['text'][:90]!r} -> {row['answer_id']} (acceptable {row['acceptable']})"
                )
    return figures


def report_conversations(name: str, rows: List[Dict[str, Any]], misses: bool) -> float:
    """Prints the share of conversations whose every turn got an acceptable answer."""
    ok = sum(row["ok"] for row in rows)
    turns = [t for row in rows for t in row["turns"]]
    turn_ok = sum(t[3] == "acceptable" for t in turns)
    print(f"\n{name}: {len(rows)} conversations, {len(turns)} turns")
    print(f"  conversations fully right {ok / len(rows):.1%}   turns acceptable {turn_ok / len(turns):.1%}")
    if misses:
        for row in rows:
            if not row["ok"]:
                print(f"  {row['name']}:")
                for user, answer_id, acceptable, verdict in row["turns"]:
                    mark = "  " if verdict == "acceptable" else "!!"
                    print(f"    {mark} {user[:70]!r} -> {answer_id} (acceptable {acceptable})")
    return ok / len(rows)


def main(argv: List[str] | None = None) -> int:
    """Evaluates the answer sets."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("files", nargs="*", type=Path)
    args.add_argument("--misses", action="store_true", help="list every message without an acceptable answer")
    args.add_argument("--model", type=Path, default=MODEL)
    options = args.parse_args(argv)
    import yaml

    from actions.config import get_services

    files = options.files or sorted(SETS.glob("*.yml"))
    parse = parser(load_agent(options.model))
    services = get_services()
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        label = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
        if data.get("description"):
            label += f" ({data['description']})"
        if "messages" in data:
            report_messages(label, run_messages(data["messages"], parse, services), options.misses)
        if "conversations" in data:
            report_conversations(label, run_conversations(data["conversations"], parse, services), options.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
