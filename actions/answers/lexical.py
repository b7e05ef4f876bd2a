"""A second opinion within a topic: which FAQ entry holds the message's rarer words.

The ResponseSelector reads word features only and spreads its confidence over ~270 answers, so
within a topic it can miss the one word that decides ("massage", "pijneducatie", "meenemen").
This index weighs each word of the message by how few entries use it (idf over the FAQ's
questions and examples) and scores an entry by the share of that weight its own words cover.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Dict, FrozenSet, Iterable, Mapping, Set

from actions.answers.faq import FaqEntry
from actions.text import fold

_WORD = re.compile(r"[a-z]{3,}")


def stem(word: str) -> str:
    """A crude Dutch stem: 'oefeningen' -> 'oefening', 'wervels' -> 'wervel'."""
    for ending in ("en", "s", "e"):
        if len(word) > 5 and word.endswith(ending):
            return word[: -len(ending)]
    return word


class FaqLexicon:
    """The words of every FAQ entry (question and examples), with their rarity across entries."""

    def __init__(self, faq: Mapping[str, FaqEntry], stop_words: Iterable[str]) -> None:
        """Indexes the entries; `stop_words` (function words) never count."""
        self.stop: FrozenSet[str] = frozenset(stem(fold(w)) for w in stop_words)
        self.words: Dict[str, Set[str]] = {}
        self.by_topic: Dict[str, list] = defaultdict(list)
        frequency: Dict[str, int] = defaultdict(int)
        for entry in faq.values():
            words = self._words(" ".join((entry.question, *entry.examples)))
            self.words[entry.id] = words
            self.by_topic[entry.topic].append(entry.id)
            for word in words:
                frequency[word] += 1
        total = max(1, len(faq))
        self.idf = {word: math.log(total / count) for word, count in frequency.items()}

    def _words(self, text: str) -> Set[str]:
        return {stem(w) for w in _WORD.findall(fold(text))} - self.stop

    def scores(self, text: str, topic: str) -> Dict[str, float]:
        """For the entries of `topic`: how much more of the text's rare words each holds than the topic's median entry.

        A word that most entries of the topic hold ("oefeningen" under exercises) tells nothing,
        so it lifts no entry above the median.
        """
        shares = self.shares(text, topic)
        if not shares:
            return {}
        entries = self.by_topic.get(topic, ())
        values = sorted(shares.get(entry_id, 0.0) for entry_id in entries)
        median = values[len(values) // 2] if values else 0.0
        return {entry_id: share - median for entry_id, share in shares.items() if share > median}

    def shares(self, text: str, topic: str) -> Dict[str, float]:
        """For each entry of `topic` sharing a word with `text`: the idf-weighted share of the text's words it holds."""
        words = [w for w in self._words(text) if w in self.idf]
        weight = sum(self.idf[w] for w in words)
        if not weight:
            return {}
        found = {}
        for entry_id in self.by_topic.get(topic, ()):
            covered = sum(self.idf[w] for w in words if w in self.words[entry_id])
            if covered:
                found[entry_id] = covered / weight
        return found
