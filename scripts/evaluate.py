"""Evaluates the assistant: NLU on the held-out sets and the red-flag detector on its table.

Prints intent accuracy, macro-F1 and the intents with errors (writes the confusion matrix image
and Rasa's reports to results/nlu/), then red-flag recall, false-alarm rate and tier accuracy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "nlu"
# The table the detector was developed against (also a pytest); a first blind set (written apart
# from the patterns; its misses were then used to improve them, so it is no longer blind); and a
# second blind set, written after those improvements and never used to change the detector.
RED_FLAG_SETS = (
    (ROOT / "tests" / "red_flag_cases.yml", "development table"),
    (ROOT / "tests" / "red_flag_heldout.yml", "first blind set (since used for fixes)"),
    (ROOT / "tests" / "red_flag_blind2.yml", "second blind set"),
)
OUT = ROOT / "results" / "nlu"
MODEL = ROOT / "models" / "backbot.tar.gz"


def evaluate_nlu() -> dict:
    """Runs `rasa test nlu` on the held-out set and returns Rasa's intent report."""
    rasa = Path(sys.executable).parent / "rasa"
    command = [str(rasa), "test", "nlu", "--nlu", str(HELDOUT), "--model", str(MODEL), "--out", str(OUT)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit("rasa test nlu failed")
    return json.loads((OUT / "intent_report.json").read_text(encoding="utf-8"))


def main() -> int:
    """Prints the held-out NLU figures."""
    report = evaluate_nlu()
    intents = {k: v for k, v in report.items() if isinstance(v, dict) and "support" in v and "avg" not in k}
    examples = sum(v["support"] for v in intents.values())
    print(f"\nHeld-out NLU ({HELDOUT.relative_to(ROOT)}/*.yml: {examples} examples, {len(intents)} intents)")
    print(f"  intent accuracy   {report['accuracy']:.3f}")
    print(f"  macro-F1          {report['macro avg']['f1-score']:.3f}")
    print(f"  weighted-F1       {report['weighted avg']['f1-score']:.3f}")
    weak = sorted((v["f1-score"], k, v.get("confused_with", {})) for k, v in intents.items() if v["f1-score"] < 1)
    if weak:
        print("  intents with errors (F1, confused with):")
        for f1, name, confused in weak:
            print(f"    {name:<28} {f1:.2f}  {confused}")
    print(f"  confusion matrix  {(OUT / 'intent_confusion_matrix.png').relative_to(ROOT)}")
    evaluate_red_flags()
    return 0


def evaluate_red_flags() -> None:
    """Prints recall on reports and the false-alarm rate on non-reports, per red-flag test set."""
    import yaml

    sys.path.insert(0, str(ROOT))
    from actions.config import get_detector

    detector = get_detector()

    def found(text: str) -> str:
        assessment = detector.assess(text)
        return assessment.tier or ("crisis" if assessment.crisis else "none")

    for path, what in RED_FLAG_SETS:
        if not path.exists():
            continue
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
        reports = [c for c in cases if c["tier"] != "none"]
        others = [c for c in cases if c["tier"] == "none"]
        caught = [c for c in reports if found(c["text"]) != "none"]
        exact = [c for c in cases if found(c["text"]) == c["tier"]]
        alarms = [c for c in others if found(c["text"]) != "none"]
        print(f"\nRed flags, {what} ({path.relative_to(ROOT)}: {len(reports)} reports, {len(others)} non-reports)")
        print(f"  recall on reports        {len(caught) / len(reports):.3f}  ({len(caught)}/{len(reports)})")
        print(f"  false-alarm rate         {len(alarms) / len(others):.3f}  ({len(alarms)}/{len(others)})")
        print(f"  exact tier               {len(exact) / len(cases):.3f}  ({len(exact)}/{len(cases)})")
        for case in [c for c in cases if found(c["text"]) != c["tier"]]:
            print(f"    expected {case['tier']:<13} got {found(case['text']):<13} {case['text'][:70]}")


if __name__ == "__main__":
    sys.exit(main())
