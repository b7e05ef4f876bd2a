"""Red-flag detection: finds alarm symptoms in a message, clause by clause, and grades them.

Pure logic without Rasa types. The rules (patterns, tiers, combinations) come from
data/knowledge/red_flags.yml; see the header of that file for the pattern syntax.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from actions.datafile import DataFileError, Entry, read_yaml
from actions.text import fold

RED_TIERS: Tuple[str, ...] = ("gp_soon", "same_day", "emergency", "emergency_112")
OTHER_TIERS: Tuple[str, ...] = ("crisis", "yellow", "context")
MAX_GAP = 3

# Statuses of a finding.
REPORT, NEGATED, HYPOTHETICAL, RESOLVED = "report", "negated", "hypothetical", "resolved"

_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+")
_SENTENCE_END = re.compile(r"[!?\n]+|(?<!\d)\.(?!\d)")
_CLAUSE_BREAK = re.compile(r"[;:()]|(?<!\d),(?!\d)|\s-\s")
_CLAUSE_WORDS = frozenset({"maar", "want", "behalve", "echter", "terwijl"})

_NEGATIONS = frozenset({"geen", "gn", "niet", "nie", "nooit", "zonder", "niks", "niets", "nergens", "nee", "geeneens"})
# Words that stop a negation from reaching a later symptom: "geen koorts en ik kan niet plassen".
_NEGATION_STOPS = frozenset({"en", "ook", "wel", "dan", "toch", "nu", "sinds", "dat", "omdat", "waarom", "die"})
_NEGATION_WINDOW = 3
# Words after a negation that make it part of the complaint: "niet alleen koorts", "zonder reden
# afgevallen", "ik kan niet meer plassen".
_NOT_NEGATING_NEXT = {
    "niet": frozenset({"alleen", "enkel", "meer"}),
    "zonder": frozenset({"reden", "aanleiding", "verklaring", "dieet", "dieten", "te", "het", "dat", "duidelijke"}),
}
# Negations after the symptom: "koorts heb ik niet", "plassen gaat gewoon goed".
_POST_NEGATIONS: Tuple[Tuple[str, ...], ...] = (
    ("heb", "ik", "niet"),
    ("heb", "ik", "geen"),
    ("gaat", "goed"),
    ("gaat", "gewoon", "goed"),
    ("gaat", "prima"),
    ("lukt", "goed"),
    ("lukt", "prima"),
    ("lukt", "gewoon"),
    ("is", "normaal"),
    ("is", "prima"),
    ("is", "niet", "zo"),
    ("niet", "aan", "de", "orde"),
)
# "ik heb niet het gevoel dat mijn been het begeeft": everything after it is denied.
_NEGATED_PERCEPTION: Tuple[Tuple[str, ...], ...] = (
    ("niet", "het", "gevoel", "dat"),
    ("niet", "het", "idee", "dat"),
    ("geen", "gevoel", "dat"),
    ("niet", "dat", "ik", "weet"),
)
_HYPOTHETICAL: Tuple[Tuple[str, ...], ...] = (
    ("wat", "als"),
    ("stel", "dat"),
    ("stel", "je", "voor"),
    ("stel",),
    ("indien",),
    ("mocht",),
    ("mochten",),
    ("zou",),
    ("zouden",),
    ("voor", "het", "geval"),
    ("in", "het", "geval"),
    ("wat", "moet", "ik", "doen", "als"),
    ("wat", "doe", "je", "als"),
)
# Hearsay about people in general ("ik las dat je bij koorts moet bellen") is information.
_HEARSAY = frozenset({"zei", "zegt", "zeggen", "las", "lees", "gelezen", "gehoord", "hoorde", "staat"})
# In a question these also make a mention hypothetical: "is het erg als ik koorts heb?".
_QUESTION_CONDITIONS = frozenset({"als", "wanneer", "bij", "indien"})
_QUESTION_STARTS = frozenset(
    {"is", "zijn", "wat", "hoe", "wanneer", "waarom", "kan", "kun", "kunt", "mag", "moet", "welke", "hoort", "betekent"}
)
_SELF = frozenset({"ik", "me", "mij", "mijn", "mn", "m", "we", "wij", "ons", "onze", "k"})
_PEOPLE = (
    "vader", "moeder", "man", "vrouw", "partner", "vriend", "vriendin", "zoon", "dochter", "kind", "opa", "oma",
    "broer", "zus", "buurman", "buurvrouw", "collega", "schoonvader", "schoonmoeder", "tante", "oom", "pa", "ma",
    "echtgenoot", "echtgenote", "vriendje", "vriendinnetje", "baby", "neef", "nicht", "dochtertje", "zoontje",
    "kindje", "schoonzoon", "schoondochter", "kleinzoon", "kleindochter",
)  # fmt: skip
_PAST = (
    ("vorig", "jaar"), ("vorige", "maand"), ("vorige", "jaar"), ("vorige", "zomer"), ("vorige", "winter"),
    ("vorige", "week"), ("vorige", "herfst"), ("vorige", "lente"), ("vorig", "voorjaar"), ("vorig", "najaar"),
    ("afgelopen", "zomer"), ("jaren", "geleden"), ("jaar", "geleden"),
    ("maanden", "geleden"), ("lang", "geleden"), ("vroeger",), ("in", "het", "verleden"), ("als", "kind"),
    ("toen", "ik", "jong"), ("destijds",),
)  # fmt: skip
_RESOLVED = (
    ("nu", "niet", "meer"), ("is", "over"), ("weer", "over"), ("weer", "weg"), ("inmiddels", "over"),
    ("inmiddels", "weg"), ("weer", "goed"), ("over", "gegaan"), ("overgegaan",), ("hersteld",),
    ("sindsdien", "prima"), ("sindsdien", "goed"), ("de", "oude"),
)  # fmt: skip
_PAST_VERBS = frozenset({"gehad", "had", "was", "waren", "hadden"})
# Words that make a clause about now, whatever past it also mentions: "vorige maand geopereerd en nu koorts".
_PRESENT = frozenset(
    {
        "nu",
        "sinds",
        "sindsdien",
        "vandaag",
        "gisteren",
        "vannacht",
        "vanochtend",
        "weer",
        "opnieuw",
        "momenteel",
        "ineens",
        "plots",
        "plotseling",
        "steeds",
    }
)
# "toen ik 20 was", "toen ik klein was": long ago.
_YOUNGER = re.compile(r"\btoen ik (\d+|jong|klein|kind|jonger)\b")


class Clause:
    """Tokens of a clause joined by single spaces, with each token's start offset (for regexes)."""

    __slots__ = ("tokens", "text", "starts")

    def __init__(self, tokens: Sequence[str]) -> None:
        """Joins the tokens once."""
        self.tokens = list(tokens)
        self.text = " ".join(self.tokens)
        self.starts: List[int] = []
        offset = 0
        for token in self.tokens:
            self.starts.append(offset)
            offset += len(token) + 1

    def index_at(self, offset: int) -> int:
        """The index of the token that starts at `offset`."""
        return bisect.bisect_right(self.starts, offset) - 1


@dataclass(frozen=True)
class Pattern:
    """A pattern compiled to one regular expression over the space-joined tokens of a clause.

    Each word of the pattern is a capture group, so the tokens it matched are known; a `~` gap
    is a lazy run of at most N tokens, so the first (leftmost, shortest) match is found.
    """

    source: str
    regex: re.Pattern

    def match(self, tokens: Sequence[str] | Clause) -> Optional[Tuple[int, int, FrozenSet[int]]]:
        """Returns (start, end, indices of the tokens the pattern's words matched) or None.

        Words that fell in a `~` gap are not in the indices: a negation there still counts.
        """
        clause = tokens if isinstance(tokens, Clause) else Clause(tokens)
        found = self.regex.search(clause.text)
        if found is None:
            return None
        literal = frozenset(clause.index_at(found.start(group)) for group in range(1, self.regex.groups + 1))
        return min(literal), max(literal) + 1, literal


def _alternative_regex(part: str) -> str:
    number = re.fullmatch(r"#(\d+)-(\d+)", part)
    if number:
        low, high = int(number.group(1)), int(number.group(2))
        if low > high:
            raise ValueError(f"number range {part} is empty")
        if high - low > 500:
            raise ValueError(f"number range {part} is too wide")
        return "(?:" + "|".join(str(n) for n in range(low, high + 1)) + r")(?:[.,]\d+)?"
    folded = fold(part)
    if not re.fullmatch(r"[a-z0-9]+\*?", folded):
        raise ValueError(f"'{part}' is not a word, word*, #A-B or a list of those joined by |")
    if folded.endswith("*"):
        return re.escape(folded[:-1]) + r"\S*"
    return re.escape(folded)


def compile_pattern(source: str) -> Pattern:
    """Compiles the pattern syntax of red_flags.yml; raises ValueError with the reason."""
    words = source.split()
    if not words:
        raise ValueError("empty pattern")
    parts: List[str] = []
    gap = 0
    for word in words:
        gap_match = re.fullmatch(r"~([1-9]?)", word)
        if gap_match:
            if not parts:
                raise ValueError("a pattern cannot start with ~")
            gap = int(gap_match.group(1) or MAX_GAP)
            continue
        step = "(" + "|".join(_alternative_regex(part) for part in word.split("|")) + r")(?!\S)"
        if parts:
            step = (r"(?: \S+){0,%d}? " % gap if gap else " ") + step
        parts.append(step)
        gap = 0
    if gap:
        raise ValueError("a pattern cannot end with ~")
    return Pattern(source=source, regex=re.compile(r"(?<!\S)" + "".join(parts)))


@dataclass(frozen=True)
class Flag:
    """One red, crisis, yellow or context flag."""

    id: str
    tier: str
    you: str
    other: str
    patterns: Tuple[Pattern, ...]
    weak: bool = False
    history: bool = False
    topic: str = ""
    excludes: Tuple[Pattern, ...] = ()
    screen: Optional[re.Pattern] = None  # all patterns in one regex: a quick "could it match?"


@dataclass(frozen=True)
class Tier:
    """Advice for one red-flag tier."""

    name: str
    rank: int
    why: str
    action: str


@dataclass(frozen=True)
class RedFlagRules:
    """Everything in red_flags.yml."""

    flags: Tuple[Flag, ...]
    tiers: Dict[str, Tier]
    combinations: Tuple[Tuple[FrozenSet[str], str], ...]
    raises: FrozenSet[str]

    def flag(self, flag_id: str) -> Flag:
        """Returns a flag by id."""
        return next(flag for flag in self.flags if flag.id == flag_id)


@dataclass(frozen=True)
class Finding:
    """One flag found in one clause, with how it was meant."""

    flag: str
    tier: str
    status: str
    person: str
    clause: str
    topic: str = ""


@dataclass
class Assessment:
    """The red-flag reading of one message."""

    findings: List[Finding] = field(default_factory=list)
    tier: Optional[str] = None

    def reported(self, tiers: Sequence[str] = RED_TIERS) -> List[Finding]:
        """Findings reported as present (not negated, hypothetical or resolved) in these tiers."""
        return [f for f in self.findings if f.status == REPORT and f.tier in tiers]

    @property
    def crisis(self) -> bool:
        """Whether suicidal thoughts were reported."""
        return bool(self.reported(("crisis",)))

    @property
    def yellow(self) -> List[Finding]:
        """Reported worries (yellow flags)."""
        return self.reported(("yellow",))

    @property
    def asks_about_warning_signs(self) -> bool:
        """Whether a red flag was mentioned only as a question or hypothetical."""
        return not self.tier and any(f.status == HYPOTHETICAL and f.tier in RED_TIERS for f in self.findings)

    def as_dict(self) -> Dict[str, object]:
        """A JSON-friendly summary (stored with the message)."""
        return {
            "tier": self.tier,
            "crisis": self.crisis,
            "findings": [f.__dict__ for f in self.findings],
        }


def load_red_flags(path: Path) -> RedFlagRules:
    """Loads and validates red_flags.yml.

    Raises:
        DataFileError: naming the file, line and entry that is wrong.
    """
    root = Entry(path, read_yaml(path), "file")
    root.version()
    tiers: Dict[str, Tier] = {}
    tier_entry = Entry(path, root.data.get("tiers"), "tiers", root.line)
    for name in RED_TIERS:
        entry = Entry(path, tier_entry.data.get(name), f"tier '{name}'", tier_entry.line)
        rank = entry.data.get("rank")
        if not isinstance(rank, int):
            raise entry.error("'rank' must be a whole number")
        tiers[name] = Tier(name=name, rank=rank, why=entry.text("why"), action=entry.text("action"))
    if sorted(RED_TIERS, key=lambda n: tiers[n].rank) != list(RED_TIERS):
        raise tier_entry.error(f"ranks must rise in this order: {', '.join(RED_TIERS)}")

    flags: List[Flag] = []
    for entry in root.entries("flags", lambda i: f"flag #{i + 1}"):
        flag_id = entry.text("id")
        entry.what = f"flag '{flag_id}'"
        tier = entry.text("tier")
        if tier not in RED_TIERS + OTHER_TIERS:
            raise entry.error(f"'tier' must be one of {', '.join(RED_TIERS + OTHER_TIERS)}, not '{tier}'")
        patterns = []
        for source in entry.text_list("patterns"):
            try:
                patterns.append(compile_pattern(source))
            except ValueError as error:
                raise entry.error(f"pattern '{source}': {error}") from error
        excludes = []
        for source in entry.text_list("exclude", required=False):
            try:
                excludes.append(compile_pattern(source))
            except ValueError as error:
                raise entry.error(f"exclude '{source}': {error}") from error
        other = entry.text("other")
        if "{person}" not in other:
            raise entry.error("'other' must contain {person}")
        if any(f.id == flag_id for f in flags):
            raise entry.error("this id appears twice")
        flags.append(
            Flag(
                id=flag_id,
                tier=tier,
                you=entry.text("you"),
                other=other,
                patterns=tuple(patterns),
                weak=entry.data.get("weak") is True,
                history=entry.data.get("history") is True,
                topic=entry.text("topic", required=tier == "yellow"),
                excludes=tuple(excludes),
                screen=re.compile("|".join(f"(?:{pattern.regex.pattern})" for pattern in patterns)),
            )
        )
    ids = {flag.id for flag in flags}
    combinations = []
    for entry in root.entries("combinations", lambda i: f"combination #{i + 1}", required=False):
        members = frozenset(entry.text_list("all"))
        unknown = sorted(members - ids)
        if unknown:
            raise entry.error(f"unknown flag id(s) {unknown}")
        tier = entry.text("tier")
        if tier not in RED_TIERS:
            raise entry.error(f"'tier' must be one of {', '.join(RED_TIERS)}")
        combinations.append((members, tier))
    raises = frozenset(root.text_list("raises", required=False))
    if raises - ids:
        raise root.error(f"'raises' names unknown flag id(s) {sorted(raises - ids)}")
    return RedFlagRules(flags=tuple(flags), tiers=tiers, combinations=tuple(combinations), raises=raises)


def _contains(tokens: Sequence[str], phrase: Tuple[str, ...], before: Optional[int] = None) -> bool:
    limit = len(tokens) if before is None else before
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == phrase for i in range(0, max(0, limit - n + 1)))


def _clauses(sentence: str) -> List[List[str]]:
    clauses: List[List[str]] = []
    for part in _CLAUSE_BREAK.split(sentence):
        current: List[str] = []
        for token in _TOKEN.findall(part):
            if token in _CLAUSE_WORDS and current and current[-1] not in ("alleen", "ook", "nu", "toch"):
                clauses.append(current)
                current = []
            current.append(token)
        if current:
            clauses.append(current)
    return clauses


def _is_negation(tokens: Sequence[str], index: int) -> bool:
    token = tokens[index]
    following = tokens[index + 1] if index + 1 < len(tokens) else ""
    return token in _NEGATIONS and following not in _NOT_NEGATING_NEXT.get(token, frozenset())


def _negated(tokens: Sequence[str], start: int, end: int, literal: FrozenSet[int]) -> bool:
    if any(_is_negation(tokens, i) for i in range(start, end) if i not in literal):
        return True
    if any(_contains(tokens, phrase, start) for phrase in _NEGATED_PERCEPTION):
        return True
    for index in range(start - 1, max(-1, start - 1 - _NEGATION_WINDOW), -1):
        if tokens[index] in _NEGATION_STOPS:
            break
        if _is_negation(tokens, index):
            return True
    after = tuple(tokens[end : end + 4])
    return any(after[: len(phrase)] == phrase for phrase in _POST_NEGATIONS) or after[:1] in (("niet",), ("nie",))


def _person(tokens: Sequence[str]) -> str:
    for index, token in enumerate(tokens[:-1]):
        if token in ("mijn", "mn", "onze", "ons") and tokens[index + 1] in _PEOPLE:
            return f"uw {tokens[index + 1]}"
    if not _SELF.intersection(tokens) and {"hij", "zij", "ze"}.intersection(tokens):
        return "die persoon"
    return ""


class RedFlagDetector:
    """Finds and grades red flags in messages with the rules of red_flags.yml."""

    def __init__(self, rules: RedFlagRules) -> None:
        """Keeps the rules."""
        self.rules = rules

    def assess(self, text: str, previous_flags: Sequence[str] = ()) -> Assessment:
        """Reads a message clause by clause and returns its findings and tier.

        Args:
            text: the patient's message.
            previous_flags: red flags reported earlier in the conversation (a second contact
                about the same complaint raises the tier).
        """
        assessment = Assessment()
        folded = fold(text or "")
        for sentence in _SENTENCE_END.split(folded):
            self._assess_sentence(sentence, folded, assessment)
        assessment.tier = self._grade(assessment, previous_flags)
        return assessment

    def _assess_sentence(self, sentence: str, message: str, assessment: Assessment) -> None:
        end_index = message.find(sentence) + len(sentence)
        all_tokens = _TOKEN.findall(sentence)
        if not all_tokens:
            return
        ends_with_question_mark = message[end_index : end_index + 1] == "?"
        starts_like_question = all_tokens[0] in _QUESTION_STARTS and all_tokens[1:2] not in (
            ["niet"],
            ["nie"],
            ["geen"],
            ["meer"],
            ["nog"],
            ["ik"],
            ["er"],
        )
        is_question = ends_with_question_mark or starts_like_question
        resolved = any(_contains(all_tokens, phrase) for phrase in _RESOLVED)
        offset = 0
        clause_list = _clauses(sentence)
        found: set = set()
        # First clause by clause; then, for flags not mentioned in any single clause, once more
        # over the clauses joined across commas ("'s ochtends het ergst, dan een hele tijd stijf").
        joined = [token for part in _clauses(_CLAUSE_BREAK.sub(" ", sentence)) for token in part]
        passes = [(clause, False) for clause in clause_list]
        if len(clause_list) > 1:
            passes.append((joined, True))
        whole = Clause(all_tokens)
        joined_clause = Clause(joined)
        # A flag that cannot match the joined clauses cannot match any single clause either.
        candidates = [
            flag for flag in self.rules.flags if flag.screen is None or flag.screen.search(joined_clause.text)
        ]
        candidates = [flag for flag in candidates if not any(pattern.match(whole) for pattern in flag.excludes)]
        for tokens, second_pass in passes:
            clause = joined_clause if second_pass else Clause(tokens)
            position = 0 if second_pass else _find_sublist(all_tokens, tokens, offset)
            if not second_pass:
                offset = position + len(tokens)
            for flag in candidates:
                if second_pass and flag.id in found:
                    continue
                spans = [span for span in (pattern.match(clause) for pattern in flag.patterns) if span]
                if not spans:
                    continue
                statuses = {
                    self._status(flag, tokens, span, all_tokens, position, is_question, resolved) for span in spans
                }
                status = next(s for s in (REPORT, HYPOTHETICAL, RESOLVED, NEGATED) if s in statuses)
                found.add(flag.id)
                assessment.findings.append(
                    Finding(
                        flag=flag.id,
                        tier=flag.tier,
                        status=status,
                        person=_person(tokens),
                        clause=" ".join(tokens),
                        topic=flag.topic,
                    )
                )

    @staticmethod
    def _status(
        flag: Flag,
        tokens: Sequence[str],
        span: Tuple[int, int, FrozenSet[int]],
        sentence: Sequence[str],
        clause_start: int,
        is_question: bool,
        resolved: bool,
    ) -> str:
        start, end, literal = span
        if _negated(tokens, start, end, literal):
            return NEGATED
        if flag.tier == "crisis":
            return REPORT  # "ik zou liever dood zijn" is never treated as a mere hypothetical
        before = clause_start + start
        if any(_contains(sentence, phrase, before) for phrase in _HYPOTHETICAL):
            return HYPOTHETICAL
        heard = [i for i, token in enumerate(sentence[:before]) if token in _HEARSAY]
        if heard and "je" in sentence[heard[-1] :] and not _SELF.intersection(sentence[heard[-1] :]):
            return HYPOTHETICAL  # "mijn buurman zei dat je bij een doof gevoel meteen moet bellen"
        if is_question:
            if _QUESTION_CONDITIONS.intersection(sentence[:before]):
                return HYPOTHETICAL
            # "is koorts erg bij rugpijn?": asked in general, in the clause that holds the question.
            clause_asks = tokens[0] in _QUESTION_STARTS and tokens[1:2] not in (["niet"], ["nie"], ["geen"])
            if clause_asks and not _SELF.intersection(tokens) and not _person(tokens):
                return HYPOTHETICAL
        if not flag.history and not _PRESENT.intersection(tokens):
            past = any(_contains(tokens, phrase) for phrase in _PAST) or bool(_YOUNGER.search(" ".join(tokens)))
            if past or (resolved and _PAST_VERBS.intersection(tokens)):
                return RESOLVED
        return REPORT

    def _grade(self, assessment: Assessment, previous_flags: Sequence[str]) -> Optional[str]:
        reported = {f.flag for f in assessment.reported(RED_TIERS + ("context",))}
        red = [self.rules.flag(flag_id) for flag_id in reported if self.rules.flag(flag_id).tier in RED_TIERS]
        rank = {name: tier.rank for name, tier in self.rules.tiers.items()}
        best = max((flag.tier for flag in red), key=rank.__getitem__, default=None)
        for members, tier in self.rules.combinations:
            if members <= reported and (best is None or rank[tier] > rank[best]):
                best = tier
        if best is None:
            return None
        raise_step = (
            len(red) >= 2 or bool(self.rules.raises & reported) or bool(set(previous_flags) & {f.id for f in red})
        )
        # A raise lifts "soon" to "today"; anything more urgent than "today" needs an explicit
        # combination in red_flags.yml, so that two everyday-urgent signs do not become 112-like.
        if raise_step and best == "gp_soon":
            best = "same_day"
        return best


def _find_sublist(haystack: Sequence[str], needle: Sequence[str], start: int) -> int:
    n = len(needle)
    for index in range(start, len(haystack) - n + 1):
        if list(haystack[index : index + n]) == list(needle):
            return index
    return start


def describe(rules: RedFlagRules, findings: Sequence[Finding], and_word: str) -> str:
    """Joins what was recognised: 'u koorts heeft en uw vader niet kan plassen'."""
    parts: List[str] = []
    for finding in findings:
        flag = rules.flag(finding.flag)
        text = flag.other.format(person=finding.person) if finding.person else flag.you
        if text not in parts:
            parts.append(text)
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {and_word} {parts[-1]}"


__all__ = ["Assessment", "DataFileError", "RedFlagDetector", "RedFlagRules", "describe", "load_red_flags"]
