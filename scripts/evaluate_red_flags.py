"""Red-flag evaluation: recall, false alarms, under-triage and tier accuracy per test set.

Each set is a YAML file with `cases` (one message and its expected tier) and optionally
`conversations` (several turns and the highest tier that must be escalated by the end).
Messages are read by the same detector the assistant uses (patterns and learned detector
combined, with the conversation's earlier turns as memory).

    python scripts/evaluate_red_flags.py [--misses] [--root DIR] [FILE ...]

`--root` evaluates the code of another checkout (used once to measure a blind set on the code
as it was before any change).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
RANK = {"none": 0, "gp_soon": 1, "same_day": 2, "emergency": 3, "emergency_112": 4, "crisis": 5}
# The development table (tuned against), and the blind sets, each written by someone who saw neither
# the patterns nor another set: blind3 was measured before the issue-8 changes, blind5 after the
# first round, blind6 after the second, blind7 after the third, blind8 after the fourth, blind9
# after the fifth and blind10 after the sixth; each was then used for fixes except the last.
# blind4's misses were seen by mistake before it could be measured blind.
DEFAULT_SETS = (
    ("tests/red_flag_cases.yml", "development table (tuned against)"),
    ("tests/red_flag_heldout.yml", "first blind set (since used for fixes)"),
    ("tests/red_flag_blind2.yml", "second blind set (since used for fixes)"),
    ("tests/red_flags/blind3.yml", "third blind set (measured before the issue-8 changes, then used for fixes)"),
    ("tests/red_flags/blind4.yml", "fourth blind set (its misses were seen mid-way by mistake: not blind)"),
    (
        "tests/red_flags/blind5.yml",
        "fifth blind set (measured once after the first round of changes, then used for fixes)",
    ),
    ("tests/red_flags/blind6.yml", "sixth blind set (measured once after the second round, then used for fixes)"),
    ("tests/red_flags/blind7.yml", "seventh blind set (measured once after the third round, then used for fixes)"),
    ("tests/red_flags/blind8.yml", "eighth blind set (measured once after the fourth round, then used for fixes)"),
    ("tests/red_flags/blind9.yml", "ninth blind set (measured once after the fifth round, then used for fixes)"),
    ("tests/red_flags/blind10.yml", "tenth blind set (written blind, measured once after the sixth round)"),
)


class Reader:
    """Runs the detector of a checkout on messages and conversations."""

    def __init__(self, root: Path) -> None:
        """Imports the detector of `root`."""
        sys.path.insert(0, str(root))
        from actions.config import get_detector

        self.detector = get_detector()
        self.with_memory = "earlier" in inspect.signature(self.detector.assess).parameters

    def outcome(
        self, text: str, previous: Sequence[str] = (), earlier: Sequence[str] = ()
    ) -> Tuple[str, bool, List[str]]:
        """(tier or 'none', whether the safety check is asked for, the red flags reported)."""
        if self.with_memory:
            assessment = self.detector.assess(text, list(previous), earlier=list(earlier))
        else:
            assessment = self.detector.assess(text, list(previous))
        tier = assessment.tier or ("crisis" if assessment.crisis else "none")
        check = bool(getattr(assessment, "needs_check", False))
        flags = [f.flag for f in assessment.reported()]
        return tier, check, flags

    def conversation(self, turns: Sequence[str]) -> Tuple[str, bool]:
        """The highest tier escalated over the turns, and whether a safety check was asked for."""
        best, checked, previous = "none", False, []
        for index, text in enumerate(turns):
            tier, check, flags = self.outcome(text, previous, turns[:index])
            if RANK[tier] > RANK[best]:
                best = tier
            checked = checked or check
            previous = sorted(set(previous) | set(flags))
        return best, checked


def evaluate(reader: Reader, path: Path, what: str, misses: bool) -> Dict[str, float]:
    """Prints and returns the figures of one set."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = data.get("cases") or []
    results = [(case, *reader.outcome(case["text"])[:2]) for case in cases]
    reports = [r for r in results if r[0]["tier"] != "none"]
    others = [r for r in results if r[0]["tier"] == "none"]
    caught = [r for r in reports if r[1] != "none"]
    caught_or_checked = [r for r in reports if r[1] != "none" or r[2]]
    alarms = [r for r in others if r[1] != "none"]
    checks = [r for r in others if r[1] == "none" and r[2]]
    exact = [r for r in caught if r[1] == r[0]["tier"]]
    under = [r for r in reports if r[0]["tier"] in ("emergency", "emergency_112") and RANK[r[1]] < RANK[r[0]["tier"]]]
    figures = {
        "recall": len(caught) / max(1, len(reports)),
        "false_alarms": len(alarms) / max(1, len(others)),
        "under_triage": len(under),
        "tier_exact": len(exact) / max(1, len(caught)),
    }
    print(f"\nRed flags, {what} ({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path})")
    print(f"  {len(reports)} reports, {len(others)} non-reports")
    print(f"  recall (escalated)               {figures['recall']:.3f}  ({len(caught)}/{len(reports)})")
    print(f"  escalated or safety check        {len(caught_or_checked) / max(1, len(reports)):.3f}")
    print(f"  false alarms (escalated)         {figures['false_alarms']:.3f}  ({len(alarms)}/{len(others)})")
    print(f"  non-reports given a safety check {len(checks) / max(1, len(others)):.3f}  ({len(checks)}/{len(others)})")
    print(f"  under-triaged emergencies        {len(under)}")
    print(f"  tier exact when escalated        {figures['tier_exact']:.3f}  ({len(exact)}/{len(caught)})")
    conversations = data.get("conversations") or []
    if conversations:
        right = 0
        for conversation in conversations:
            got, _ = reader.conversation(conversation["turns"])
            expected = conversation["tier"]
            ok = got == expected if expected == "none" else RANK[got] >= RANK[expected]
            right += ok
            if misses and not ok:
                print(
                    f"    conversation expected {expected:<13} got {got:<13} {' / '.join(conversation['turns'])[:110]}"
                )
        figures["conversations"] = right / len(conversations)
        print(f"  conversations right              {right} of {len(conversations)}")
    if misses:
        for case, tier, check in results:
            if tier != case["tier"]:
                mark = " (check)" if check else ""
                print(f"    expected {case['tier']:<13} got {tier + mark:<21} {case['text'][:100]}")
    return figures


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Evaluates the default sets, or the files named."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--misses", action="store_true", help="list every message with a wrong tier")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose detector is measured")
    args = parser.parse_args(argv)
    reader = Reader(args.root.resolve())
    sets = [(path, path.stem) for path in args.files] or [(ROOT / name, what) for name, what in DEFAULT_SETS]
    for path, what in sets:
        if path.exists():
            evaluate(reader, path, what, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
