"""The learned red-flag detector: a classifier per red flag over character and word n-grams.

It reads the same normalised text as the pattern detector, but learns its wording from
thousands of labelled reports and non-reports (data/red_flags/), so a wording nobody wrote a
pattern for can still be caught. Training takes seconds; the model is saved with a fingerprint
of its data and settings and rebuilt when either changes.

    python -m actions.redflags.learned train    # (make train does this)
    python -m actions.redflags.learned cv       # cross-validated precision and recall per threshold
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

logger = logging.getLogger(__name__)

VERSION = 1
_SENTENCES = re.compile(r"(?<=[.!?\n])\s+")
_TYPO_ALPHABET = "abcdefghijklmnoprstuvwz"
# Before- and after-texts that change nothing about a report (generated variants).
_PREFIXES = (
    "", "", "hallo, ", "goedemiddag. ", "hoi, vraagje. ", "ik ben 42 en werk in de zorg. ",
    "ik heb al een tijdje rugklachten. ", "sorry dat ik stoor. ", "ik schrijf namens mijn man. ",
    "ik heb een vraag over mijn rug. ", "ik zit nu op het werk. ", "goeiemorgen, ",
)  # fmt: skip
_SUFFIXES = (
    "", "", " wat moet ik doen?", " mag ik wel gewoon werken?", " is dat erg?", " groetjes", " graag advies.",
    " kan ik beter even wachten?", " ik weet het niet meer.", " moet ik naar de fysio?", " alvast bedankt",
)  # fmt: skip


@dataclass(frozen=True)
class Example:
    """One labelled message: the red flags it reports as present now (empty for none)."""

    text: str
    flags: Tuple[str, ...]


def read_examples(paths: Iterable[Path], known_flags: Sequence[str]) -> List[Example]:
    """Reads `examples` from the training files; a wrong entry names its file and position."""
    examples: List[Example] = []
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from error
        for position, item in enumerate(data.get("examples") or [], start=1):
            text, flags = item.get("text"), item.get("flags")
            if not isinstance(text, str) or not isinstance(flags, list):
                raise ValueError(f"{path}: example #{position} needs 'text' and a list 'flags'")
            unknown = sorted(set(flags) - set(known_flags))
            if unknown:
                raise ValueError(f"{path}: example #{position}: unknown flag id(s) {unknown}")
            examples.append(Example(text=text, flags=tuple(sorted(set(flags)))))
    return examples


def augment(examples: Sequence[Example], copies: int, seed: int = 13) -> List[Example]:
    """Generated variants: a typo, no capitals or punctuation, a greeting before, a question after."""
    rng = random.Random(seed)
    out: List[Example] = []
    for example in examples:
        for _ in range(copies):
            text = example.text
            if rng.random() < 0.5:
                text = _typo(text, rng)
            if rng.random() < 0.3:
                text = re.sub(r"[.,!?]", "", text.lower())
            text = rng.choice(_PREFIXES) + text + rng.choice(_SUFFIXES)
            out.append(Example(text=text, flags=example.flags))
    return out


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:j] + word[j + 1 :]
    elif kind == 1:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    else:
        word = word[:j] + rng.choice(_TYPO_ALPHABET) + word[j + 1 :]
    words[i] = word
    return " ".join(words)


def fingerprint(paths: Sequence[Path], settings: Dict[str, object]) -> str:
    """Changes when a training file, a setting, the normaliser or this code changes."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    here = Path(__file__).parent
    for module in ("learned.py", "normalise.py"):
        digest.update((here / module).read_bytes())
    digest.update(str(VERSION).encode())
    return digest.hexdigest()[:16]


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 3), min_df=1, sublinear_tf=True)),
        ]
    )


class LearnedDetector:
    """Scores a normalised message per red flag (the probability that it is reported)."""

    def __init__(self, vectorizer, models: Dict[str, object], fingerprint_: str = "") -> None:
        """Keeps the fitted vectorizer and one logistic regression per flag.

        The regressions' weights are stacked into one matrix, so that all flags are scored with
        one sparse product instead of a call per flag (the detector runs on every message).
        """
        import numpy as np

        self.vectorizer = vectorizer
        self.models = models
        self.fingerprint = fingerprint_
        self.flags = list(models)
        if self.flags:
            self._weights = np.column_stack([models[f].coef_[0] for f in self.flags]).astype(np.float64)
            self._bias = np.array([models[f].intercept_[0] for f in self.flags])
        else:
            self._weights = np.zeros((0, 0))
            self._bias = np.zeros(0)

    def _probabilities(self, units: Sequence[str]):
        """A (units x flags) array of probabilities."""
        import numpy as np
        from scipy.sparse import hstack

        # The union's own transform adds joblib and validation overhead per call (more than a
        # millisecond per message, measured); its parts stacked side by side are the same matrix.
        parts = [transformer.transform(list(units)) for _, transformer in self.vectorizer.transformer_list]
        matrix = hstack(parts, format="csr")
        return 1.0 / (1.0 + np.exp(-(matrix @ self._weights + self._bias)))

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[Sequence[str]], flags: Sequence[str], fingerprint_: str = ""):
        """Fits on normalised texts and their flags. Flags without examples get no model."""
        from sklearn.linear_model import LogisticRegression

        vectorizer = _vectorizer()
        matrix = vectorizer.fit_transform(texts)
        models: Dict[str, object] = {}
        for flag in flags:
            target = [flag in label for label in labels]
            if sum(target) < 3:
                continue
            model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)
            model.fit(matrix, target)
            models[flag] = model
        return cls(vectorizer, models, fingerprint_)

    def scores(self, normalised: str) -> Dict[str, float]:
        """The highest probability per flag over the whole message and each of its sentences."""
        units = [normalised]
        sentences = [s for s in _SENTENCES.split(normalised) if s.strip()]
        if len(sentences) > 1:
            units += sentences
        if not self.flags:
            return {}
        best = self._probabilities(units).max(axis=0)
        return {flag: float(best[i]) for i, flag in enumerate(self.flags)}

    def unit_scores(self, units: Sequence[str]) -> List[Dict[str, float]]:
        """The probability per flag of each text (e.g. each clause of a message)."""
        if not units or not self.flags:
            return [{} for _ in units]
        probabilities = self._probabilities(units)
        return [{flag: float(row[i]) for i, flag in enumerate(self.flags)} for row in probabilities]

    def save(self, path: Path) -> None:
        """Writes the model (joblib) beside its fingerprint."""
        import joblib

        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"fingerprint": self.fingerprint, "vectorizer": self.vectorizer, "models": self.models}, path)

    @classmethod
    def load(cls, path: Path, expected: str) -> Optional[LearnedDetector]:
        """The saved model, or None when it is missing, unreadable or out of date."""
        import joblib

        try:
            data = joblib.load(path)
        except Exception as error:  # noqa: BLE001 - any unreadable file means: rebuild
            logger.debug("Learned red-flag model not loaded from %s: %s", path, error)
            return None
        if data.get("fingerprint") != expected:
            return None
        return cls(data["vectorizer"], data["models"], expected)


def training_set(
    paths: Sequence[Path], known_flags: Sequence[str], normalise: Callable[[str], str], extra: Sequence[Example] = ()
) -> Tuple[List[str], List[Tuple[str, ...]]]:
    """The written examples plus generated variants, normalised."""
    written = read_examples(paths, known_flags) + list(extra)
    examples = written + augment(written, copies=2)
    return [normalise(e.text) for e in examples], [e.flags for e in examples]


def folds_of(count: int, folds: int = 5) -> List[Tuple[List[int], List[int]]]:
    """(train, test) index lists of a shuffled k-fold split."""
    rng = random.Random(7)
    order = list(range(count))
    rng.shuffle(order)
    splits = []
    for fold in range(folds):
        test = set(order[fold::folds])
        splits.append(([i for i in order if i not in test], sorted(test)))
    return splits


def cross_validate(texts: Sequence[str], labels: Sequence[Sequence[str]], flags: Sequence[str], folds: int = 5):
    """Out-of-fold scores of the written examples."""
    scores: List[Dict[str, float]] = [{} for _ in texts]
    for train, test in folds_of(len(texts), folds):
        model = LearnedDetector.train([texts[i] for i in train], [labels[i] for i in train], flags)
        for i in test:
            scores[i] = model.scores(texts[i])
    return scores


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`train`: build and save the model; `cv`: the learned detector alone; `calibrate`: both together."""
    from actions.config import learned_model_inputs, train_learned_detector

    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "train"
    if command == "train":
        detector = train_learned_detector(force="--force" in argv)
        print(f"Learned red-flag detector: {len(detector.models)} flags, fingerprint {detector.fingerprint}")
        return 0
    if command == "cv":
        texts, labels, flags = learned_model_inputs(augmented=False)
        scores = cross_validate(texts, labels, flags)
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            reports = [i for i, label in enumerate(labels) if label]
            nones = [i for i, label in enumerate(labels) if not label]
            caught = sum(any(scores[i].get(f, 0) >= threshold for f in labels[i]) for i in reports)
            alarms = sum(any(v >= threshold for v in scores[i].values()) for i in nones)
            print(
                f"threshold {threshold:.1f}: recall {caught / len(reports):.3f}  "
                f"false alarms {alarms / len(nones):.3f}  ({len(reports)} reports, {len(nones)} none)"
            )
        return 0
    if command == "calibrate":
        from actions.config import calibrate_thresholds

        calibrate_thresholds()
        return 0
    print("usage: python -m actions.redflags.learned [train [--force] | cv | calibrate]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
