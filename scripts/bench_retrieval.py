"""Leaflet search speed: time per question on a generated corpus of 1,000 passages, and on the real index.

    python scripts/bench_retrieval.py [--passages 1000] [--questions 500]

The corpus is generated from the shipped and real leaflets: sections made of their sentences
in a random order, with made-up words mixed in so the vocabulary grows as it would with more
leaflets. Time per question covers the Dutch analysis (spaCy) and the BM25 search.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from actions.language import skip_tensorflow  # noqa: E402

skip_tensorflow()

import yaml  # noqa: E402

from actions import config  # noqa: E402
from actions.leaflets.index import LeafletIndex  # noqa: E402

SEEDS = config.seeds_folder()


def questions() -> list:
    """The questions of the retrieval sets (answerable and not covered)."""
    found = []
    for path in sorted((ROOT / "tests" / "retrieval").glob("*.yml")):
        found += [str(item["q"]) for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]]
    return found


def generate(folder: Path, passages: int, sentences: list, rng: random.Random) -> None:
    """Writes Markdown leaflets with `passages` sections of about 80 words each."""
    syllables = ["rug", "pijn", "ber", "kol", "vin", "ster", "ma", "lo", "tra", "ven", "del", "sen"]
    per_file = 10
    for number in range(passages // per_file):
        lines = [f"---\ntitle: Gegenereerde folder {number}\npublisher: bench\n---\n"]
        for section in range(per_file):
            words = 0
            body = []
            while words < 80:
                sentence = rng.choice(sentences)
                if rng.random() < 0.3:
                    sentence += " " + "".join(rng.choice(syllables) for _ in range(3)) + "."
                body.append(sentence)
                words += len(sentence.split())
            lines.append(f"## Onderwerp {number}-{section}\n\n{' '.join(body)}\n")
        (folder / f"folder-{number:04d}.md").write_text("\n".join(lines), encoding="utf-8")


def timed(index: LeafletIndex, asked: list, hints: list) -> list:
    """Milliseconds per question (analysis and search, with the two topic hints the chat passes)."""
    for question, hint in zip(asked[:20], hints, strict=False):
        index.search(question, hints=hint)
    result = []
    for question, hint in zip(asked, hints, strict=False):
        started = time.perf_counter()
        index.search(question, limit=3, hints=hint)
        result.append((time.perf_counter() - started) * 1000)
    return result


def report(name: str, index: LeafletIndex, millis: list) -> None:
    """One line of figures."""
    millis = sorted(millis)
    print(
        f"  {name:28} {len(index.passages):>6} passages  mean {statistics.mean(millis):5.2f} ms  "
        f"p50 {millis[len(millis) // 2]:5.2f}  p95 {millis[int(len(millis) * 0.95)]:5.2f}  max {millis[-1]:5.2f}"
    )


def main() -> int:
    """Builds both indexes and prints the time per question."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(42)
    settings, analyzer = config.get_leaflet_settings(), config.get_analyzer()
    folders = [ROOT / "data" / "leaflets"] + ([SEEDS] if SEEDS.is_dir() else [])
    real = LeafletIndex.build(folders, settings, analyzer)
    sentences = [s for p in real.passages for s in p.text.replace("• ", "").split(". ") if len(s.split()) > 3]
    asked = [rng.choice(questions()) for _ in range(args.questions)]
    medical = [a for a in config.get_knowledge().answers.values() if a.kind == "medical"]
    hints = [[f"{a.label}. {a.text}" for a in rng.sample(medical, 2)] for _ in asked]
    print(f"Leaflet search speed ({args.questions} questions, each with 2 topic hints; {analyzer.backend})")
    report("real leaflets", real, timed(real, asked, hints))
    with tempfile.TemporaryDirectory() as directory:
        generate(Path(directory), args.passages, sentences, rng)
        started = time.perf_counter()
        generated = LeafletIndex.build([Path(directory)], settings, analyzer)
        built = time.perf_counter() - started
        millis = timed(generated, asked, hints)
        report("generated corpus", generated, millis)
        print(f"  ingest of the generated corpus: {built:.1f} s; goal: <= 5 ms per question for 1,000 passages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
