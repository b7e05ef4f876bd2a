"""The practice file: locations, phone numbers, team; and finding what a message asks about."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from actions.datafile import Entry, read_yaml
from actions.text import contains_term, fold

# Dutch phone numbers as patients write them: 10 digits starting with 0 (0413-263002,
# 073 642 95 72), short service numbers (112, 0800-0113) and +31 forms.
_PHONE = re.compile(r"^(\+31|0)[0-9 \-]{2,14}$|^1[0-9]{2,3}$")


@dataclass(frozen=True)
class Location:
    """A location of a practice with its phone number."""

    name: str
    phone: str
    address: str = ""
    aliases: Tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamMember:
    """A therapist and what they specialise in."""

    name: str
    specialisations: Tuple[str, ...]


@dataclass(frozen=True)
class Practice:
    """One practice (possibly with several locations)."""

    id: str
    name: str
    opening_hours: str
    locations: Tuple[Location, ...]
    team: Tuple[TeamMember, ...]


@dataclass(frozen=True)
class Urgent:
    """Where patients go with urgent complaints."""

    gp: str
    gp_out_of_hours: str
    emergency_number: str
    crisis_line: str


@dataclass(frozen=True)
class PracticeConfig:
    """The whole practice file."""

    practices: Tuple[Practice, ...]
    aliases: Dict[str, Tuple[str, ...]]
    urgent: Urgent
    # The one way to reach the practice that the assistant gives when no location is named.
    main: Tuple[Practice, Location] = None  # type: ignore[assignment]
    # Answers to administrative questions (costs, insurance, ...); empty when not filled in.
    administration: Dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The name patients see: the practice, or the practices joined by 'en'."""
        names = [practice.name for practice in self.practices]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]

    def contacts(self, practice: Optional[Practice] = None) -> List[Tuple[Practice, Location]]:
        """Returns (practice, location) pairs that have a phone number."""
        chosen = [practice] if practice else list(self.practices)
        return [(p, loc) for p in chosen for loc in p.locations if loc.phone]


def _phone(entry: Entry, key: str, *, required: bool = True) -> str:
    value = entry.text(key, required=required, allow_empty=not required)
    if value and not _PHONE.match(value):
        raise entry.error(f"'{key}' is not a phone number: '{value}'")
    return value


def load_practice(path: Path) -> PracticeConfig:
    """Loads and validates the practice file.

    Raises:
        DataFileError: naming the file, line and entry that is wrong.
    """
    root = Entry(path, read_yaml(path), "file")
    root.version()
    practices: List[Practice] = []
    for entry in root.entries("practices", lambda i: f"practice #{i + 1}"):
        name = entry.text("name")
        entry.what = f"practice '{name}'"
        locations = tuple(
            Location(
                name=loc.text("name"),
                phone=_phone(loc, "phone"),
                address=loc.text("address", required=False, allow_empty=True),
                aliases=tuple(loc.text_list("aliases", required=False)),
            )
            for loc in entry.entries("locations", lambda i, n=name: f"{n}: location #{i + 1}")
        )
        team = tuple(
            TeamMember(name=member.text("name"), specialisations=tuple(member.text_list("specialisations")))
            for member in entry.entries("team", lambda i, n=name: f"{n}: team member #{i + 1}")
        )
        practices.append(
            Practice(
                id=entry.text("id"),
                name=name,
                opening_hours=entry.text("opening_hours", required=False, allow_empty=True),
                locations=locations,
                team=team,
            )
        )
    if not practices:
        raise root.error("'practices' must list at least one practice")
    if not any(p.locations for p in practices):
        raise root.error("at least one practice needs a location with a phone number")
    ids = [p.id for p in practices]
    if len(set(ids)) != len(ids):
        raise root.error(f"practice ids must be unique, got {ids}")

    known = {fold(s) for p in practices for m in p.team for s in m.specialisations}
    aliases: Dict[str, Tuple[str, ...]] = {}
    alias_entry = Entry(
        path, root.mapping("specialisation_aliases", required=False), "specialisation_aliases", root.line
    )
    for specialisation in alias_entry.data:
        if fold(specialisation) not in known:
            raise alias_entry.error(f"'{specialisation}' is not a specialisation of any team member")
        aliases[specialisation] = tuple(alias_entry.text_list(specialisation))

    urgent = Entry(path, root.data.get("urgent"), "urgent", root.line)
    config = PracticeConfig(
        main=_main_contact(root, practices),
        administration=_administration(path, root),
        practices=tuple(practices),
        aliases=aliases,
        urgent=Urgent(
            gp=urgent.text("gp"),
            gp_out_of_hours=urgent.text("gp_out_of_hours"),
            emergency_number=_phone(urgent, "emergency_number"),
            crisis_line=urgent.text("crisis_line"),
        ),
    )
    return config


# The administrative questions a practice can answer in its file (opening hours are per practice).
ADMINISTRATION_KEYS: Tuple[str, ...] = ("costs", "insurance", "referral", "waiting_list", "cancel")


def _main_contact(root: Entry, practices: List[Practice]) -> Tuple[Practice, Location]:
    """The `main_contact` (practice id and location name); the first location when not set."""
    raw = root.data.get("main_contact")
    if raw is None:
        practice = next(p for p in practices if p.locations)
        return practice, practice.locations[0]
    main = Entry(root.path, raw, "main_contact", root.line)
    practice_id, location_name = main.text("practice"), main.text("location")
    practice = next((p for p in practices if p.id == practice_id), None)
    if practice is None:
        raise main.error(f"no practice with id '{practice_id}'")
    location = next((loc for loc in practice.locations if loc.name == location_name), None)
    if location is None:
        raise main.error(f"'{practice.name}' has no location '{location_name}'")
    return practice, location


def _administration(path: Path, root: Entry) -> Dict[str, str]:
    admin = Entry(path, root.mapping("administration", required=False), "administration", root.line)
    unknown = [key for key in admin.data if key not in ADMINISTRATION_KEYS]
    if unknown:
        raise admin.error(f"unknown key(s) {unknown}; use {', '.join(ADMINISTRATION_KEYS)}")
    return {key: admin.text(key, required=False, allow_empty=True) for key in ADMINISTRATION_KEYS}


def find_practice(config: PracticeConfig, text: str) -> Optional[Practice]:
    """Returns the practice named in `text`, if exactly one is."""
    named = [p for p in config.practices if contains_term(text, p.name)]
    return named[0] if len(named) == 1 else None


def find_locations(config: PracticeConfig, text: str) -> List[Tuple[Practice, Location]]:
    """Returns the locations (with their practice) named in `text` by name or alias."""
    return [
        (practice, location)
        for practice in config.practices
        for location in practice.locations
        if any(contains_term(text, term) for term in (location.name, *location.aliases))
    ]


def find_specialists(config: PracticeConfig, text: str) -> List[Tuple[str, Practice, List[TeamMember]]]:
    """Returns (specialisation, practice, members) for each specialisation asked about in `text`.

    A specialisation is asked about when its name or one of its aliases occurs in `text`.
    The broad 'Fysiotherapie' counts only when no more specific one is asked about.
    """
    asked: List[str] = []
    names = {fold(s): s for p in config.practices for m in p.team for s in m.specialisations}
    for folded, specialisation in names.items():
        terms = (specialisation, *next((v for k, v in config.aliases.items() if fold(k) == folded), ()))
        if any(contains_term(text, term) for term in terms):
            asked.append(specialisation)
    specific = [s for s in asked if fold(s) != "fysiotherapie"]
    asked = specific or asked
    found = []
    for specialisation in asked:
        for practice in config.practices:
            members = [m for m in practice.team if fold(specialisation) in {fold(s) for s in m.specialisations}]
            if members:
                found.append((specialisation, practice, members))
    return found
