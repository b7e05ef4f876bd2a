"""Turns Dutch text into search terms: lemmas, folded accents, synonyms and compound parts.

'Moet ik een röntgenfoto laten maken?' and 'is een scan nodig' meet on the term 'foto';
'rugklachten' also yields 'rug' and 'klacht', so it meets 'klachten aan de rug'.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import snowballstemmer

from actions.text import fold

_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])[-/](?=[^\W\d_])")
_POSSESSIVE = re.compile(r"'s$|'$")
_KEEP_TOKEN = re.compile(r"^[a-z0-9]{2,}$")
_PHONE_NUMBER = re.compile(r"^(?:\+31|0)\d{1,3}-?\d{5,8}$")
PHONE_TERM = "telefoonnummer"  # a phone number in a leaflet answers "welk nummer moet ik bellen?"
_SUFFIXES = ("jes", "je", "en", "s", "e")
MIN_HEAD, MIN_TAIL = 3, 4


@dataclass(frozen=True)
class Concept:
    """One word of a query and the terms that stand for it (the word, its synonym, its compound parts)."""

    word: str
    terms: Tuple[str, ...]
    parts: Tuple[str, ...] = ()


class Analyzer:
    """Dutch analysis shared by indexing and search, so a question and a passage meet on the same terms.

    Args:
        nlp: the Dutch spaCy language (see `actions.language.load_dutch`).
        backend: its backend name, recorded in the index.
        synonyms: canonical term -> words and phrases that mean the same.
        stop_words: extra words to ignore besides spaCy's Dutch stop words.
    """

    def __init__(
        self,
        nlp: Any,
        backend: str,
        synonyms: Mapping[str, Sequence[str]],
        stop_words: Iterable[str] = (),
    ) -> None:
        """Prepares the synonym table and the lemma lookup (used for compound parts)."""
        self.nlp = nlp
        self.backend = backend
        self.stop_words: FrozenSet[str] = frozenset(fold(w) for w in nlp.Defaults.stop_words) | frozenset(
            fold(w) for w in stop_words
        )
        self._lemmas: Optional[Any] = None
        if "lemmatizer" in nlp.pipe_names:
            try:
                self._lemmas = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
            except (KeyError, ValueError):
                self._lemmas = None
        # Dutch base forms (from the lemma table when there is one): what counts as a word when
        # splitting compounds, besides the words of the leaflets.
        self.dictionary: FrozenSet[str] = frozenset(
            fold(v) for v in (self._lemmas.values() if self._lemmas is not None else ()) if len(v) >= MIN_HEAD
        )
        self._synonyms: Dict[Tuple[str, ...], str] = {}
        for canonical, variants in synonyms.items():
            target = "".join(self._tokens(canonical))
            for variant in [canonical, *variants]:
                key = tuple(self._tokens(variant))
                if key:
                    self._synonyms[key] = target
        self._longest = max((len(key) for key in self._synonyms), default=1)
        self._stemmer = snowballstemmer.stemmer("dutch")
        self._keys: Dict[str, str] = {}
        self._deletions: Optional[Dict[str, List[str]]] = None
        self._joined = {"".join(key): target for key, target in self._synonyms.items() if len(key) > 1}
        self._vocabulary: FrozenSet[str] = frozenset()

    @property
    def vocabulary(self) -> FrozenSet[str]:
        """The words of the indexed leaflets (lemmas): what compounds, inflections and typos are mapped to."""
        return self._vocabulary

    def with_vocabulary(self, words: Iterable[str]) -> Analyzer:
        """A copy of this analyzer (sharing spaCy and the tables) that knows these leaflet words."""
        twin = copy.copy(self)
        twin._vocabulary = frozenset(words)
        twin._deletions = None
        return twin

    def _lemma(self, word: str) -> str:
        if self._lemmas is None:
            return word
        return self._lemmas.get(word, word)

    def _tokens(self, text: str) -> List[str]:
        """Lemmas of all words, folded ('Röntgenfoto's' -> 'rontgenfoto', 'a-specifieke' -> 'aspecifiek')."""
        result = []
        for token in self.nlp(_INNER_HYPHEN.sub("", text.lower())):
            if token.is_punct or token.is_space:
                continue
            word = _POSSESSIVE.sub("", (token.lemma_ or token.text).lower())
            if word != token.lower_:
                word = self._lemma(word)
            result.append(fold(word))
        return result

    def words(self, text: str) -> List[str]:
        """The content words of `text`; a phrase with a synonym ('in bed blijven') becomes one word."""
        tokens = self._tokens(text)
        result = []
        index = 0
        while index < len(tokens):
            for size in range(min(self._longest, len(tokens) - index), 1, -1):
                phrase = tuple(tokens[index : index + size])
                if phrase in self._synonyms:
                    result.append("".join(phrase))
                    index += size
                    break
            else:
                word = tokens[index]
                index += 1
                if _PHONE_NUMBER.match(word):
                    result.append(PHONE_TERM)
                elif word not in self.stop_words and _KEEP_TOKEN.match(word):
                    result.append(word)
        return result

    def synonym(self, word: str) -> Optional[str]:
        """The canonical term for a word or joined phrase, if it has one."""
        return self._synonyms.get((word,)) or self._joined.get(word)

    def split_compound(self, word: str) -> Tuple[str, ...]:
        """Splits a compound into two known words ('rugklacht' -> 'rug', 'klacht'); () when it is none.

        Known words are those of the indexed leaflets (`vocabulary`); a linking 's' or 'e(n)' is
        allowed ('bewegingsapparaat' -> 'beweging', 'apparaat').
        """
        best: Tuple[str, ...] = ()
        if len(word) < MIN_HEAD + MIN_TAIL or not self.vocabulary:
            return best
        known = self._known
        for cut in range(MIN_HEAD, len(word) - MIN_TAIL + 1):
            head, tail = word[:cut], word[cut:]
            tail_lemma = fold(self._lemma(tail))
            if not known(tail_lemma) and not known(tail):
                continue
            tail = tail_lemma if known(tail_lemma) else tail
            for candidate in (head, head[:-1] if head.endswith("s") else "", head[:-2] if head.endswith("en") else ""):
                if (
                    len(candidate) >= MIN_HEAD
                    and known(candidate)
                    and (candidate in self.vocabulary or tail in self.vocabulary)
                ):
                    if not best or min(len(candidate), len(tail)) > min(len(best[0]), len(best[1])):
                        best = (candidate, tail)
                    break
        return best

    def _known(self, word: str) -> bool:
        return word in self.vocabulary or word in self.dictionary

    def stem(self, word: str) -> Optional[str]:
        """A leaflet word this unknown word is an inflection of ('planken' -> 'plank', 'schijfjes' -> 'schijf')."""
        if word in self.vocabulary:
            return None
        for suffix in _SUFFIXES:
            if (
                word.endswith(suffix)
                and len(word) - len(suffix) >= MIN_HEAD
                and word[: -len(suffix)] in self.vocabulary
            ):
                return word[: -len(suffix)]
        return None

    def key(self, term: str) -> str:
        """The search key of a term: its Dutch Snowball stem ('oefeningen', 'oefenen' -> 'oefen')."""
        found = self._keys.get(term)
        if found is None:
            found = self._keys[term] = self._stemmer.stemWord(term)
        return found

    def correct(self, word: str) -> Optional[str]:
        """A leaflet word one typo away from an unknown word ('rugpijm' -> 'rugpijn'), if there is one."""
        if word in self.vocabulary or len(word) < 5 or not self.vocabulary:
            return None
        if self._deletions is None:
            deletions: Dict[str, List[str]] = {}
            for known in sorted(self.vocabulary):
                if len(known) >= 4:
                    for variant in {known} | {known[:i] + known[i + 1 :] for i in range(len(known))}:
                        deletions.setdefault(variant, []).append(known)
            self._deletions = deletions
        candidates = set()
        for variant in {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}:
            candidates.update(self._deletions.get(variant, ()))
        candidates.discard(word)
        return min(candidates) if len(candidates) == 1 else None

    def concepts_of(self, words: Iterable[str]) -> List[Concept]:
        """Each word with its search keys: the word, its inflection or typo fix, its synonym; and compound parts."""
        result = []
        for word in words:
            terms = [word]
            base = self.stem(word) or self.correct(word)
            if base:
                terms.append(base)
            synonym = self.synonym(base or word)
            if synonym and synonym != word:
                terms.append(synonym)
            parts = []
            for part in self.split_compound(word):
                parts.append(part)
                part_synonym = self.synonym(part)
                if part_synonym:
                    parts.append(part_synonym)
            keys = tuple(dict.fromkeys(self.key(term) for term in terms))
            part_keys = tuple(dict.fromkeys(self.key(part) for part in parts if self.key(part) not in keys))
            result.append(Concept(word, keys, part_keys))
        return result

    def concepts(self, text: str) -> List[Concept]:
        """The words of `text`, each with the search keys that stand for it."""
        return self.concepts_of(self.join_split_words(self.words(text)))

    def join_split_words(self, words: List[str]) -> List[str]:
        """Joins two words a question splits where the leaflets write one ('cat camel' -> 'catcamel')."""
        result: List[str] = []
        index = 0
        while index < len(words):
            if index + 1 < len(words) and words[index] + words[index + 1] in self.vocabulary:
                result.append(words[index] + words[index + 1])
                index += 2
            else:
                result.append(words[index])
                index += 1
        return result

    def terms(self, text: str) -> List[str]:
        """All search terms of `text` (words, synonyms, compound parts), with repeats."""
        return [term for concept in self.concepts(text) for term in concept.terms + concept.parts]

    def keys_of(self, text: str) -> FrozenSet[str]:
        """The distinct search keys of a text."""
        return frozenset(self.terms(text))
