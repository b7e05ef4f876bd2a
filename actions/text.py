"""Plain-text helpers: normalisation for matching, and classification of unusable input."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

MAX_MESSAGE_CHARS = 2000

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_SCRIPT = re.compile(r"<\s*(script|style)\b.*?(<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL)

# Frequent function words; a message that is mostly English ones and has no Dutch ones is
# answered with a request to write in Dutch.
_ENGLISH = frozenset(
    "the is are was were what which who how why when where can could should would do does did "
    "my your you i me it this that with have has and or of to in on for not pain back hello hi "
    "please thanks thank a an am be".split()
)
_DUTCH = frozenset(
    "de het een is zijn wat wie hoe waarom wanneer waar kan kun kunt moet mag ik mijn je jij u uw "
    "met en of van in op voor niet geen rug pijn dat dit er al nog wel heb heeft hebben doe".split()
)


def fold(text: str) -> str:
    """Lower-cases and strips accents: 'Röntgen-foto' -> 'rontgen-foto'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def squash(text: str) -> str:
    """Folds and removes everything but letters and digits: "'s-Hertogenbosch" -> 'shertogenbosch'."""
    return _NON_ALNUM.sub("", fold(text))


def contains_term(text: str, term: str) -> bool:
    """Whether `term` occurs in `text` as whole words, ignoring case, accents, spaces and hyphens.

    'dry needling' matches 'Wie doet er dryneedling?' and 'dry-needling'; a Dutch plural
    ending (-s, -en) is allowed: 'fysiotherapeut' matches 'fysiotherapeuten'; 'echo' does not
    match 'echografie'.
    """
    words = _NON_ALNUM.split(fold(text))
    target = squash(term)
    if not target:
        return False
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined in (target, target + "s", target + "en"):
                return True
            if len(joined) >= len(target) + 2 or not (target.startswith(joined) or joined.startswith(target)):
                break
    return False


class InputProblem(str, Enum):
    """Why a message cannot be answered as a question."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"
    OTHER_LANGUAGE = "other_language"


def classify_input(text: str | None) -> InputProblem | None:
    """Returns why `text` is unusable (empty, too long, no words, not Dutch), or None if usable.

    Markup is ignored ('<b>rugpijn</b>' is the word 'rugpijn'); a message of only a tag or a
    script is treated as having no words.
    """
    if text is None or not text.strip():
        return InputProblem.EMPTY
    if len(text) > MAX_MESSAGE_CHARS:
        return InputProblem.TOO_LONG
    visible = _TAG.sub(" ", _SCRIPT.sub(" ", text))
    words = [fold(word) for word in _WORD.findall(visible)]
    if not words:
        return InputProblem.NO_WORDS
    english = sum(word in _ENGLISH and word not in _DUTCH for word in words)
    dutch = sum(word in _DUTCH and word not in _ENGLISH for word in words)
    if len(words) >= 3 and dutch == 0 and english >= max(2, len(words) // 3):
        return InputProblem.OTHER_LANGUAGE
    return None


# Words that make a message a question even without a question mark ("mag ik fietsen met rugpijn").
_QUESTION_WORDS = frozenset(
    "hoe wat wanneer waarom waar welke welk wie hoeveel hoelang mag mogen moet moeten kan kun kunt "
    "helpt helpen is zijn heb heeft wordt zou".split()
)


def is_question(text: str) -> bool:
    """Whether a message asks something: a question mark, or a sentence that opens with a question word."""
    if "?" in text:
        return True
    for sentence in re.split(r"[.!\n]+", fold(text)):
        words = _WORD.findall(sentence)
        if words and words[0] in _QUESTION_WORDS:
            return True
    return False
