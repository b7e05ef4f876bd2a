"""A patient's request to delete their conversation, its confirmation, and questions about privacy."""

from __future__ import annotations

import pytest

from actions.privacy.requests import answer_to_confirmation, asks_about_privacy, asks_deletion


@pytest.mark.parametrize(
    "text",
    [
        "verwijder mijn gegevens",
        "Wilt u al mijn gegevens verwijderen?",
        "kun je dit gesprek wissen",
        "ik wil dat mijn chat verwijderd wordt a.u.b.",
        "mijn data wissen graag",
        "vergeet mij",
        "delete my data",
        "haal al mijn berichten weg",
        "Ik wil gebruik maken van mijn recht op vergetelheid",
        "VERWIJDER MIJN GEGEVENS!!",
    ],
)
def test_requests_to_delete(text: str) -> None:
    assert asks_deletion(text)


@pytest.mark.parametrize(
    "text",
    [
        "mag mijn afspraak verwijderd worden",
        "hoe verwijder ik een oefening uit mijn schema",
        "wat doen jullie met mijn gegevens",
        "is bewegen schadelijk?",
        "ik heb mijn gegevens al doorgegeven aan de balie",
        "de pijn is weg",
    ],
)
def test_not_requests_to_delete(text: str) -> None:
    assert not asks_deletion(text)


@pytest.mark.parametrize(
    "text",
    ["wat doen jullie met mijn gegevens?", "wat gebeurt er met mijn gegevens", "wie leest mijn chat?",
     "wordt dit gesprek opgeslagen?", "hoe zit het met de privacy", "Is dit AVG-proof?"],
)  # fmt: skip
def test_questions_about_privacy(text: str) -> None:
    assert asks_about_privacy(text)


@pytest.mark.parametrize(
    "text",
    ["mag ik mijn gegevens doorgeven aan de fysio", "wat moet ik doen bij rugpijn", "verwijder mijn gegevens"],
)
def test_not_questions_about_privacy(text: str) -> None:
    assert not asks_about_privacy(text)


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("ja", None, True),
        ("Ja, verwijder alles", None, True),
        ("ja graag", "affirm", True),
        ("", "affirm", True),  # the button: /affirm without words
        ("nee", None, False),
        ("Nee, bewaar het", None, False),
        ("liever niet", None, False),
        ("", "deny", False),
        ("hoe vaak moet ik oefenen?", "ask_exercises", None),
        ("ja maar hoe vaak moet ik oefenen?", "affirm", None),
    ],
)
def test_the_answer_to_the_confirmation(text: str, intent, expected) -> None:
    assert answer_to_confirmation(text, intent) is expected
