"""Leaflet retrieval: hit@1, hit@3 and honest "not covered" on question sets written apart from the code.

    python scripts/evaluate_retrieval.py              # the test sets (make evaluate)
    python scripts/evaluate_retrieval.py --calibrate --sets dev.yml tuning.yml  # choose min_confidence
    python scripts/evaluate_retrieval.py --misses     # also list the questions that missed

Question sets (tests/retrieval/): questions.yml (the real leaflets of ../shared/seeds),
shipped.yml (the leaflets in data/leaflets); dev.yml and tuning.yml (both kinds) are only for
calibration and for trying changes, never for the figures we report. Each
answerable question names the leaflet and a phrase of the passage that answers it. Answerable
questions are searched in the index of their own leaflets; "not covered" questions in the
index of all leaflets together, the strictest case.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from actions.language import skip_tensorflow  # noqa: E402

if "--nlu" not in sys.argv:  # only the NLU model needs it
    skip_tensorflow()

import yaml  # noqa: E402

from actions import config  # noqa: E402
from actions.leaflets.index import LeafletIndex  # noqa: E402

SETS = ROOT / "tests" / "retrieval"
SEEDS = config.seeds_folder()
SHIPPED = (ROOT / "data" / "leaflets").resolve()
GOALS = {"hit@1": 0.85, "hit@3": 0.95, "not covered": 0.90}


def squash(text: str) -> str:
    """Lower-case letters and digits only, so spacing, bullets and line breaks do not matter."""
    return re.sub(r"[^0-9a-zà-ÿ]", "", text.lower())


@dataclass
class Question:
    """A question and what answers it (None: the leaflets do not cover it)."""

    text: str
    answers: Optional[List[Tuple[str, str]]]


def load_set(path: Path) -> List[Question]:
    """Reads a question set."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = []
    for item in data["questions"]:
        answers = None if item.get("not_covered") else [(a["file"], squash(a["contains"])) for a in item["answers"]]
        questions.append(Question(str(item["q"]), answers))
    return questions


# Question -> the topics NLU ranks highest, as hints for ranking (filled by --nlu).
HINTS: Dict[str, List[str]] = {}


def load_hints(questions: Sequence[Question]) -> None:
    """Parses every question with the trained model and keeps the answers of its top topics as hints."""
    import asyncio
    import contextlib

    from rasa.core.agent import Agent

    from actions.leaflets.replies import topic_hints

    with contextlib.redirect_stdout(sys.stderr):
        agent = Agent.load(str(ROOT / "models" / "backbot.tar.gz"))

        async def parse_all() -> None:
            for question in questions:
                parsed = await agent.parse_message(question.text)
                ranking = [(i.get("name"), i.get("confidence", 0.0)) for i in parsed.get("intent_ranking") or []]
                HINTS[question.text] = topic_hints(config.get_knowledge(), ranking)

        asyncio.run(parse_all())


def rank_of_answer(index: LeafletIndex, question: Question, depth: int = 3) -> Tuple[Optional[int], float]:
    """The rank (1-based) of the first answering passage in the top `depth`, and the best hit's confidence."""
    hits = index.search(question.text, limit=depth, hints=HINTS.get(question.text, ()))
    confidence = hits[0].confidence if hits else 0.0
    for rank, hit in enumerate(hits, 1):
        text = squash(hit.passage.text)
        if any(hit.passage.document.endswith(file) and phrase in text for file, phrase in question.answers or []):
            return rank, confidence
    return None, confidence


@dataclass
class Scores:
    """Retrieval figures of one set."""

    name: str
    answerable: int
    hit1: int
    hit3: int
    answered: int
    not_covered_total: int
    not_covered_honest: int
    misses: List[str]


def own_index(question: Question, seeds: Optional[LeafletIndex], shipped: LeafletIndex) -> Optional[LeafletIndex]:
    """The index of the leaflets that answer the question (the shipped ones, or the real ones)."""
    if (SHIPPED / question.answers[0][0]).exists():
        return shipped
    return seeds


def evaluate(
    name: str,
    questions: Sequence[Question],
    seeds: Optional[LeafletIndex],
    shipped: LeafletIndex,
    combined: LeafletIndex,
) -> Scores:
    """Scores one set; answerable questions in the index of their own leaflets, not-covered ones in `combined`."""
    threshold = shipped.settings.min_confidence
    scores = Scores(name, 0, 0, 0, 0, 0, 0, [])
    for question in questions:
        if question.answers is None:
            hits = combined.search(question.text, limit=1, hints=HINTS.get(question.text, ()))
            confidence = hits[0].confidence if hits else 0.0
            scores.not_covered_total += 1
            if confidence < threshold:
                scores.not_covered_honest += 1
            else:
                where = f"{hits[0].document.name} '{hits[0].passage.heading}'"
                scores.misses.append(f"  quoted ({confidence:.2f}) though not covered: {question.text!r} -> {where}")
            continue
        own = own_index(question, seeds, shipped)
        if own is None:
            continue
        rank, confidence = rank_of_answer(own, question)
        scores.answerable += 1
        scores.hit1 += rank == 1
        scores.hit3 += rank is not None
        scores.answered += confidence >= threshold
        if rank != 1:
            best = own.search(question.text, limit=1, hints=HINTS.get(question.text, ()))
            got = f"{best[0].document.name} '{best[0].passage.heading}'" if best else "nothing"
            scores.misses.append(f"  rank {rank or '>3'} (confidence {confidence:.2f}): {question.text!r} -> {got}")
        elif confidence < threshold:
            scores.misses.append(f"  right passage but below threshold ({confidence:.2f}): {question.text!r}")
    return scores


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def build(folders: List[Path]) -> LeafletIndex:
    """An index of these folders, with the project's settings."""
    settings = config.get_leaflet_settings()
    return LeafletIndex.build(folders, settings, config.get_analyzer())


def calibrate(dev: Sequence[Question], seeds: LeafletIndex, shipped: LeafletIndex, combined: LeafletIndex) -> None:
    """Prints, per threshold, answered and honest-not-covered rates on the dev set, and the best threshold."""
    answerable = [rank_of_answer(own_index(q, seeds, shipped), q)[1] for q in dev if q.answers is not None]
    uncovered = [
        (combined.search(q.text, limit=1, hints=HINTS.get(q.text, ())) or [None])[0] for q in dev if q.answers is None
    ]
    uncovered_conf = [hit.confidence if hit else 0.0 for hit in uncovered]
    print(f"Calibration: {len(answerable)} answerable, {len(uncovered_conf)} not covered")
    print(" threshold  answered  honest-not-covered  balanced")
    chosen = None
    for step in range(20, 91, 5):
        threshold = step / 100
        answered = sum(c >= threshold for c in answerable) / len(answerable)
        honest = sum(c < threshold for c in uncovered_conf) / len(uncovered_conf)
        print(f"   {threshold:.2f}      {answered:6.1%}       {honest:6.1%}          {(answered + honest) / 2:6.1%}")
        if chosen is None and honest >= GOALS["not covered"]:
            chosen = threshold
    # Honesty first: the lowest threshold at which at least 90% of the uncovered questions get
    # "not covered"; above it, more answerable questions would be turned away for nothing.
    print(
        f"Lowest threshold with >= {GOALS['not covered']:.0%} honest 'not covered': {chosen} "
        "(set search.min_confidence in data/knowledge/leaflets.yml)"
    )


def main() -> int:
    """Evaluates (or calibrates) and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument(
        "--nlu", action="store_true", help="rank with the hints of the trained NLU model, as the chat does"
    )
    parser.add_argument("--sets", nargs="+", default=["questions.yml", "shipped.yml"], help="question files to score")
    args = parser.parse_args()
    shipped = build([SHIPPED])
    if not SEEDS.is_dir():
        print(f"The real leaflets are not at {SEEDS} (set BACKBOT_SEEDS): only the shipped leaflets are evaluated.")
    seeds = build([SEEDS]) if SEEDS.is_dir() else None
    combined = build([SHIPPED, SEEDS]) if seeds else shipped
    if args.nlu:
        load_hints([q for name in args.sets + ["dev.yml"] if (SETS / name).exists() for q in load_set(SETS / name)])
    if args.calibrate:
        if seeds is None:
            print("Calibration needs the real leaflets.", file=sys.stderr)
            return 1
        dev = [q for name in args.sets for q in load_set(SETS / name)]
        calibrate(dev, seeds, shipped, combined)
        return 0
    results = [
        evaluate(name, load_set(SETS / name), seeds, shipped, combined) for name in args.sets if (SETS / name).exists()
    ]
    threshold = shipped.settings.min_confidence
    hints = "with NLU topic hints" if args.nlu else "without NLU hints"
    print(
        f"\nLeaflet retrieval (BM25 over stems, {hints}; min_confidence {threshold}; {config.get_analyzer().backend})"
    )
    print(f"{'set':34} {'questions':>9} {'hit@1':>7} {'hit@3':>7} {'answered':>9} {'not covered':>12}")
    totals: Dict[str, int] = dict.fromkeys(("n", "h1", "h3", "ans", "nct", "nch"), 0)
    for s in results:
        print(
            f"{s.name:34} {s.answerable:>5}+{s.not_covered_total:<3} {_pct(s.hit1, s.answerable):>7} "
            f"{_pct(s.hit3, s.answerable):>7} {_pct(s.answered, s.answerable):>9} "
            f"{_pct(s.not_covered_honest, s.not_covered_total):>12}"
        )
        for key, value in zip(
            totals, (s.answerable, s.hit1, s.hit3, s.answered, s.not_covered_total, s.not_covered_honest), strict=False
        ):
            totals[key] += value
    print(
        f"{'all':34} {totals['n']:>5}+{totals['nct']:<3} {_pct(totals['h1'], totals['n']):>7} "
        f"{_pct(totals['h3'], totals['n']):>7} {_pct(totals['ans'], totals['n']):>9} "
        f"{_pct(totals['nch'], totals['nct']):>12}"
    )
    print(
        f"Goals: hit@1 >= {GOALS['hit@1']:.0%}, hit@3 >= {GOALS['hit@3']:.0%}, "
        f"honest 'not covered' >= {GOALS['not covered']:.0%}. 'answered' = answerable questions whose best "
        "passage passes the threshold (the rest get 'not covered')."
    )
    if args.misses:
        for s in results:
            print(f"\n{s.name}:")
            print("\n".join(s.misses) or "  none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
