"""The pattern detector: finds alarm symptoms in a normalised message, clause by clause, and grades them.

Pure logic without Rasa types. The rules (patterns, tiers, combinations, spelling) come from
data/knowledge/red_flags.yml; see the header of that file for the pattern syntax.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from actions.datafile import LINE_KEY, DataFileError, Entry, read_yaml
from actions.redflags.normalise import Spelling
from actions.text import fold

RED_TIERS: Tuple[str, ...] = ("gp_soon", "same_day", "emergency", "emergency_112")
OTHER_TIERS: Tuple[str, ...] = ("crisis", "yellow", "context")
MAX_GAP = 3

# Statuses of a finding.
REPORT, NEGATED, HYPOTHETICAL, RESOLVED = "report", "negated", "hypothetical", "resolved"
# Someone else's history with no complaint of theirs now ("mijn moeder had borstkanker").
FAMILY = "family"
# An event that counts only with a new complaint, told without one ("vorige week geopereerd, mag ik fietsen?").
NO_COMPLAINT = "no_complaint"

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
    ("gewoon", "normaal"),
    ("voelt", "normaal"),
    ("voelt", "gewoon"),
    ("is", "prima"),
    ("is", "niet", "zo"),
    ("niet", "aan", "de", "orde"),
)
# "ik heb niet het gevoel dat mijn been het begeeft": everything after it is denied.
_NEGATED_PERCEPTION: Tuple[Tuple[str, ...], ...] = (
    ("niet", "het", "gevoel", "dat"),
    ("niet", "dat", "gevoel", "dat"),
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
    ("volgende", "week"),
    ("volgende", "maand"),
    ("binnenkort",),
    ("straks",),
    ("mocht",),
    ("mochten",),
    ("zou",),
    ("zouden",),
    ("voor", "het", "geval"),
    ("in", "het", "geval"),
    ("wat", "moet", "ik", "doen", "als"),
    ("wat", "doe", "je", "als"),
)
# Advice about what to watch for is not a report: "de huisarts zei dat ik moet letten op koorts".
_ADVICE: Tuple[Tuple[str, ...], ...] = (
    ("opletten",), ("letten", "op"), ("let", "op"), ("in", "de", "gaten"), ("alert",), ("waarschuwde",),
    ("gewaarschuwd",), ("waarschuwingssignalen",), ("alarmsignalen",), ("moet", "bellen", "als"),
    ("moet", "bellen", "bij"), ("moet", "ik", "bellen"), ("moet", "ik", "meteen"), ("moet", "ik", "direct"),
    ("terugkomen", "als"), ("terugkomen", "bij"), ("contact", "opnemen", "als"), ("contact", "opnemen", "bij"),
    # What a doctor asked, or a leaflet said, is no report either: "de huisarts vroeg of ik koorts had".
    ("vroeg", "of"), ("vroeg", "naar"), ("vroegen", "of"), ("vraagt", "of"), ("gevraagd", "of"), ("gevraagd", "naar"),
    ("staat", "iets", "over"), ("las", "iets", "over"), ("lees", "iets", "over"), ("gelezen", "over"), ("folder",),
    ("dacht", "eerst"), ("dacht", "even"), ("doen", "als"), ("uitleggen",), ("uitleg",), ("moet", "meten"),
    ("moet", "ik", "meten"), ("patienten", "met"), ("clienten", "met"), ("mensen", "met"), ("bewoners", "met"),
    ("als", "ik", "ooit"), ("als", "ze", "ooit"),
    ("als", "hij", "ooit"),
)  # fmt: skip
# After the sign in its own clause, these say it is over: "de koorts is al 3 dagen weg".
_OVER_AFTER: Tuple[Tuple[str, ...], ...] = (
    ("is", "weg"), ("al", "weg"), ("weer", "weg"), ("is", "over"), ("al", "over"), ("weer", "over"), ("verdwenen",),
    ("opgelost",), ("helemaal", "hersteld"), ("hersteld",), ("lang", "over"), ("genezen",),
)  # fmt: skip
# Words of a new complaint, for events that count only with one (an operation, an injection).
_NEW_COMPLAINT = (
    "pijn", "rugpijn", "zeer", "klacht", "last", "koorts", "doof", "dove", "tintel", "zwak", "slap", "kracht",
    "plas", "lek", "rood", "ontst", "erger", "slechter", "uitstra", "straalt", "gevoel", "ziek", "wond", "vocht",
    "pus", "etter", "hoofdpijn", "misselijk", "stijf", "verdoofd", "raar", "vreemd", "bloed", "prik", "steek",
    "brand", "kramp", "zeur",
)  # fmt: skip
# Worries, not knowing and a possible future, in the sign's own clause: "mijn grootste angst is dat
# ik mijn plas niet kan ophouden", "ik weet niet of ik koorts heb", "dat hij het kan krijgen".
_CLAUSE_HYPOTHETICAL: Tuple[Tuple[str, ...], ...] = (
    ("angst", "is", "dat"), ("bang", "dat"), ("vrees", "dat"), ("geen", "idee", "of"), ("weet", "niet", "of"),
    ("weet", "ik", "niet", "of"), ("kan", "krijgen"), ("kunnen", "krijgen"), ("zal", "krijgen"), ("kon", "krijgen"),
)  # fmt: skip
# "..., dat heb ik gelukkig niet": the sentence denies what it mentioned.
_DENIALS: Tuple[Tuple[str, ...], ...] = (
    ("heb", "ik", "gelukkig", "niet"), ("heb", "ik", "gelukkig", "geen"), ("gelukkig", "heb", "ik", "dat", "niet"),
    ("dat", "is", "gelukkig", "niet"), ("dat", "is", "niet", "zo"), ("heb", "ik", "dat", "niet"),
    ("ik", "gelukkig", "niet"), ("dat", "nooit", "gehad"), ("dat", "gevoel", "niet"), ("heb", "ik", "allemaal", "niet"),
    ("allemaal", "nee"), ("niks", "raars"), ("niets", "raars"), ("is", "helemaal", "normaal"),
)  # fmt: skip
# "..., maar dat is 10 jaar geleden": a later clause puts the whole sentence in the past.
_LATER_PAST = re.compile(
    r"\b(?:maar|en)\s+(?:dat|het)\s+(?:is|was)\s+(?:al\s+)?(?:\d+|een\s+paar|jaren|lang)\s*"
    r"(?:jaar|jaren|maanden)?\s*geleden\b"
)
# "koorts? nee hoor": the next sentence denies, or says it is over.
_NEXT_DENIES = re.compile(r"^\s*(?:nee|neen|nope|welnee|neuh|nah)\b")
_NEXT_OVER = re.compile(r"^\s*(?:dat|het)\s+is\s+(?:al\s+)?(?:lang\s+)?(?:over|weg|voorbij|genezen|hersteld)\b")
# Words of a complaint: someone else's history counts only with a complaint of theirs now.
_COMPLAINT = (
    "pijn", "rugpijn", "rug", "onderrug", "zeer", "klacht", "last", "doof", "tintel", "zwak", "slap", "kracht",
    "plas", "gevoel", "stijf", "verdoofd", "prik", "steek", "kramp", "klaag", "spit", "hernia", "zeur",
)  # fmt: skip
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
    "kindje", "schoonzoon", "schoondochter", "kleinzoon", "kleindochter", "zwager", "schoonzus", "zwagerin",
    "kleinkind", "stiefvader", "stiefmoeder", "grootvader", "grootmoeder", "klant", "client", "patient",
    "bewoner", "bewoonster",
)  # fmt: skip
_PAST = (
    ("vorig", "jaar"), ("vorige", "maand"), ("vorige", "jaar"), ("vorige", "zomer"), ("vorige", "winter"),
    ("vorige", "week"), ("vorige", "herfst"), ("vorige", "lente"), ("vorig", "voorjaar"), ("vorig", "najaar"),
    ("afgelopen", "zomer"), ("jaren", "geleden"), ("jaar", "geleden"),
    ("maanden", "geleden"), ("lang", "geleden"), ("vroeger",), ("in", "het", "verleden"), ("als", "kind"),
    ("toen", "ik", "jong"), ("destijds",), ("als", "tiener"), ("als", "puber"), ("als", "jongen"), ("als", "meisje"),
    ("als", "student"), ("had", "ooit"), ("ooit", "gehad"), ("eerst", "zat"), ("eerst", "had"), ("weken", "terug"),
    ("week", "terug"),
    ("maanden", "terug"), ("maand", "terug"), ("jaar", "terug"), ("jaren", "terug"),
)  # fmt: skip
# For flags whose event lies in the past by nature (a fall, an operation): only these make it old news.
_DISTANT_PAST = (
    ("vorig", "jaar"), ("vorige", "jaar"), ("jaren", "geleden"), ("jaar", "geleden"), ("lang", "geleden"),
    ("vroeger",), ("in", "het", "verleden"), ("als", "kind"), ("toen", "ik", "jong"), ("destijds",), ("als", "tiener"),
    ("als", "puber"), ("als", "jongen"), ("als", "meisje"), ("als", "student"), ("vorige", "zomer"),
    ("vorige", "winter"), ("vorige", "herfst"), ("vorige", "lente"), ("vorig", "voorjaar"), ("vorig", "najaar"),
    ("maanden", "geleden"), ("had", "ooit"), ("ooit", "gehad"), ("is", "toen"), ("werd", "toen"),
    ("toen", "geopereerd"), ("jaar", "terug"), ("jaren", "terug"),
)  # fmt: skip
_YEAR = re.compile(r"\b(19[5-9]\d|20[01]\d|202[0-4])\b")
# "nog steeds", "nog altijd": whatever past the sentence mentions, it is about now.
_STILL = (
    ("nog", "steeds"), ("nog", "altijd"), ("nog", "niet", "over"), ("nog", "niet", "weg"),
    # "vorige week contact gehad over mijn tintelende been": the past is the contact, not the sign
    ("contact", "gehad", "over"), ("gevraagd", "over"), ("geschreven", "over"), ("bericht", "over"),
    ("gemaild", "over"), ("gebeld", "over"),
)  # fmt: skip
# Before an exclude pattern these deny it: "niet op dieet", "zonder dieet".
_EXCLUDE_DENIED = frozenset({"niet", "nie", "zonder", "nooit"})
# A condition in what someone advised is advice: "de fysio zei: bij koorts direct de huisarts bellen".
_CONDITIONS = frozenset({"als", "bij", "wanneer", "indien", "zodra"})
_REPORTED_SPEECH = frozenset(
    {"zei", "zegt", "gezegd", "zeggen", "zeiden", "adviseerde", "geadviseerd", "vertelde", "volgens"}
)
# After "moet", "kan", ... these make a report with the "ik" left out: "moet echt persen", "kan niet plassen".
_NOT_A_QUESTION_NEXT = frozenset(
    "niet nie geen meer nog ik er echt wel ook heel al steeds telkens vaak nu sinds gewoon bijna zo amper "
    "nauwelijks haast moeilijk slecht".split()
)
_WH = frozenset({"welke", "wat", "wanneer", "hoe", "waarom", "wie", "vanaf", "hoelang", "hoeveel"})
_PET_SUBJECT = re.compile(
    r"\b(?:mijn|onze|de|het|ons)\s+(?:hond|hondje|kat|poes|katje|konijn|cavia|huisdier)\s+"
    r"(?:is|was|kan|kon|heeft|had|plast|plaste|loopt|liep|ligt|wordt|werd|sleept|valt|viel)\b"
)
_SELF_SUBJECT = frozenset({"ik", "k", "me", "mij", "mezelf", "zelf"})
_THIRD_PERSON = frozenset({"hij", "zij", "ze", "haar", "zijn", "hem", "hun"})
_RESOLVED = (
    ("nu", "niet", "meer"), ("is", "over"), ("weer", "over"), ("weer", "weg"), ("inmiddels", "over"),
    ("inmiddels", "weg"), ("weer", "goed"), ("over", "gegaan"), ("overgegaan",), ("hersteld",),
    ("sindsdien", "prima"), ("sindsdien", "goed"), ("de", "oude"), ("niks", "aan", "overgehouden"),
    ("helemaal", "genezen"), ("had", "ooit"), ("ooit", "gehad"), ("al", "lang", "over"), ("lang", "over"),
    ("niets", "aan", "overgehouden"),
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
    # About someone else, only a report with a complaint of theirs (a fall, a cancer history).
    other_needs_complaint: bool = False
    # The event lies in the past by nature (a fall, an operation): only a distant past makes it old news.
    recent: bool = False
    # False for flags defined by a value (an age, a duration): the learned detector, which compares
    # no numbers, may then only ask for the safety check.
    learned_escalates: bool = True
    # Counts only when the sentence also names a complaint (an operation without new complaints is none).
    needs_complaint: bool = False
    # Flags that, found by the patterns, make a learned-only finding of this one a check ("tintelend
    # gevoel in mijn rechterbeen" is one leg, whatever the learned detector thinks of both).
    yields_to: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Tier:
    """Advice for one red-flag tier."""

    name: str
    rank: int
    why: str
    action: str


@dataclass(frozen=True)
class Combination:
    """Flags that together amount to a red flag (`flag`) or at least a tier."""

    members: FrozenSet[str]
    tier: str
    flag: Optional[str] = None


@dataclass(frozen=True)
class LearnedThresholds:
    """The `learned` section of red_flags.yml: when the learned detector escalates or asks the safety check."""

    escalate_from: float = 0.85
    check_from: float = 0.5
    # Sure enough to escalate even where the clause holds a negation ("ik kan bijna niet plassen").
    sure_from: float = 0.97
    # A pattern report that the learned detector scores below this is logged as a disagreement.
    doubt_below: float = 0.1


@dataclass(frozen=True)
class RedFlagRules:
    """Everything in red_flags.yml."""

    flags: Tuple[Flag, ...]
    tiers: Dict[str, Tier]
    combinations: Tuple[Combination, ...]
    raises: FrozenSet[str]
    spelling: Spelling = Spelling(words={}, phrases=())
    learned: LearnedThresholds = LearnedThresholds()

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
    source: str = "patterns"  # or "learned", or "memory" (an earlier turn completed a combination)


@dataclass
class Assessment:
    """The red-flag reading of one message."""

    findings: List[Finding] = field(default_factory=list)
    tier: Optional[str] = None
    # The learned detector suspects a flag that the patterns did not report: at least the safety check.
    needs_check: bool = False
    # Flags the learned detector scored (probability), from the check threshold up.
    learned: Dict[str, float] = field(default_factory=dict)
    # Where the two detectors disagree, e.g. "learned only: fever_ill 0.91" (logged for review).
    disagreement: str = ""
    # Flags besides this message's red flags that decided the tier (combination members, earlier turns).
    reasons: FrozenSet[str] = frozenset()

    def described(self) -> List[Finding]:
        """The findings an escalation names: the red flags reported and what else decided the tier."""
        return [
            f
            for f in self.findings
            if f.status == REPORT and (f.tier in RED_TIERS or f.flag in self.reasons) and f.tier != "crisis"
        ]

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
            "needs_check": self.needs_check,
            "learned": self.learned,
            "disagreement": self.disagreement,
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
                other_needs_complaint=entry.data.get("other_needs_complaint") is True,
                recent=entry.data.get("recent") is True,
                learned_escalates=entry.data.get("learned_escalates") is not False,
                needs_complaint=entry.data.get("needs_complaint") is True,
                yields_to=tuple(entry.text_list("yields_to", required=False)),
            )
        )
    ids = {flag.id for flag in flags}
    for flag in flags:
        if set(flag.yields_to) - ids:
            raise root.error(
                f"flag '{flag.id}': 'yields_to' names unknown flag id(s) {sorted(set(flag.yields_to) - ids)}"
            )
    combinations = []
    for entry in root.entries("combinations", lambda i: f"combination #{i + 1}", required=False):
        members = frozenset(entry.text_list("all"))
        unknown = sorted(members - ids)
        if unknown:
            raise entry.error(f"unknown flag id(s) {unknown}")
        flag_id = entry.text("flag", required=False)
        if flag_id:
            if flag_id not in ids or next(f for f in flags if f.id == flag_id).tier not in RED_TIERS:
                raise entry.error(f"'flag' must be the id of a red flag, not '{flag_id}'")
            tier = next(f for f in flags if f.id == flag_id).tier
        else:
            tier = entry.text("tier")
        if tier not in RED_TIERS:
            raise entry.error(f"'tier' must be one of {', '.join(RED_TIERS)}")
        combinations.append(Combination(members=members, tier=tier, flag=flag_id or None))
    raises = frozenset(root.text_list("raises", required=False))
    if raises - ids:
        raise root.error(f"'raises' names unknown flag id(s) {sorted(raises - ids)}")
    return RedFlagRules(
        flags=tuple(flags),
        tiers=tiers,
        combinations=tuple(combinations),
        raises=raises,
        spelling=_load_spelling(root, path),
        learned=_load_thresholds(root, path),
    )


def _load_thresholds(root: Entry, path: Path) -> LearnedThresholds:
    """The `learned` section: probabilities between 0 and 1, check_from at most escalate_from."""
    entry = Entry(path, root.data.get("learned") or {}, "learned", root.line)
    values = {}
    for name in ("escalate_from", "check_from", "sure_from", "doubt_below"):
        value = entry.data.get(name, getattr(LearnedThresholds, name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise entry.error(f"'{name}' must be a number from 0 to 1, not {value!r}")
        values[name] = float(value)
    if not values["check_from"] <= values["escalate_from"] <= values["sure_from"]:
        raise entry.error("the thresholds must rise: check_from <= escalate_from <= sure_from")
    return LearnedThresholds(**values)


def _load_spelling(root: Entry, path: Path) -> Spelling:
    """The `spelling` table: standard word -> list of variants (words or phrases of letters)."""
    table = root.data.get("spelling") or {}
    if not isinstance(table, dict):
        raise root.error("'spelling' must map a standard word to a list of variants")
    entry = Entry(path, table, "spelling", root.line)
    table = {key: value for key, value in table.items() if key != LINE_KEY}
    seen: Dict[str, str] = {}
    for standard, variants in table.items():
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise entry.error(f"'{standard}': the variants must be a list of words")
        for variant in variants:
            if not re.fullmatch(r"[a-z]+( [a-z]+)*", fold(variant).strip()):
                raise entry.error(f"'{standard}': variant '{variant}' must be letters and single spaces only")
            if fold(variant) in seen and seen[fold(variant)] != standard:
                raise entry.error(f"variant '{variant}' is listed under '{seen[fold(variant)]}' and '{standard}'")
            seen[fold(variant)] = standard
    return Spelling.from_table({str(k): v for k, v in table.items()})


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
    if token == "nee" and {"nooit", "niet", "geen", "nog"} & set(tokens[index + 1 : index + 3]):
        return False  # "nee, nog nooit gehad": the answer agrees with what follows
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


def _names_new_complaint(sentence: Sequence[str]) -> bool:
    """Whether the sentence names a complaint that is not negated ("geen pijn", "niet meer ziek")."""
    return any(
        token.startswith(_NEW_COMPLAINT) and not any(_is_negation(sentence, j) for j in range(max(0, i - 2), i))
        for i, token in enumerate(sentence)
    )


def _named_person(tokens: Sequence[str]) -> bool:
    """Whether the clause names someone: "mijn vader", "onze zoon"."""
    return any(
        token in ("mijn", "mn", "onze", "ons") and tokens[index + 1] in _PEOPLE
        for index, token in enumerate(tokens[:-1])
    )


def _person(tokens: Sequence[str]) -> str:
    for index, token in enumerate(tokens[:-1]):
        if token in ("mijn", "mn", "onze", "ons") and tokens[index + 1] in _PEOPLE:
            return f"uw {tokens[index + 1]}"
        if token in ("de", "het", "die", "dat") and tokens[index + 1] in _PEOPLE:
            return f"{token} {tokens[index + 1]}"
    if tokens and tokens[0] in _PEOPLE:
        return tokens[0]  # "opa had prostaatkanker"
    if not _SELF.intersection(tokens) and {"hij", "zij", "ze"}.intersection(tokens):
        return "die persoon"
    return ""


class PatternDetector:
    """Finds and grades red flags in normalised messages with the patterns of red_flags.yml."""

    def __init__(self, rules: RedFlagRules) -> None:
        """Keeps the rules."""
        self.rules = rules
        self._rank = {name: tier.rank for name, tier in rules.tiers.items()}
        self._red_ids = frozenset(flag.id for flag in rules.flags if flag.tier in RED_TIERS)

    def findings(self, normalised: str) -> List[Finding]:
        """Reads a normalised message (see `normalise.py`) clause by clause and returns its findings."""
        assessment = Assessment()
        sentences = _SENTENCE_END.split(normalised)
        # Read once per message: does it name a complaint, and does it give someone else one?
        message_facts = (_names_new_complaint(_TOKEN.findall(normalised)), self.gives_someone_a_complaint(normalised))
        for index, sentence in enumerate(sentences):
            first = len(assessment.findings)
            self._assess_sentence(sentence, normalised, assessment, message_facts)
            following = next((s for s in sentences[index + 1 :] if s.strip()), "")
            if _NEXT_DENIES.match(following) or _NEXT_OVER.match(following):
                status = NEGATED if _NEXT_DENIES.match(following) else RESOLVED
                assessment.findings[first:] = [
                    dataclasses.replace(f, status=status) if f.status == REPORT else f
                    for f in assessment.findings[first:]
                ]
        return assessment.findings

    @staticmethod
    def gives_someone_a_complaint(normalised: str) -> bool:
        """Whether the message gives someone else a complaint.

        Either a clause says so ("ze heeft nu pijn in haar rug"), or the message is about someone
        else and names a complaint without a subject while the writer names none of their own
        ("mijn man heeft een aneurysma. Nu opeens heftige rugpijn. Wat moet ik doen?").
        """
        sentences = [_clauses(sentence) for sentence in _SENTENCE_END.split(normalised)]
        if any(_complaint_of_other(clauses) for clauses in sentences):
            return True
        clauses = [clause for sentence in sentences for clause in sentence]
        someone = any(_named_person(clause) or _THIRD_PERSON.intersection(clause) for clause in clauses)
        complaint = [
            clause
            for clause in clauses
            if any(t.startswith(_COMPLAINT) for t in clause)
            and not any(_is_negation(clause, i) for i in range(len(clause)))
        ]
        return (
            someone
            and any(not _SELF.intersection(c) for c in complaint)
            and not any(_SELF_SUBJECT.intersection(c) for c in complaint)
        )

    def excluded(self, normalised: str, flag_id: str) -> bool:
        """Whether an `exclude` pattern of the flag matches a sentence of the message (diet, idiom, ...)."""
        flag = self.rules.flag(flag_id)
        return any(_excluded(flag, Clause(_TOKEN.findall(sentence))) for sentence in _SENTENCE_END.split(normalised))

    def clause_readings(self, normalised: str) -> List[Tuple[str, str]]:
        """Each clause of a normalised message with how anything in it would be meant.

        The status a flag found anywhere in the clause would get (report, negated, hypothetical,
        resolved): used to check the learned detector, which reads no negation or tense itself.
        """
        readings: List[Tuple[str, str]] = []
        anything = Flag(id="any", tier="gp_soon", you="", other="", patterns=())
        sentences = _SENTENCE_END.split(normalised)
        for index, sentence in enumerate(sentences):
            context = _sentence_context(sentence, normalised)
            if context is None:
                continue
            following = next((s for s in sentences[index + 1 :] if s.strip()), "")
            denied = bool(_NEXT_DENIES.match(following) or _NEXT_OVER.match(following))
            all_tokens, is_question, resolved, other_complaint, clause_list = context
            offset = 0
            for tokens in clause_list:
                position = _find_sublist(all_tokens, tokens, offset)
                offset = position + len(tokens)
                span = (0, len(tokens), frozenset())
                status = self._status(anything, tokens, span, all_tokens, position, is_question, resolved)
                if status == REPORT and (denied or any(_contains(tokens, phrase) for phrase in _POST_NEGATIONS)):
                    status = NEGATED  # "het gevoel daar is gewoon normaal", "afgevallen? nee"
                readings.append((" ".join(tokens), status))
        return readings

    def _assess_sentence(
        self, sentence: str, message: str, assessment: Assessment, message_facts: Tuple[bool, bool]
    ) -> None:
        context = _sentence_context(sentence, message)
        if context is None:
            return
        all_tokens, is_question, resolved, other_complaint, clause_list = context
        complaint, someone_complains = message_facts
        other_complaint = other_complaint or someone_complains
        offset = 0
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
        candidates = [flag for flag in candidates if not _excluded(flag, whole)]
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
                    self._status(
                        flag, tokens, span, all_tokens, position, is_question, resolved, other_complaint, complaint
                    )
                    for span in spans
                }
                status = next(
                    s for s in (REPORT, HYPOTHETICAL, RESOLVED, FAMILY, NO_COMPLAINT, NEGATED) if s in statuses
                )
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
        other_complaint: bool = False,
        message_complaint: bool = True,
    ) -> str:
        start, end, literal = span
        if _negated(tokens, start, end, literal):
            return NEGATED
        if flag.tier in RED_TIERS and any(_contains(sentence, phrase) for phrase in _DENIALS):
            return NEGATED
        if any(_contains(tokens[end:], phrase) for phrase in _OVER_AFTER) and not _contains(tokens, ("nog", "steeds")):
            return RESOLVED  # "de koorts is al 3 dagen weg"
        if flag.tier == "crisis":
            return REPORT  # "ik zou liever dood zijn" is never treated as a mere hypothetical
        before = clause_start + start
        if any(_contains(sentence, phrase, before) for phrase in _HYPOTHETICAL):
            return HYPOTHETICAL
        if any(_contains(tokens, phrase) for phrase in _CLAUSE_HYPOTHETICAL):
            return HYPOTHETICAL
        if any(_contains(sentence, phrase) for phrase in _ADVICE) and not _PRESENT.intersection(tokens):
            return HYPOTHETICAL  # "de huisarts zei dat ik moet letten op een doof gevoel"
        conditional = _CONDITIONS.intersection(sentence[max(0, before - 8) : before])
        if conditional and _REPORTED_SPEECH.intersection(sentence[:before]):
            return HYPOTHETICAL  # "de fysio heeft gezegd: bij koorts boven de 38 direct de huisarts bellen"
        heard = [i for i, token in enumerate(sentence[:before]) if token in _HEARSAY]
        if heard and "je" in sentence[heard[-1] :] and not _SELF.intersection(sentence[heard[-1] :]):
            return HYPOTHETICAL  # "mijn buurman zei dat je bij een doof gevoel meteen moet bellen"
        if is_question:
            conditions = _QUESTION_CONDITIONS if not _SELF.intersection(tokens) else _QUESTION_CONDITIONS - {"bij"}
            if conditions.intersection(sentence[:before]):
                return HYPOTHETICAL
            # "is koorts erg bij rugpijn?", "vanaf welke leeftijd is dat verdacht?": asked in general.
            clause_asks = (tokens[0] in _QUESTION_STARTS and tokens[1:2] not in (["niet"], ["nie"], ["geen"])) or bool(
                _WH.intersection(tokens)
            )
            if clause_asks and not _SELF.intersection(tokens) and not _named_person(tokens):
                return HYPOTHETICAL
        if _PET_SUBJECT.search(" ".join(tokens)):
            return FAMILY  # "mijn hond kan zijn plas niet meer ophouden"
        if flag.other_needs_complaint and _person(tokens) and not other_complaint:
            return FAMILY
        if flag.needs_complaint and not message_complaint:
            return NO_COMPLAINT
        if flag.history or any(_contains(sentence, phrase) for phrase in _STILL):
            return REPORT
        if _LATER_PAST.search(" ".join(sentence)) and not _PRESENT.intersection(tokens):
            return RESOLVED
        if flag.recent:
            distant = any(_contains(tokens, phrase) for phrase in _DISTANT_PAST) or bool(_YEAR.search(" ".join(tokens)))
            if distant or bool(_YOUNGER.search(" ".join(tokens))):
                return RESOLVED
            if resolved and _PAST_VERBS.intersection(tokens) and not _PRESENT.intersection(tokens):
                return RESOLVED
            return REPORT
        if not _PRESENT.intersection(tokens):
            joined = " ".join(tokens)
            past = any(_contains(tokens, phrase) for phrase in _PAST) or bool(
                _YOUNGER.search(joined) or _YEAR.search(joined)
            )
            if past or (resolved and _PAST_VERBS.intersection(tokens)):
                return RESOLVED
        return REPORT

    def grade(
        self, reported: Sequence[str], previous_flags: Sequence[str] = (), remembered: Sequence[str] = ()
    ) -> Tuple[Optional[str], FrozenSet[str]]:
        """The tier of the red and context flags reported in a message.

        Args:
            reported: ids of the flags reported in this message.
            previous_flags: red flags escalated earlier in the conversation (a second report of
                the same flag raises the tier).
            remembered: flags the patient reported in earlier turns. They complete a combination
                with a flag of this message ("ik ben 58" ... "nooit eerder gehad"), count as a
                second red flag, and are raised again by "het wordt snel erger" or "ik ben heel
                ongerust" in this message.

        Returns:
            The tier (or None) and the flags that decided it beyond this message's red flags
            (the members of a combination, remembered flags).
        """
        rank = self._rank
        now = set(reported)
        known = now | set(remembered)
        reasons: set = set()
        for combination in self.rules.combinations:
            if combination.flag and combination.members <= known and combination.members & now:
                now.add(combination.flag)  # "72 and slipped" is a fall that counts
                reasons.add(combination.flag)
        current_red = {f for f in now if f in self._red_ids}
        earlier_red = {f for f in set(remembered) | set(previous_flags) if f in self._red_ids}
        best = max((self.rules.flag(f).tier for f in current_red), key=rank.__getitem__, default=None)
        for combination in self.rules.combinations:
            members, tier = combination.members, combination.tier
            if not combination.flag and members <= known | now and members & now:
                if best is None or rank[tier] > rank[best]:
                    best = tier
                    reasons |= members
        raised_by = self.rules.raises & now
        if best is None and raised_by and earlier_red:
            best = max((self.rules.flag(f).tier for f in earlier_red), key=rank.__getitem__)
            reasons |= earlier_red | raised_by
        if best is None:
            return None, frozenset()
        two_flags = len(current_red | earlier_red) >= 2 and bool(current_red)
        raise_step = two_flags or bool(self.rules.raises & known) or bool(set(previous_flags) & current_red)
        if two_flags:
            reasons |= earlier_red
        # A raise lifts "soon" to "today"; anything more urgent than "today" needs an explicit
        # combination in red_flags.yml, so that two everyday-urgent signs do not become 112-like.
        if raise_step and best == "gp_soon":
            best = "same_day"
            reasons |= self.rules.raises & known
        return best, frozenset(reasons)


def _excluded(flag: Flag, clause: Clause) -> bool:
    """Whether an exclude pattern matches, and is not itself denied ("ik ben niet op dieet")."""
    for pattern in flag.excludes:
        span = pattern.match(clause)
        if span and not any(clause.tokens[i] in _EXCLUDE_DENIED for i in range(max(0, span[0] - 2), span[0])):
            return True
    return False


def _sentence_context(sentence: str, message: str):
    """(tokens, is a question, mentions a resolved past, gives someone else a complaint, clauses), or None."""
    end_index = message.find(sentence) + len(sentence)
    all_tokens = _TOKEN.findall(sentence)
    if not all_tokens:
        return None
    ends_with_question_mark = message[end_index : end_index + 1] == "?"
    # "is het erg als ...", "moet ik ...", "wat doe je als ...": a question even without "?"; but
    # "moet echt persen om te plassen" (the "ik" left out, as in chat) is a report.
    starts_like_question = all_tokens[0] in _WH or (
        all_tokens[0] in _QUESTION_STARTS and not set(all_tokens[1:2]) & _NOT_A_QUESTION_NEXT
    )
    is_question = ends_with_question_mark or starts_like_question
    resolved = any(_contains(all_tokens, phrase) for phrase in _RESOLVED)
    clause_list = _clauses(sentence)
    return all_tokens, is_question, resolved, _complaint_of_other(clause_list), clause_list


def _cancer_site(token: str, clause: Sequence[str]) -> bool:
    """Whether the back is where the cancer was ("kanker in haar rug"), not a complaint now."""
    return token in ("rug", "onderrug", "ruggengraat") and any(
        "kanker" in word or word.startswith(("tumor", "uitzaai")) for word in clause
    )


def _complaint_of_other(clauses: Sequence[Sequence[str]]) -> bool:
    """Whether a clause gives someone else a complaint: "... en nu heeft ze pijn in haar rug"."""
    return any(
        any(token.startswith(_COMPLAINT) and not _cancer_site(token, clause) for token in clause)
        and not _SELF_SUBJECT.intersection(clause)
        and not any(_is_negation(clause, i) for i in range(len(clause)))
        and (_THIRD_PERSON.intersection(clause) or bool(set(_PEOPLE).intersection(clause)))
        for clause in clauses
    )


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


__all__ = [
    "Assessment",
    "DataFileError",
    "Finding",
    "LearnedThresholds",
    "PatternDetector",
    "RedFlagRules",
    "describe",
    "load_red_flags",
]
