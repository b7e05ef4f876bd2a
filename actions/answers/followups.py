"""Follow-up questions on the previous answer ("en hoe vaak?", "welke dan?", "en als ik zwanger ben?").

The cue words live in data/knowledge/followups.yml, which a practice may edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Mapping, Optional, Set, Tuple

from actions.answers.faq import FaqEntry
from actions.answers.lexical import stem
from actions.datafile import Entry, read_yaml
from actions.text import fold

_TOKEN = re.compile(r"[0-9a-z']+")


def _tokens(text: str) -> Tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(text)))


def _contains(tokens: Tuple[str, ...], phrase: Tuple[str, ...]) -> bool:
    width = len(phrase)
    return any(tokens[i : i + width] == phrase for i in range(len(tokens) - width + 1))


@dataclass(frozen=True)
class Followups:
    """The cue words of follow-up questions."""

    cue_phrases: Mapping[str, Tuple[Tuple[str, ...], ...]]
    filler: FrozenSet[str]
    max_words: int = 9
    # Cues that name a subject of their own ("zwanger"): they may lead to an entry of another topic.
    subjects: FrozenSet[str] = frozenset()
    # Words that open a follow-up ("en", "maar") and words that point back ("dat", "daarmee").
    openers: FrozenSet[str] = frozenset()
    anaphors: FrozenSet[str] = frozenset()

    def _matches(self, tokens: Tuple[str, ...], cue: str) -> bool:
        return any(_contains(tokens, phrase) for phrase in self.cue_phrases[cue])

    def words(self, cue: str) -> Tuple[str, ...]:
        """The one-word phrases of a cue."""
        return tuple(phrase[0] for phrase in self.cue_phrases.get(cue, ()) if len(phrase) == 1)

    def cues(self, text: str) -> Set[str]:
        """The cues that occur in `text`."""
        tokens = _tokens(text)
        return {cue for cue, phrases in self.cue_phrases.items() if any(_contains(tokens, p) for p in phrases)}

    def is_followup(self, text: str) -> bool:
        """Short, with a cue, and no subject words of its own."""
        tokens = _tokens(text)
        if not tokens or len(tokens) > self.max_words:
            return False
        cue_words = {word for phrases in self.cue_phrases.values() for phrase in phrases for word in phrase}
        if not self.cues(text):
            return False
        return all(token in self.filler or token in cue_words for token in tokens)

    def is_contextual(self, text: str) -> bool:
        """Short and pointing back: opens with "en"/"maar"/"ook" or holds "dat", "daar", "daarmee" ..."""
        tokens = _tokens(text)
        if not tokens or len(tokens) > self.max_words:
            return False
        return tokens[0] in self.openers or any(token in self.anaphors for token in tokens)

    def points_back(self, text: str) -> bool:
        """Short and holding a word that points back to the previous answer ("dat", "daarmee")."""
        tokens = _tokens(text)
        return 0 < len(tokens) <= self.max_words and any(token in self.anaphors for token in tokens)

    def best_entry(
        self,
        text: str,
        cues: Set[str],
        topic: str,
        faq: Mapping[str, FaqEntry],
        exclude: Optional[str] = None,
        context: str = "",
    ) -> Optional[FaqEntry]:
        """The FAQ entry whose question holds the follow-up's cues, within the previous topic first.

        "en als ik zwanger ben?" after a painkiller answer finds "Mag ik pijnstillers als ik
        zwanger ben?" under the pregnancy topic too: outside the topic an entry also needs a
        word in common with the previous answer's question (`context`).
        """
        context_words = {stem(t) for t in _tokens(context) if t not in self.filler and len(t) > 3}
        best: Optional[FaqEntry] = None
        best_score = 0
        for entry in faq.values():
            if entry.id == exclude:
                continue
            question = _tokens(entry.question)
            hits = sum(1 for cue in cues if any(_contains(question, p) for p in self.cue_phrases[cue]))
            if not hits:
                continue
            shared = len(context_words & {stem(t) for t in question})
            if entry.topic != topic and not (shared and any(self._matches(question, c) for c in cues & self.subjects)):
                continue
            score = 4 * hits + (3 if entry.topic == topic else 0) + shared
            if score > best_score:
                best, best_score = entry, score
        return best


def load_followups(path: Path) -> Followups:
    """Loads and checks followups.yml.

    Raises:
        DataFileError: naming the file, line and entry that is wrong.
    """
    root = Entry(path, read_yaml(path), "file")
    root.version()
    cues_entry = Entry(path, root.mapping("cues"), "cues", root.line)
    phrases: Dict[str, Tuple[Tuple[str, ...], ...]] = {}
    for cue in cues_entry.data:
        found = tuple(_tokens(phrase) for phrase in cues_entry.text_list(cue))
        if not all(found):
            raise cues_entry.error(f"cue '{cue}' has a phrase without words")
        phrases[cue] = found
    filler = frozenset(token for word in root.text_list("filler") for token in _tokens(word))
    max_words = root.data.get("max_words", 9)
    if not isinstance(max_words, int) or max_words < 2:
        raise root.error("'max_words' must be a whole number of at least 2")
    subjects = frozenset(root.text_list("subject_cues", required=False))
    unknown = sorted(subjects - set(phrases))
    if unknown:
        raise root.error(f"'subject_cues' names unknown cue(s) {unknown}")
    openers = frozenset(token for word in root.text_list("openers") for token in _tokens(word))
    anaphors = frozenset(token for word in root.text_list("anaphors") for token in _tokens(word))
    return Followups(phrases, filler, max_words, subjects, openers, anaphors)
