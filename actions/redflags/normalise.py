"""Normalisation before red-flag matching, so that a pattern is written once.

Both detectors read the normalised text. It is folded (lower case, no accents), then:
- Flemish and chat spelling become standard Dutch ("nie" -> "niet", "gene" -> "geen",
  "kheb" -> "ik heb", "me rug" -> "mijn rug", "deze morgen" -> "vanmorgen"); the word list is
  the `spelling` section of red_flags.yml, which a clinician can extend;
- a dropped final n ("plasse" -> "plassen") and one-letter typos in words the patterns use
  ("koorst" -> "koorts") are repaired, but only for words that are not Dutch words already;
- numbers written out become digits ("achtendertig komma vijf" -> "38,5", "tien kilo" -> "10 kilo");
- units are written one way ("38°" -> "38 graden", "5 kg" -> "5 kilo");
- values become the words a clinician would write: a temperature from 38.0 adds "koorts", a
  lower one next to "koorts" replaces that word by "normaletemperatuur" (not a fever; room and weather
  temperatures are left alone); a complaint that has lasted more than six weeks adds
  "langerdanzesweken"; an age adds "leeftijdjong" (under 20), "leeftijdbovenvijftig" (over 50) and
  "leeftijdbovenzeventig" (70 and over), so patterns and the learned detector compare no numbers.
"""

from __future__ import annotations

import bisect
import datetime
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

from actions.text import fold

SIX_WEEKS_MARKER = "langerdanzesweken"
FEVER_FROM = 38.0
NORMAL_TEMPERATURE = "normaletemperatuur"
AGE_YOUNG, AGE_OVER_50, AGE_OVER_70 = "leeftijdjong", "leeftijdbovenvijftig", "leeftijdbovenzeventig"
# "ik ben 58", "ze is 76", "ik word 51", "(58)", "58 jaar", "58-jarige", "een 60-plusser".
_AGE = re.compile(
    r"\b(?:ben|is|word|wordt|werd)\s+(?:ik\s+|ze\s+|hij\s+)?(?:nu\s+|net\s+|al\s+|bijna\s+|pas\s+|ook\s+)?(\d{1,3})\b(?!\s*(?:kilo|graden|weken|week|maanden|dagen|keer|uur|cm|euro|procent|[.,]\d))"
    r"|\((\d{1,3})\)"
    r"|(?<!al )(?<!sinds )(?<!ruim )(?<!voor )(?<!over )(?<!na )(?<!bijna )"
    r"\b(\d{1,3})\s*-?\s*(?:jaar\s+oud|jarige|jarig|jr\b|plusser)"
    r"|,\s*(\d{1,3})\s+jaar\b(?!\s+(?:geleden|lang|rugpijn|last|pijn))"
    r"|^(\d{1,3})\s+jaar\b(?!\s+(?:geleden|lang|rugpijn|last|pijn))"
    r"|\bop (?:mijn|zijn|haar) (\d{1,3})(?:e|ste|de)\b"
    r"|^(\d{2})\s*,"
)
_AGE_WORDS = {
    "tiener": 15,
    "puber": 15,
    "tienerdochter": 15,
    "tienerzoon": 15,
    "vijftiger": 55,
    "zestiger": 65,
    "zeventiger": 75,
    "tachtiger": 85,
    "negentiger": 95,
    "bejaard": 80,
    "bejaarde": 80,
    "hoogbejaard": 90,
    "hoogbejaarde": 90,
}
# "meer dan een half uur", "ruim een half uur": longer than the 30 minutes morning stiffness may last.
OVER_HALF_HOUR = "langerdanhalfuur"
_HALF_HOUR = re.compile(r"\s(?:(?:meer|langer) dan|ruim|zeker|minstens|goed)\s+(?:een\s+)?half\s+uur(?:tje)?\b")
# "12 kilo lichter dan vorig jaar" compares; it does not tell of the past.
_COMPARED = re.compile(r"\b(dan|als)\s+(vorig|vorige)\s+(jaar|maand|week|zomer|winter)\b")
_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december".split()
_SINCE_MONTH = re.compile(r"\b(?:sinds|vanaf|van)\s+(?:begin|eind|half|midden|medio)?\s*(" + "|".join(_MONTHS) + r")\b")
_NOW_MONTH = re.compile(
    r"\b(?:nu|inmiddels|het is|nu is het|nu is t)\s+(?:al\s+)?(?:begin|eind|half|midden|medio)?\s*("
    + "|".join(_MONTHS)
    + r")\b"
)
# "lymfeklierkanker": also the word "kanker", so one pattern serves every kind.
_CANCER = re.compile(r"\b([a-z]{3,}kanker)\b")
_BRACKETS = re.compile(r"[()\[\]]")
_SPACES = re.compile(r"[ \t]{2,}")
_PERSON_AGE = re.compile(
    r"\b(?:vader|moeder|opa|oma|man|vrouw|partner|schoonvader|schoonmoeder|zoon|dochter|buurman|buurvrouw|"
    r"zoontje|dochtertje|kindje|kleinzoon|kleindochter|"
    r"tante|oom|broer|zus|vriend|vriendin|kind|jongen|meisje|patient|patiente|meneer|mevrouw|dame|heer)"
    r"\s+(?:is\s+|van\s+)(\d{1,3})\b(?!\s*(?:kilo|graden|weken|week|maanden|dagen|keer|uur|[.,]\d))"
)
_AGE_WORD = re.compile(r"\b(" + "|".join(_AGE_WORDS) + r")\b")
_AMBIENT = frozenset(
    "buiten binnen wachtkamer airco auto kamer hitte tropisch zon weer douche bad sauna oven water zwembad "
    "thermostaat verwarming kachel buitentemperatuur vakantie spanje strand hittegolf".split()
)
_UNITS = {"een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8, "negen": 9}
_TEENS = {
    "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14, "vijftien": 15, "zestien": 16,
    "zeventien": 17, "achttien": 18, "negentien": 19,
}  # fmt: skip
_TENS = {
    "twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60, "zeventig": 70, "tachtig": 80,
    "negentig": 90,
}  # fmt: skip
_COMPOUND = re.compile(r"^(een|twee|drie|vier|vijf|zes|zeven|acht|negen)e?en(" + "|".join(_TENS) + r")$")
# Words after which a small number word is a quantity: "drie weken", "vijf kilo".
_QUANTITY_UNITS = frozenset(
    "kilo kilos kilogram pond graden graad weken week maanden maand dagen dag jaar jaren keer uur uren".split()
)
_UNIT_WORDS = {"kg": "kilo", "kgs": "kilo", "kilos": "kilo", "kilogram": "kilo", "kilograms": "kilo", "gr": "graden"}
_TEMPERATURE_WORDS = frozenset(
    {"graden", "graad", "koorts", "temperatuur", "temp", "thermometer", "verhoging", "gemeten"}
)
_WORD_OR_OTHER = re.compile(r"[a-z]+|\d+(?:[.,]\d+)?|[^a-z\d]+")
_DURATION_UNITS = {"week": 1.0, "weken": 1.0, "maand": 4.3, "maanden": 4.3, "jaar": 52.0, "jaren": 52.0}
_DURATION_WORDS = {
    "anderhalve maand": 6.5, "twee maanden": 8.6, "paar maanden": 8.6, "aantal maanden": 8.6, "maanden": 8.6,
    "half jaar": 26.0, "jaar": 52.0, "jaren": 104.0,
}  # fmt: skip
# "al 8 weken", "sinds 2 maanden", "week 7", "nu 7 weken", "8 weken lang": a complaint that lasts.
_DURATION = re.compile(
    r"\b(?:al|sinds|nu|ruim|meer dan|langer dan|inmiddels|bijna|laatste|afgelopen|voorbije|na)\s+"
    r"(\d+(?:[.,]\d+)?)\s+(weken|week|maanden|maand|jaar|jaren)\b(?!\s+(?:zwanger|geleden))"
    r"|\b(?:week|weken)\s+(?:of\s+)?(\d+)\b"
    r"|\b(\d+(?:[.,]\d+)?)\s+(weken|maanden|jaar)\s+(?:al|lang|aan|onafgebroken|achter elkaar|verder|later|nu)\b"
    r"|\b(?:al|sinds|nu|ruim|inmiddels)\s+"
    r"(anderhalve maand|twee maanden|paar maanden|aantal maanden|maanden|half jaar|jaar|jaren)\b"
)
_APOSTROPHES = (
    (re.compile(r"\bm['’`]n\b"), "mijn"),
    (re.compile(r"\bz['’`]n\b"), "zijn"),
    (re.compile(r"(^|\s)['’`]k\b"), r"\1ik"),
    (re.compile(r"\b(\w+)['’`]k\b"), r"\1 ik"),
    (re.compile(r"(^|\s)['’`]t\b"), r"\1het"),
    (re.compile(r"(\d)\s*°\s*c?\b"), r"\1 graden"),
    (re.compile(r"°"), " graden"),
    (re.compile(r"(\d)\s*(kg|kilo)\b"), r"\1 kilo"),
    (re.compile(r"(\d)(graden|gr|jaar|jr|j)\b"), r"\1 \2"),
    (re.compile(r"(\d+)\s*(?:jr|j)\b"), r"\1 jaar"),
)
# Body words after which Flemish/chat "me" means "mijn": "me rug", "me been".
_BODY = frozenset(
    "rug onderrug been benen voet voeten blaas plas billen bil kruis zitvlak buik lijf heup heupen dij dijen knie "
    "tenen kuit kuiten onderlijf temperatuur ontlasting stoelgang gewicht linkerbeen rechterbeen linkervoet "
    "rechtervoet hoofd lichaam ruggengraat rugwervels "
    # and people: "me broer", "me ma"
    "broer zus vader moeder man vrouw zoon dochter opa oma ma pa vriend vriendin schoonmoeder schoonvader".split()
)
_IK_CONTRACTIONS = frozenset(
    "heb ben zit voel kan moet ga weet lig krijg kreeg merk loop had was val viel plas word werd sta zat denk "
    "hou houd zie slaap".split()
)


@dataclass(frozen=True)
class Spelling:
    """Variants of standard words (from red_flags.yml): single words and multi-word phrases."""

    words: Mapping[str, str]
    phrases: Tuple[Tuple[re.Pattern, str], ...]

    @classmethod
    def from_table(cls, table: Mapping[str, Sequence[str]]) -> Spelling:
        """Builds the lookup from {standard: [variant, ...]}."""
        words: Dict[str, str] = {}
        phrases: List[Tuple[re.Pattern, str]] = []
        for standard, variants in table.items():
            for variant in variants:
                variant = fold(variant).strip()
                if " " in variant:
                    phrases.append((re.compile(r"\b" + re.escape(variant) + r"\b"), fold(standard)))
                else:
                    words[variant] = fold(standard)
        return cls(words=words, phrases=tuple(phrases))


def number_word(word: str) -> Optional[int]:
    """The value of a Dutch number word of 10 or more ('achtendertig' -> 38), else None."""
    if word in _TEENS:
        return _TEENS[word]
    if word in _TENS:
        return _TENS[word]
    match = _COMPOUND.match(word)
    if match:
        return _UNITS[match.group(1)] + _TENS[match.group(2)]
    return None


class Normaliser:
    """Turns a message into the normalised text both red-flag detectors read."""

    def __init__(self, spelling: Spelling, vocabulary: Iterable[str], lexicon: FrozenSet[str]) -> None:
        """Keeps the spelling table, the words the patterns use and the Dutch word list.

        Args:
            spelling: Flemish and chat variants of standard words.
            vocabulary: words of the patterns (typos are repaired towards these only).
            lexicon: known Dutch word forms (never "repaired").
        """
        self.spelling = spelling
        self.lexicon = lexicon
        self.vocabulary = frozenset(word for word in vocabulary if len(word) >= 5)
        self._deletes: Dict[str, set] = {}
        for word in self.vocabulary:
            for variant in _deletions(word):
                self._deletes.setdefault(variant, set()).add(word)

    def __call__(self, text: str) -> str:
        """Returns the normalised text (sentence and clause punctuation kept)."""
        folded = fold(text or "")
        for pattern, replacement in _APOSTROPHES:
            folded = pattern.sub(replacement, folded)
        for pattern, standard in self.spelling.phrases:
            folded = pattern.sub(standard, folded)
        pieces = _WORD_OR_OTHER.findall(folded)
        pieces = self._words(pieces)
        text = _numbers(pieces)
        text = _COMPARED.sub(r"\1 eerder", _HALF_HOUR.sub(f" {OVER_HALF_HOUR}", text))
        text = _ages(_durations(_since_month(_temperatures(text))))
        text = _CANCER.sub(r"\1 kanker", text)
        # Brackets are no clause break: "mijn dochter heeft koorts (38,7)" is one clause.
        return _SPACES.sub(" ", _BRACKETS.sub(" ", text)).strip()

    def _words(self, pieces: List[str]) -> List[str]:
        out: List[str] = []
        words = [i for i, piece in enumerate(pieces) if piece[0].isalpha()]
        following = {index: pieces[words[n + 1]] if n + 1 < len(words) else "" for n, index in enumerate(words)}
        for index, piece in enumerate(pieces):
            if not piece[0].isalpha():
                out.append(piece)
                continue
            out.append(self._word(piece, following[index]))
        return out

    def _word(self, word: str, following: str) -> str:
        if word in self.spelling.words:
            return self.spelling.words[word]
        if word in _UNIT_WORDS:
            return _UNIT_WORDS[word]
        if word == "me" and following in _BODY:
            return "mijn"
        if word.startswith("k") and word[1:] in _IK_CONTRACTIONS:
            return "ik " + word[1:]
        if word in self.lexicon or word in self.vocabulary or len(word) < 6:
            return word
        if word.endswith("e") and (word + "n") in self.lexicon:
            return word + "n"  # Flemish dropped n: "plasse" -> "plassen"
        for ending in ("ske", "ke"):
            if word.endswith(ending) and (word[: -len(ending)] + "je") in self.lexicon:
                return word[: -len(ending)] + "je"  # Flemish diminutive: "ongelukske" -> "ongelukje"
        return self._repair(word)

    def _repair(self, word: str) -> str:
        """One deletion, insertion, substitution or swap away from exactly one pattern word."""
        candidates = set(self._deletes.get(word, ()))  # a letter too many
        for variant in _deletions(word):
            if variant in self.vocabulary:
                candidates.add(variant)  # a letter missing... in the pattern word
            candidates |= self._deletes.get(variant, set())  # one letter different, or swapped
        candidates = {c for c in candidates if _distance_one(word, c)}
        return candidates.pop() if len(candidates) == 1 else word


def _deletions(word: str) -> List[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def _distance_one(a: str, b: str) -> bool:
    """Damerau distance of exactly one (a deletion, insertion, substitution or adjacent swap)."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


_DIGIT_WORD = "|".join(_UNITS)
_COMMA = re.compile(r"(\d+)\s+komma\s+(\d|" + _DIGIT_WORD + r")\b")
_HALF = re.compile(r"(\d+)\s+(?:en\s+)?(?:een\s+)?half\b")
# "achtendertig vijf" / "38 5 graden": a temperature said as two numbers.
_TWO_PART_TEMPERATURE = re.compile(
    r"\b(3[5-9]|4[0-2])\s+("
    + _DIGIT_WORD
    + r"|\d)\b(?!\s*(?:jaar|kilo|weken|week|maanden|dagen|uur|keer|minuten|cm|euro))"
)


def _numbers(pieces: List[str]) -> str:
    """Number words to digits; "komma" and "en een half" to decimals."""
    words = [(i, p) for i, p in enumerate(pieces) if not p.isspace() and (p[0].isalnum())]
    out = list(pieces)
    for n, (index, word) in enumerate(words):
        value = number_word(word)
        if value is None and word.endswith("ste") and number_word(word[:-3]) is not None:
            out[index] = f"{number_word(word[:-3])}ste"  # "op mijn achtenvijftigste"
            continue
        nxt = words[n + 1][1] if n + 1 < len(words) else ""
        if value is None and word in _UNITS and word != "een" and nxt in _QUANTITY_UNITS:
            value = _UNITS[word]
        if value is not None:
            out[index] = str(value)

    def decimal(match: re.Match) -> str:
        return f"{match.group(1)},{_UNITS.get(match.group(2), match.group(2))}"

    joined = _COMMA.sub(decimal, "".join(out))
    joined = _HALF.sub(r"\1,5", joined)
    return _TWO_PART_TEMPERATURE.sub(decimal, joined)


_TEMPERATURE = re.compile(r"(?<![\d,.])(3[4-9]|4[0-3])(?:[.,](\d))?(?![\d])")
_FEVER_WORD = re.compile(r"\bkoorts\b")


def _temperatures(text: str) -> str:
    """Grades temperatures by value, sentence by sentence."""
    sentences = re.split(r"(?<=[!?\n])|(?<=\.)(?!\d)", text)
    return "".join(_grade_temperature(sentence) for sentence in sentences)


def _grade_temperature(sentence: str) -> str:
    values = []
    for match in _TEMPERATURE.finditer(sentence):
        after = sentence[match.end() : match.end() + 12]
        before = sentence[max(0, match.start() - 25) : match.start()]
        near = set(re.findall(r"[a-z]+", before + " " + after))
        if near & _AMBIENT:
            continue  # "in de wachtkamer was het 38 graden": not a body temperature
        decimal = match.group(2) is not None
        if re.match(r"\s*(jaar|kilo|weken|week|maanden|dagen|uur|minuten|cm|euro|keer)\b", after):
            continue
        if near & _TEMPERATURE_WORDS or (decimal and not re.match(r"\s*(jaar|kilo)", after)):
            values.append((match, float(f"{match.group(1)}.{match.group(2) or 0}")))
    if not values:
        return sentence
    if max(value for _, value in values) >= FEVER_FROM:
        match = max(values, key=lambda item: item[1])[0]
        return sentence[: match.end()] + " koorts" + sentence[match.end() :]
    return _FEVER_WORD.sub(NORMAL_TEMPERATURE, sentence)  # "koorts van 37,4": not a fever


def _since_month(text: str, today: Optional[datetime.date] = None) -> str:
    """A complaint "sinds begin oktober" (and "nu december", or this month) lasts more than six weeks."""
    match = _SINCE_MONTH.search(text)
    if not match:
        return text
    now = _NOW_MONTH.search(text)
    current = _MONTHS.index(now.group(1)) if now else (today or datetime.date.today()).month - 1
    months = (current - _MONTHS.index(match.group(1))) % 12
    if months < 2:
        return text
    return text[: match.end()] + f" {SIX_WEEKS_MARKER}" + text[match.end() :]


def _durations(text: str) -> str:
    """Adds a marker after a duration of more than six weeks."""

    def weeks(match: re.Match) -> Optional[float]:
        groups = match.groups()
        if groups[0]:
            more = 0.5 if re.match(r"(?:meer|langer) dan|ruim", match.group(0)) else 0.0
            return float(groups[0].replace(",", ".")) * _DURATION_UNITS[groups[1]] + more
        if groups[2]:
            return float(groups[2])
        if groups[3]:
            return float(groups[3].replace(",", ".")) * _DURATION_UNITS[groups[4]]
        return _DURATION_WORDS.get(groups[5])

    def mark(match: re.Match) -> str:
        value = weeks(match)
        return match.group(0) + (f" {SIX_WEEKS_MARKER}" if value is not None and value > 6 else "")

    return _DURATION.sub(mark, text)


def _ages(text: str) -> str:
    """Adds the age markers after each age."""

    def mark(match: re.Match) -> str:
        value = next(int(group) for group in match.groups() if group)
        return match.group(0) + _age_marker(value)

    text = _AGE.sub(mark, text)
    text = _PERSON_AGE.sub(mark, text)
    return _AGE_WORD.sub(lambda m: m.group(0) + _age_marker(_AGE_WORDS[m.group(1)]), text)


def _age_marker(age: int) -> str:
    if 10 <= age < 20:
        return f" {AGE_YOUNG}"
    if 50 < age <= 110:
        return f" {AGE_OVER_50}" + (f" {AGE_OVER_70}" if age >= 70 else "")
    return ""


def pattern_vocabulary(sources: Iterable[str], lexicon: FrozenSet[str] = frozenset()) -> FrozenSet[str]:
    """The words of pattern sources: literal words, and the Dutch words a prefix (`rilling*`) stands for."""
    words = set()
    prefixes = set()
    for source in sources:
        for part in re.split(r"[\s|]+", fold(source)):
            if part.isalpha():
                words.add(part)
            elif part.endswith("*") and part[:-1].isalpha() and len(part) >= 6:
                prefixes.add(part[:-1])
    if prefixes and lexicon:
        ordered = sorted(lexicon)
        for prefix in prefixes:
            start = bisect.bisect_left(ordered, prefix)
            for word in ordered[start : start + 200]:
                if not word.startswith(prefix):
                    break
                words.add(word)
    return frozenset(words)


__all__ = [
    "AGE_OVER_50",
    "AGE_OVER_70",
    "AGE_YOUNG",
    "FEVER_FROM",
    "SIX_WEEKS_MARKER",
    "Normaliser",
    "Spelling",
    "number_word",
    "pattern_vocabulary",
]
