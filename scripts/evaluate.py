"""Evaluates the NLU on the held-out sets (red flags: scripts/evaluate_red_flags.py).

Prints intent accuracy, macro-F1 and the intents with errors (writes the confusion matrix image
and Rasa's reports to results/nlu/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "nlu"
OUT = ROOT / "tests" / "nlu"
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
