"""Redaction of personal details in Dutch (and Flemish) patient messages.

`redact(text)` replaces personal details by a placeholder before a message is stored or logged:

- `[e-mail]`: an e-mail address.
- `[BSN]`: a Dutch citizen service number (9 digits, also "1234.56.782" or "123 456 782") that
  passes the eleven test, and also a Belgian national register number (rijksregisternummer,
  11 digits such as "85.07.30-033.28") with a valid check number.
- `[geboortedatum]`: a full date with a year after a birth cue ("geboren op 12-03-1965",
  "geb. 3 maart 1965", "geboortedatum: 1965-03-12", "mijn verjaardag is ..."); `[datum]`: any other
  full date with a year. Dates without a year ("sinds 3 maart") and years alone stay.
- `[telefoonnummer]`: a Dutch or Belgian phone number, found with the `phonenumbers` library.
- `[adres]`: a street name ending in a Dutch street word with a house number ("Kerkstraat 12",
  "Van Goghlaan 3a", "Oude Gracht 101 bis", "Kerkstraat 12 bus 3").
- `[postcode]`: a Dutch postcode ("3512 JK", "3512jk"), or a Belgian one when a capitalised place
  name follows ("2000 Antwerpen": the place name stays).
- `[naam]`: a name after a cue ("mijn naam is", "ik heet", "ik ben", "met" at the start, "dit is",
  a greeting at the end, "namens", a title such as "mevrouw" or "dr.", "mijn man/vrouw/..."), and a
  capitalised first name from `first_names.txt` anywhere, with its surname when one follows.

There is no Dutch NER model here, so names are found by cues and a word list: a surname alone
without a cue ("Jansen belde") stays. The order of the steps matters: e-mail addresses and numbers
go first so that their parts are never mistaken for names, and addresses before names so that
"Willem de Zwijgerlaan 3" becomes one `[adres]`. Placeholders are never redacted again, so
`redact(redact(x)) == redact(x)`.

`redact_event(data)` redacts the patient's words in a Rasa event dict (`Event.as_dict()`).
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple

import phonenumbers
from stdnum.be import nn as be_nn
from stdnum.nl import bsn as nl_bsn

logger = logging.getLogger(__name__)

NAME = "[naam]"
PHONE = "[telefoonnummer]"
EMAIL = "[e-mail]"
BSN = "[BSN]"
BIRTH_DATE = "[geboortedatum]"
DATE = "[datum]"
POSTCODE = "[postcode]"
ADDRESS = "[adres]"
# What a text becomes when redaction itself failed: never the unredacted text.
UNREADABLE = "[bericht niet leesbaar]"

Span = Tuple[int, int]

# --- Word lists -------------------------------------------------------------------------------

_FIRST_NAMES_FILE = Path(__file__).with_name("first_names.txt")


def _load_first_names(path: Path) -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """The first names of the list: (unambiguous names, names that are also ordinary words)."""
    names, ambiguous = set(), set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("*"):
            ambiguous.add(line[:-1])
        else:
            names.add(line)
    return frozenset(names), frozenset(ambiguous)


FIRST_NAMES, AMBIGUOUS_FIRST_NAMES = _load_first_names(_FIRST_NAMES_FILE)
_FIRST_NAMES_LOWER = frozenset(name.lower() for name in FIRST_NAMES)

# Lowercase words that are never a name after a cue ("Ik ben Bang", "Dr. Google zegt", "Met
# Vriendelijke groet") and never a surname after a first name ("Sanne Ik heb...").
_COMMON_WORDS = frozenset(
    """
    de het een en of maar want dus omdat als dan dat die dit deze wat wie waar hoe welke welk wel niet
    geen nog al ook zo heel erg echt best toch even eens weer nu net pas sinds tot van voor na naar in
    op aan bij met door over onder uit om te tegen zonder zoals tussen binnen buiten boven beneden
    ik je jij u uw hij zij ze we wij jullie hun hen mijn mn me mij zijn haar ons onze er hier daar
    ben bent is was waren heb hebt heeft hebben had hadden kan kun kunt kunnen kon konden wil wilt
    willen wou wilde moet moeten mag mogen zal zult zullen zou zouden ga gaat gaan ging kom komt komen
    kwam doe doet doen deed zit zat lig ligt sta staat loop loopt woon woont werk werkt voel voelt
    denk vind krijg word wordt werd heet hoor zie zeg weet snap
    bang moe ziek zwanger benieuwd bezorgd blij boos verdrietig nerveus ongerust klaar thuis bezig
    zelf alleen eigenlijk gewoon misschien natuurlijk vandaag gisteren morgen vanochtend vanavond
    vannacht nacht dag week maand jaar ochtend middag avond weekend
    maandag dinsdag woensdag donderdag vrijdag zaterdag zondag januari februari maart april mei juni
    juli augustus september oktober november december kerst pasen pinksteren
    normaal raar vreemd gek goed slecht fijn lastig moeilijk zwaar beter slechter erger minder meer
    veel weinig groot klein oud jong nieuw eerste tweede laatste ander andere hele halve
    pijn rug nek been benen knie heup schouder arm hoofd voet hernia ischias artrose klachten klacht
    hallo hoi hey hi dank bedankt alvast groet groeten groetjes vriendelijke hartelijke beste lieve
    goedemorgen goedemiddag goedenavond welkom sorry graag ja nee ok oke oké help vraag vragen
    google internet chatgpt youtube facebook whatsapp instagram thuisarts huisartsenpost
    nederlands nederlander nederlandse belg belgisch belgische vlaams vlaming marokkaans turks duits
    engels student studente docent leraar lerares verpleegkundige arts huisarts fysiotherapeut fysio
    dokter specialist patient patiënt mantelzorger zzp'er gepensioneerd diabeet sporter hardloper
    moeder vader mama papa mam pap oma opa man vrouw zoon dochter partner kind kinderen zus broer
    vriend vriendin collega baas buurman buurvrouw iedereen allemaal allen jou terug zelfs
    der den ter ten la le du da di del von vande vanden vander mee
    """.split()
)

# Two-letter Dutch words and units that follow a number without being a postcode ("sinds 2019 en").
_TWO_LETTER_WORDS = frozenset(
    """
    al af de en er ex ga ik in is ja je me na nu of om op te uw ze we zo wc ok oh eh bv ca mn zn nl
    be ie mg ml cl dl cm mm km kg gr ug kb mb gb pm am hz uu
    """.split()
)
_POSTCODE_UNITS = frozenset("mg ml cl dl cm mm km kg gr ug ie kb mb gb hz".split())

# --- E-mail, BSN, national register number -----------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# Not part of a longer number: no digit (or digit and "." or "-") before or after.
_NO_DIGIT_BEFORE = r"(?<![\w.])(?<!\d[.-])"
_NO_DIGIT_AFTER = r"(?!\w)(?![.-]\d)"
_BE_NN = re.compile(_NO_DIGIT_BEFORE + r"\d{2}\.?\d{2}\.?\d{2}[-. ]?\d{3}\.?\d{2}" + _NO_DIGIT_AFTER)
_NL_BSN = re.compile(_NO_DIGIT_BEFORE + r"(?:\d{4}\.\d{2}\.\d{3}|\d{3}([ .])\d{3}\1\d{3}|\d{9})" + _NO_DIGIT_AFTER)

# --- Dates ------------------------------------------------------------------------------------

_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    "|jan|febr|feb|mrt|apr|jun|jul|aug|sept|sep|okt|nov|dec"
)
_DATE = re.compile(
    r"(?<!\d)(?<!\d[./-])(?:"
    # 12-03-1965, 12/3/65, 12.03.1965
    r"(?P<d1>\d{1,2})(?P<sep>[-/.])(?P<m1>\d{1,2})(?P=sep)(?P<y1>\d{4}|\d{2})"
    # 1965-03-12
    r"|(?P<y2>(?:19|20)\d{2})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    # 3 maart 1965, 3 mrt. '65
    rf"|(?P<d3>\d{{1,2}})(?:e|ste|de)?[ \t]+(?P<m3>(?i:{_MONTHS}))\.?,?[ \t]+(?P<y3>(?:19|20)\d{{2}}|['’]\d{{2}})"
    r")(?!\d)(?![./-]\d)"
)
_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        (
            ("januari", "jan"),
            ("februari", "feb", "febr"),
            ("maart", "mrt"),
            ("april", "apr"),
            ("mei",),
            ("juni", "jun"),
            ("juli", "jul"),
            ("augustus", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "okt"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
# A birth cue up to three words before the date ("geboren op", "geboortedatum:", "geb.", "mijn
# verjaardag is op") or right after it ("12-03-1965 (geboortedatum)").
_BIRTH_CUE_BEFORE = re.compile(
    r"\b(?:geboortedatum|geboortedag|geboren|verjaardag|geb\.?[ \t]*datum|geb\.?)[\s:,.-]*"
    r"(?:[^\W\d_]+[\s:,-]+){0,3}$",
    re.IGNORECASE,
)
_BIRTH_CUE_AFTER = re.compile(r"[ \t]*\(?[ \t]*(?:geboren|geboortedatum|geb\.)", re.IGNORECASE)

# --- Phone numbers ----------------------------------------------------------------------------

# A stretch that may hold a Dutch or Belgian phone number: "+", "00" or "0" (perhaps in
# parentheses) and at least 8 more digits. Only these stretches go to the (slow) phonenumbers
# matcher, with a few characters of context.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|\(0|0)\d*(?:[ \t./()-]{0,3}\d){8,}")
_PHONE_REGIONS = ("NL", "BE")

# --- Addresses --------------------------------------------------------------------------------

# Street words that also end ordinary lowercase words ("onderweg", "speelveld", "kerkhof"): a
# lowercase street with one of these needs a cue ("ik woon aan het marktveld 3").
_WEAK_STREET_WORDS = (
    "weg",
    "hof",
    "park",
    "pad",
    "markt",
    "ring",
    "baan",
    "erf",
    "dam",
    "wal",
    "veld",
    "vest",
    "lei",
    "dries",
    "hoek",
    "kamp",
    "akker",
    "haven",
    "oord",
    "zijde",
    "berg",
    "wetering",
    "vaart",
    "hout",
)
# Street words that make a lowercase compound an address on their own ("de dorpsstraat 7").
_STRONG_STREET_WORDS = (
    "straatweg",
    "straat",
    "laan",
    "plein",
    "gracht",
    "burgwal",
    "kade",
    "kaai",
    "dijk",
    "singel",
    "steeg",
    "dreef",
    "plantsoen",
    "boulevard",
)
_STREET_WORDS = "|".join(sorted(_STRONG_STREET_WORDS + _WEAK_STREET_WORDS, key=len, reverse=True))
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’.-]*"
# A number followed by one of these is a quantity, not a house number ("onderweg 3 keer").
_QUANTITY = (
    r"[ \t]*(?:[x×%°]|(?i:keer|maal|jaar|jr|dag|dagen|week|weken|wk|maand|maanden|mnd|uur|u|min|minuten|"
    r"minuut|sec|seconden|km|kilometer|meter|m|kg|kilo|gram|gr|procent|graden|stappen|herhalingen|herh|"
    r"reps|sets|mg|ml|cm|mm|tabletten|pillen|euro)\b)"
)
_ADDRESS = re.compile(
    r"(?<![\w\[’'-])(?P<street>"
    # Capitalised words before the street word: "Van Goghlaan", "Burgemeester de Vlugtlaan".
    rf"(?:{_CAP_WORD}[ \t]+(?:(?:{_CAP_WORD}|van|de|der|den|het|'t|’t|ter|ten)[ \t]+){{0,3}})?"
    rf"(?P<word>[A-Za-zÀ-ÖØ-öø-ÿ'’-]*?(?:(?i:{_STREET_WORDS})\b|(?i:str)\.))"
    r")[ \t]+(?:(?i:nr|no|nummer)\.?[ \t]*)?"
    # 12, 12a, 12 A, 12-3, 12/3, 12 bis, 12 bus 3
    r"[1-9]\d{0,3}(?:[ \t]?[a-wyzA-WYZ](?!\w)|[ \t]*[-/][ \t]*\d{1,4}[a-zA-Z]?)?"
    r"(?:[ \t]+(?i:bis|ter)\b)?(?:[ \t]+(?i:bus|bte)\.?[ \t]*\d{1,4}[a-zA-Z]?)?"
    rf"(?!\d)(?![,.:/-]\d)(?!{_QUANTITY})"
)
_STREET_ENDINGS = _STRONG_STREET_WORDS + _WEAK_STREET_WORDS
# A word followed by a number: where an address may be.
_ADDRESS_HINT = re.compile(
    r"(?<![\w'’-])(?P<word>[^\W\d_][\w'’-]*)(?P<dot>\.?)[ \t]+(?:(?i:nr|no|nummer)\.?[ \t]*)?[1-9]"
)
_ADDRESS_CUE = re.compile(
    r"\b(?:woon|woont|wonen|woonde|woonachtig|wonend|adres(?:[ \t]+is)?|verhuisd[ \t]+naar)[ \t:]+"
    r"(?:[^\W\d_]+[ \t]+){0,2}$",
    re.IGNORECASE,
)

# --- Postcodes --------------------------------------------------------------------------------

_POSTCODE_NL = re.compile(
    r"(?<![\w.,€$-])(?<!\d[ .])(?<!€ )(?P<digits>[1-9]\d{3})[ \t]?(?P<letters>[A-Za-z]{2})(?![\wÀ-ÿ])"
)
_POSTCODE_BE = re.compile(
    r"(?<![\w.,€$-])(?<!\d[ .])(?<!€ )(?P<digits>[1-9]\d{3})[ \t]+"
    r"(?=(?P<place>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)(?:-[A-Za-zÀ-ÿ]+)*(?![\wÀ-ÿ]))"
)
# "sinds 2019 Ben ik...": a word before the number that makes it a year.
_YEAR_CUE = re.compile(
    r"\b(?:sinds|sedert|vanaf|begin|eind|medio|rond|jaar|zomer|winter|voorjaar|najaar)" r"[ \t]+$",
    re.IGNORECASE,
)
# A participle or adjective: "ik ben Gevallen", "Ik ben Misselijk" (not "Vermeulen").
_PARTICIPLE = re.compile(r"^ge\w{2,}(?:en|d|t)$|^(?:be|ver|ont|her)\w{2,}[dt]$|\w(?:ig|isch|lijk|rijk|baar|loos|zaam)$")

# --- Names ------------------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_CAP_NAME = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)*"
_LOW_NAME = rf"[{_LOWER}]+(?:-[{_LOWER}]+)*"
# Tussenvoegsels, in either case ("Jan de Vries", "Jef Van den Broeck", "Kees in 't Veld").
_PARTICLE = (
    r"(?i:van(?:[ \t]+(?:de|der|den|het|'t|’t))?|de(?:[ \t]+la)?|den|der|ter|ten|te|'t|’t"
    r"|in[ \t]+(?:'t|’t|de|den|het)|op[ \t]+(?:de|den|ten|het)|uit[ \t]+(?:de|den|het)"
    r"|von|vande|vanden|vander|la|le|du|da|di|del)"
)
# The start of a name after a cue: initials, a tussenvoegsel, then a word.
_NAME_START = re.compile(
    rf"(?P<initials>(?:[{_UPPER}]\.[ \t]?){{1,4}})?"
    rf"(?:(?P<particle>{_PARTICLE})[ \t]+)?"
    rf"(?P<word>{_CAP_NAME}|{_LOW_NAME})(?!\w)"
)
_NEXT_CAP = re.compile(rf"[ \t]+(?:(?P<particle>{_PARTICLE})[ \t]+)?(?P<word>{_CAP_NAME})(?![\w'’])")
_NEXT_LOW = re.compile(rf"[ \t]+(?:(?P<particle>{_PARTICLE})[ \t]+)?(?P<word>{_LOW_NAME})(?![\w'’])")
# A capitalised word that may be a first name ("Sanne", "Pieter-Jan"); not "Sint-Jan".
_CAPITALISED = re.compile(rf"(?<![\w'’\[-])(?P<word>{_CAP_NAME})(?!\w)")
# Two or more initials, or one with a tussenvoegsel, and a surname: "J.P. Jansen", "A. de Boer".
_INITIALS_NAME = re.compile(
    rf"(?<![\w.])(?:(?:[{_UPPER}]\.[ \t]?){{2,4}}(?:{_PARTICLE}[ \t]+)?|[{_UPPER}]\.[ \t]?{_PARTICLE}[ \t]+)"
    rf"(?P<word>{_CAP_NAME})(?!\w)"
)
# Saints, hospitals, brands and places that start with a first name.
_NOT_A_NAME = re.compile(
    r"\b(?:Albert[ \t]+Heijn|Jeroen[ \t]+Bosch|Anna[ \t]+Paulowna|Willem-Alexander|Antoni[ \t]+van[ \t]+Leeuwenhoek"
    r"|Johan[ \t]+Cruijff|(?:Sint|St\.?|AZ|Heilige|H\.)[ \t-]+[\w-]+(?:[ \t]+[\w-]+)?)"
)

# Cues after which a lowercase word is a name too ("ik heet jan de vries").
_STRONG_CUE = re.compile(
    r"\b(?:(?:mijn|mn|m'n|m’n)[ \t]+(?:voor|achter)?naam[ \t]+is|ik[ \t]+heet|(?:voor|achter)?naam[ \t]*:)"
    r"[ \t]*:?[ \t]*",
    re.IGNORECASE,
)
# Cues after which a capitalised word that is not a common word is a name when the name ends a
# phrase ("Met Jansen, ..."), and a lowercase first name from the list is one too ("mvg sanne").
_WEAK_CUE = re.compile(
    r"^[ \t]*(?:(?:hallo|hoi|hey|hi|goedemorgen|goedemiddag|goedenavond|goeiedag|dag)[ \t]*[,!.]?[ \t]*)?met[ \t]+"
    r"|(?<!\w)(?:"
    r"(?:spreekt[ \t]+met|ik[ \t]+ben|dit[ \t]+is|namens"
    r"|(?:mijn|mn|m'n|m’n)[ \t]+(?:man|vrouw|zoon|dochter|moeder|vader|partner|vriend|vriendin|broer|zus|zoontje"
    r"|dochtertje|echtgenoot|echtgenote|schoonmoeder|schoonvader|buurman|buurvrouw|collega|kleinzoon|kleindochter"
    r"|oma|opa)[ \t]*,?"
    r"|beste|geachte|lieve|hallo|hoi|hey)[ \t]+"
    # Greetings, not "500 gr. suiker".
    r"|(?<!\d[ \t])(?:(?:met[ \t]+)?(?:vriendelijke|hartelijke|lieve|zonnige|beste)[ \t]+groet(?:en|jes)?"
    r"|groet(?:en|jes)?|mvg|m\.v\.g\.?|gr\.|liefs)(?=[\s,.:!-])[\s,.:!-]*)",
    re.IGNORECASE,
)
# Titles: what follows is a name unless it is a common word ("Dr. Google zegt").
_TITLE_CUE = re.compile(
    r"(?<!\w)(?=[dfhimptz])(?:meneer|mijnheer|mevrouw|mevr\.?|mw\.?|dhr\.?|hr\.?|heer|dr\.?|drs\.?|prof\.?|professor|dokter|huisarts"
    r"|fysiotherapeute|fysiotherapeut|fysio|therapeut|zuster|ir\.|ing\.|mr\.?)[ \t]+",
    re.IGNORECASE,
)
# After a weak cue, a word that is not a listed first name must end the phrase to be a name.
_NAME_END = re.compile(
    r"[ \t]*(?:$|[\n,.!?;:)(]|(?i:en|van|uit|hier|ik|namens|voor|met|of|die|is|was|heeft|had|wil|wilde|zou|belt|bel)\b)"
)
_STRONG, _WEAK, _TITLE = "strong", "weak", "title"


# --- Steps ------------------------------------------------------------------------------------


def _replace_spans(text: str, spans: Iterable[Span], placeholder: str) -> str:
    """The text with each span (overlapping spans merged) replaced by the placeholder."""
    merged: List[List[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return text
    parts, position = [], 0
    for start, end in merged:
        parts.append(text[position:start])
        parts.append(placeholder)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _redact_numbers(text: str) -> str:
    """Belgian national register numbers and BSNs with a valid check digit."""
    if sum(character.isdigit() for character in text) < 9:
        return text

    def replace_nn(match: re.Match) -> str:
        return BSN if be_nn.is_valid(match.group(0)) else match.group(0)

    def replace_bsn(match: re.Match) -> str:
        return BSN if nl_bsn.is_valid(re.sub(r"\D", "", match.group(0))) else match.group(0)

    return _NL_BSN.sub(replace_bsn, _BE_NN.sub(replace_nn, text))


def _is_valid_date(day: str, month: int, year: str) -> bool:
    """Whether day and month can be a date (the year only needs the right length)."""
    return 1 <= int(day) <= 31 and 1 <= month <= 12 and len(year.lstrip("'’")) in (2, 4)


def _redact_dates(text: str) -> str:
    """Full dates with a year: `[geboortedatum]` after a birth cue, `[datum]` otherwise."""

    def replace(match: re.Match) -> str:
        if match.group("d1"):
            day, month, year = match.group("d1"), int(match.group("m1")), match.group("y1")
        elif match.group("y2"):
            day, month, year = match.group("d2"), int(match.group("m2")), match.group("y2")
        else:
            day, month, year = match.group("d3"), _MONTH_NUMBERS[match.group("m3").lower()], match.group("y3")
        if not _is_valid_date(day, month, year):
            return match.group(0)
        before = text[max(0, match.start() - 60) : match.start()]
        if _BIRTH_CUE_BEFORE.search(before) or _BIRTH_CUE_AFTER.match(text, match.end()):
            return BIRTH_DATE
        return DATE

    return _DATE.sub(replace, text)


def _redact_phone_numbers(text: str) -> str:
    """Dutch and Belgian phone numbers (the phonenumbers matcher runs on candidate stretches only)."""
    spans: List[Span] = []
    for candidate in _PHONE_CANDIDATE.finditer(text):
        # A little context on the left: the matcher needs to see "+" or "(" and a word boundary.
        offset = max(0, candidate.start() - 1)
        snippet = text[offset : candidate.end()]
        for region in _PHONE_REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(snippet, region):
                spans.append((offset + match.start, offset + match.end))
    return _replace_spans(text, spans, PHONE)


def _is_address(text: str, match: re.Match) -> bool:
    """Whether an `_ADDRESS` match is an address.

    That is a capitalised street, or a lowercase one that is a compound with a strong street word
    ("dorpsstraat 7") or follows a cue ("ik woon aan het marktveld 3").
    """
    word = match.group("word")
    # "Kerkstraat 12", "Oude Gracht 101" (not "De ring 10 ontstoken").
    if word[0].isupper():
        return True
    word = word.lower()
    if word.endswith("str."):
        return True
    if any(word.endswith(suffix) and len(word) > len(suffix) for suffix in _STRONG_STREET_WORDS):
        return True
    return bool(_ADDRESS_CUE.search(text, max(0, match.start() - 40), match.start()))


def _redact_addresses(text: str) -> str:
    """Street names with a house number.

    The full pattern is slow on long texts, so it only runs near a word with a street ending that
    is followed by a number.
    """
    spans: List[Span] = []
    for hint in _ADDRESS_HINT.finditer(text):
        word = hint.group("word").lower()
        if not (word.endswith(_STREET_ENDINGS) or (hint.group("dot") and word.endswith("str"))):
            continue
        match = _ADDRESS.search(text, max(0, hint.start() - 80))
        while match and match.end() <= hint.start():
            match = _ADDRESS.search(text, match.end())
        if match and match.start() <= hint.start() and _is_address(text, match):
            spans.append(match.span())
    return _replace_spans(text, spans, ADDRESS)


def _redact_postcodes(text: str) -> str:
    """Dutch postcodes, and Belgian ones when a capitalised place name follows."""
    shouting = text.isupper()

    def replace_nl(match: re.Match) -> str:
        letters = match.group("letters")
        lower = letters.lower()
        if lower in ("sa", "sd", "ss") or lower in _POSTCODE_UNITS:
            return match.group(0)
        if (shouting or not letters.isupper()) and lower in _TWO_LETTER_WORDS:
            return match.group(0)
        return POSTCODE

    def replace_be(match: re.Match) -> str:
        place = match.group("place")
        lower = place.lower()
        if (
            lower in _COMMON_WORDS
            or place in FIRST_NAMES
            or place in AMBIGUOUS_FIRST_NAMES
            or _PARTICIPLE.search(lower)
            or _YEAR_CUE.search(text, max(0, match.start() - 20), match.start())
        ):
            return match.group(0)
        return POSTCODE + text[match.end("digits") : match.end()]

    return _POSTCODE_BE.sub(replace_be, _POSTCODE_NL.sub(replace_nl, text))


def _is_word(word: str) -> bool:
    """Whether a word is a common word or looks like a participle or adjective ("Gevallen", "Misselijk")."""
    lower = word.lower()
    return lower in _COMMON_WORDS or bool(_PARTICIPLE.search(lower))


def _extend_surname(text: str, end: int, lowercase: bool, strong: bool = False, limit: int = 3) -> int:
    """The end of the name that ends at `end`, extended with middle names, tussenvoegsels and surname.

    A lowercase name ("sanne") is extended with lowercase words: after a strong cue ("ik heet sanne
    jansen") with any word that is not a common word, otherwise only with a tussenvoegsel and a
    word ("sanne de vries") or a listed first name, since the next word may belong to the sentence.
    """
    pattern = _NEXT_LOW if lowercase else _NEXT_CAP
    for _ in range(limit):
        match = pattern.match(text, end)
        if not match or match.group("word").lower() in _COMMON_WORDS:
            break
        if lowercase and not strong and not match.group("particle") and match.group("word") not in _FIRST_NAMES_LOWER:
            break
        end = match.end()
    return end


def _name_after_cue(text: str, position: int, kind: str) -> Optional[Span]:
    """The span of the name right after a cue of the given kind, or None."""
    match = _NAME_START.match(text, position)
    if not match:
        return None
    word, particle, initials = match.group("word"), match.group("particle"), match.group("initials")
    lowercase = word[0].islower()
    if lowercase:
        if particle and particle[0].isupper():
            return None
        listed = word in _FIRST_NAMES_LOWER
        if kind == _STRONG:
            if word in _COMMON_WORDS or len(word) < 2:
                return None
        elif not (listed and not particle and not initials):
            return None
    else:
        if particle and particle[0].islower() and kind == _WEAK and not initials:
            return None
        listed = word in FIRST_NAMES or word in AMBIGUOUS_FIRST_NAMES or word.split("-")[0] in FIRST_NAMES
        if not listed and (word.lower() in _COMMON_WORDS or (kind == _WEAK and _is_word(word))):
            return None
    end = _extend_surname(text, match.end(), lowercase, strong=kind == _STRONG)
    if kind == _WEAK and not lowercase and not listed and not _NAME_END.match(text, end):
        return None
    return match.start(), end


def _name_spans(text: str) -> List[Span]:
    """The spans of names after a cue and of listed first names (with their surnames)."""
    spans: List[Span] = []
    for cue, kind in ((_STRONG_CUE, _STRONG), (_TITLE_CUE, _TITLE), (_WEAK_CUE, _WEAK)):
        for match in cue.finditer(text):
            span = _name_after_cue(text, match.end(), kind)
            if span:
                spans.append(span)
    protected = [match.span() for match in _NOT_A_NAME.finditer(text)]
    for match in _CAPITALISED.finditer(text):
        if any(start <= match.start() < end for start, end in protected):
            continue
        word = match.group("word")
        first = word.split("-")[0]
        if word in FIRST_NAMES or first in FIRST_NAMES:
            spans.append((match.start(), _extend_surname(text, match.end(), lowercase=False)))
        elif word in AMBIGUOUS_FIRST_NAMES or first in AMBIGUOUS_FIRST_NAMES:
            end = _extend_surname(text, match.end(), lowercase=False)
            if end > match.end():
                spans.append((match.start(), end))
    for match in _INITIALS_NAME.finditer(text):
        if match.group("word").lower() not in _COMMON_WORDS:
            spans.append(match.span())
    return spans


def _redact_names(text: str) -> str:
    """Names after a cue and listed first names."""
    return _replace_spans(text, _name_spans(text), NAME)


# --- Public functions -------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")


def _redact_once(text: str) -> str:
    """One pass of every step, in an order that matters (see the module doc)."""
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if _DIGIT.search(text):
        text = _redact_numbers(text)
        text = _redact_dates(text)
        text = _redact_phone_numbers(text)
        text = _redact_addresses(text)
        text = _redact_postcodes(text)
    return _redact_names(text)


_MAX_PASSES = 3


def redact(text: str) -> str:
    """The text with personal details replaced by placeholders such as "[naam]" (see the module doc).

    A value that is not a string is returned unchanged. Redacting a redacted text changes nothing.
    """
    if not isinstance(text, str) or not text:
        return text
    # A placeholder can free a detail that its neighbour hid ("0470/12.34.56 / 0470/12.34.56"):
    # a changed text gets another pass, so that redacting the result changes nothing.
    for _ in range(_MAX_PASSES):
        redacted = _redact_once(text)
        if redacted == text:
            break
        text = redacted
    return text


def _safe_redact(value: Any) -> Any:
    """`redact` for a value that may not be a string; never raises (a failure gives UNREADABLE)."""
    if not isinstance(value, str):
        return value
    try:
        return redact(value)
    except Exception:  # noqa: BLE001 - a stored message must never be the unredacted one
        logger.exception("Redaction failed; the text is replaced")
        return UNREADABLE


def _redact_entities(entities: Any) -> None:
    """Redacts, in place, the string `value` of each entity dict in a list."""
    if not isinstance(entities, list):
        return
    for entity in entities:
        if isinstance(entity, dict) and isinstance(entity.get("value"), str):
            entity["value"] = _safe_redact(entity["value"])


def redact_event(data: Dict[str, Any]) -> Dict[str, Any]:
    """A redacted deep copy of a Rasa event dict (`Event.as_dict()`).

    - "user": `text`, `parse_data.text` and the string `value` of each entity (in `entities` and
      in `parse_data.entities`).
    - "slot": a string value, or the strings in a list value.
    - "bot" and other events: unchanged (the bot's texts hold the practice's own phone numbers).

    Never raises: unexpected shapes (None text, missing keys, values that are not strings) are
    left as they are. A value that is not a dict is returned as it is.
    """
    if not isinstance(data, dict):
        return data
    data = copy.deepcopy(data)
    event = data.get("event")
    if event == "user":
        if "text" in data:
            data["text"] = _safe_redact(data["text"])
        _redact_entities(data.get("entities"))
        parse_data = data.get("parse_data")
        if isinstance(parse_data, dict):
            if "text" in parse_data:
                parse_data["text"] = _safe_redact(parse_data["text"])
            _redact_entities(parse_data.get("entities"))
    elif event == "slot":
        value = data.get("value")
        if isinstance(value, str):
            data["value"] = _safe_redact(value)
        elif isinstance(value, list):
            data["value"] = [_safe_redact(item) for item in value]
    return data
