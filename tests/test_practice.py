"""The practice file: validation, and finding locations and specialists in a message."""

from __future__ import annotations

import pytest

from actions.datafile import DataFileError
from actions.practice import find_locations, find_practice, find_specialists, load_practice

from .conftest import KNOWLEDGE_DIR
from .test_knowledge import line_of, replace_in


@pytest.fixture(scope="module")
def practice():
    return load_practice(KNOWLEDGE_DIR / "practice.yml")


def test_shipped_practice_file_loads(practice):
    assert [p.name for p in practice.practices] == ["FysioMaatwerk", "FysioFits"]
    assert practice.name == "FysioMaatwerk en FysioFits"
    assert len(practice.contacts()) == 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wat is het nummer van FysioMaatwerk Uden?", ["Uden"]),
        ("telefoon den bosch", ["'s-Hertogenbosch"]),
        ("nummer van fysiomaatwerk 's-Hertogenbosch", ["'s-Hertogenbosch"]),
        ("ik woon in heeswijk", ["Heeswijk-Dinther"]),
        ("zitten jullie in tilburg of in veghel", ["Tilburg", "Veghel"]),
        ("wat is jullie nummer", []),
        ("ik woon in Udenhout", []),
    ],
)
def test_find_locations(practice, text, expected):
    assert [location.name for _, location in find_locations(practice, text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wie doet er dry needling?", {"Dry needling": ["Jordi Koning"]}),
        ("doet iemand dryneedling", {"Dry needling": ["Jordi Koning"]}),
        ("ik zoek een manueel therapeut", {"Manuele therapie": ["Casper Oude Lohuis"]}),
        ("is er een sportfysio", {"Sportfysiotherapie": ["Harmke Berenpas"]}),
        ("wie doet hydrotherapie", {"Hydrotherapie": ["Bregtje Kuppens"]}),
        ("wat is het nummer van Uden", {}),
    ],
)
def test_find_specialists(practice, text, expected):
    found = {spec: [m.name for m in members] for spec, _, members in find_specialists(practice, text)}
    assert found == expected


def test_general_physiotherapy_counts_only_without_a_specific_question(practice):
    found = find_specialists(practice, "welke fysio doet er dry needling")
    assert [spec for spec, _, _ in found] == ["Dry needling"]
    everyone = find_specialists(practice, "welke fysiotherapeuten werken er")
    assert len(everyone[0][2]) == 6


def test_find_practice(practice):
    assert find_practice(practice, "wie werken er bij fysiofits?").name == "FysioFits"
    assert find_practice(practice, "wie werken er?") is None


@pytest.mark.parametrize(
    ("old", "new", "message", "needle"),
    [
        ('phone: "0413-263002"', 'phone: "bel ons"', "is not a phone number: 'bel ons'", "name: Uden"),
        ("  Echografie: [echo", "  Echoscopie: [echo", "'Echoscopie' is not a specialisation", None),
        ('  emergency_number: "112"', '  emergency_number: ""', "'emergency_number' is empty", None),
        (
            "  - name: Guido Heerink\n        specialisations: [Fysiotherapie]",
            "  - name: Guido Heerink\n        specialisations: Fysiotherapie",
            "must be a list",
            "Guido Heerink",
        ),
    ],
)
def test_a_wrong_practice_entry_is_named(knowledge_copy, old, new, message, needle):
    path = knowledge_copy / "practice.yml"
    replace_in(path, old, new)
    with pytest.raises(DataFileError) as raised:
        load_practice(path)
    assert message in str(raised.value)
    assert "practice.yml" in str(raised.value)
    if needle:
        assert raised.value.line == line_of(path, needle)
