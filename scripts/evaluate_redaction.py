"""Redaction on the blind set: how many personal details are removed, and how much else is kept.

    python scripts/evaluate_redaction.py [--set tests/privacy/blind_redaction.yml] [--misses]

The set was written by someone who had seen neither the code nor the tests: patient messages
with every personal detail listed (kind and exact text) and words that must stay. A detail
counts as removed when none of its parts is left in the redacted message (a part: a word of
three or more letters other than a tussenvoegsel, or a group of two or more digits). Prints, per
kind, the share removed; the share of words-to-keep left untouched; and the share of messages
without personal details that come out exactly as written.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from actions.privacy.redact import redact  # noqa: E402

SMALL_WORDS = {"van", "der", "den", "ter", "ten", "het", "bus", "tel", "mevr", "dhr", "geb"}


def parts(value: str) -> list:
    """The pieces of a detail that must not be left: longer words and digit groups."""
    words = [w for w in re.findall(r"[^\W\d_]{3,}", value) if w.lower() not in SMALL_WORDS]
    return words + re.findall(r"\d{2,}", value)


def leaked(value: str, redacted: str) -> list:
    """The parts of `value` still in the redacted message (as whole words or digit groups)."""
    found = []
    for part in parts(value):
        pattern = rf"(?<!\d){re.escape(part)}(?!\d)" if part.isdigit() else rf"\b{re.escape(part)}\b"
        if re.search(pattern, redacted, flags=0 if part.isdigit() else re.IGNORECASE):
            found.append(part)
    return found


def main() -> int:
    """Prints the figures (and with --misses every leak and every changed word to keep)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default=str(ROOT / "tests" / "privacy" / "blind_redaction.yml"))
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    messages = yaml.safe_load(Path(args.set).read_text(encoding="utf-8"))["messages"]
    total, removed = Counter(), Counter()
    keep_total = keep_ok = clean_total = clean_ok = 0
    misses = []
    for message in messages:
        text = message["text"]
        redacted = redact(text)
        for item in message.get("pii") or []:
            total[item["kind"]] += 1
            left = leaked(item["value"], redacted)
            if left:
                misses.append(f"LEAK {item['kind']:9} {item['value']!r} -> left {left} in: {redacted}")
            else:
                removed[item["kind"]] += 1
        for keep in message.get("keep") or []:
            keep_total += 1
            if keep in redacted:
                keep_ok += 1
            else:
                misses.append(f"LOST keep {keep!r} in: {redacted}")
        if not message.get("pii"):
            clean_total += 1
            if redacted == text:
                clean_ok += 1
            else:
                misses.append(f"CHANGED   {text!r} -> {redacted!r}")
    print(f"Redaction on {Path(args.set).name}: {len(messages)} messages, {sum(total.values())} personal details")
    for kind in sorted(total):
        print(f"  {kind:10} removed {removed[kind]:3d} / {total[kind]:3d}  ({removed[kind] / total[kind]:.0%})")
    print(f"  all        removed {sum(removed.values()):3d} / {sum(total.values()):3d}  "
          f"({sum(removed.values()) / max(1, sum(total.values())):.0%})")  # fmt: skip
    print(f"  words to keep left untouched: {keep_ok} / {keep_total} ({keep_ok / max(1, keep_total):.0%})")
    print(f"  messages without personal details unchanged: {clean_ok} / {clean_total} "
          f"({clean_ok / max(1, clean_total):.0%})")  # fmt: skip
    if args.misses:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
