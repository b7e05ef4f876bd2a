"""Normalisation and the classification of unusable input."""

import pytest

from actions.text import MAX_MESSAGE_CHARS, InputProblem, classify_input, contains_term, fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", InputProblem.EMPTY),
        ("   \n\t ", InputProblem.EMPTY),
        (None, InputProblem.EMPTY),
        ("rugpijn " * 400, InputProblem.TOO_LONG),
        ("😀🙈👍", InputProblem.NO_WORDS),
        ("???!!! 123", InputProblem.NO_WORDS),
        ("<script>alert('x')</script>", InputProblem.NO_WORDS),
        ("<img src=x onerror=alert(1)>", InputProblem.NO_WORDS),
        ("What should I do about my back pain?", InputProblem.OTHER_LANGUAGE),
        ("is moving bad for my back", InputProblem.OTHER_LANGUAGE),
        ("<b>is bewegen schadelijk?</b>", None),
        ("rugpijn foto?", None),
        ("mag ik sporten met spit", None),
        ("ik heb een vraag over mijn rug, is dat oké?", None),
        ("hoi", None),
        ("ok", None),
        ("back pain check bij de fysio", None),
    ],
)
def test_classify_input(text, expected):
    assert classify_input(text) == expected


def test_the_length_limit_is_inclusive():
    assert classify_input("a" * MAX_MESSAGE_CHARS) is None
    assert classify_input("a" * (MAX_MESSAGE_CHARS + 1)) == InputProblem.TOO_LONG


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("Wie doet er dryneedling?", "Dry needling", True),
        ("wie doet dry-needling", "dry needling", True),
        ("DRY NEEDLING graag", "Dry needling", True),
        ("nummer van 's-Hertogenbosch", "'s-Hertogenbosch", True),
        ("ik woon in den bosch", "den bosch", True),
        ("is echografie mogelijk", "echo", False),
        ("ik wil naar Udenhout", "Uden", False),
        ("locatie Uden?", "Uden", True),
        ("geen term", "", False),
    ],
)
def test_contains_term_matches_whole_words_only(text, term, expected):
    assert contains_term(text, term) is expected


def test_fold_removes_case_and_accents():
    assert fold("Röntgenfoto's EN Échografie") == "rontgenfoto's en echografie"
