"""How replies read per channel, and numbers or button ids back to the payload they stand for."""

from __future__ import annotations

import pytest

from channels.choices import button_id, resolve, resolve_in_events
from channels.formatting import numbered_choices, split_text, to_plain, to_telegram_html, to_whatsapp
from channels.texts import with_numbered_choices

TEXT = (
    "Bel **meteen** uw huisarts.\n- zie [de folder](https://praktijk.nl/rug?a=1&b=2)\n"
    "- of bel [0413-263002](tel:0413263002)"
)


@pytest.mark.parametrize(
    ("convert", "expected"),
    [
        (to_plain, "Bel meteen uw huisarts.\n- zie de folder: https://praktijk.nl/rug?a=1&b=2\n- of bel 0413-263002"),
        (
            to_whatsapp,
            "Bel *meteen* uw huisarts.\n- zie de folder: https://praktijk.nl/rug?a=1&b=2\n- of bel 0413-263002",
        ),
        (
            to_telegram_html,
            'Bel <b>meteen</b> uw huisarts.\n- zie <a href="https://praktijk.nl/rug?a=1&amp;b=2">de folder</a>\n'
            '- of bel <a href="tel:0413263002">0413-263002</a>',
        ),
    ],
)
def test_markdown_per_channel(convert, expected):
    assert convert(TEXT) == expected


def test_telegram_html_escapes_what_the_patient_or_practice_wrote():
    assert to_telegram_html("pijn <5 & > 3 dagen") == "pijn &lt;5 &amp; &gt; 3 dagen"


def test_numbered_choices_from_the_messages_file():
    buttons = [{"title": "Gilze", "payload": "/a"}, {"title": "Uden", "payload": "/b"}]
    text = with_numbered_choices("Van welke vestiging?", buttons)
    assert text.startswith("Van welke vestiging?\n\nTyp het nummer van uw keuze:\n1. Gilze\n2. Uden")
    assert numbered_choices("Tekst", [], "Kies:", "{number}. {title}") == "Tekst"


@pytest.mark.parametrize("limit", [50, 200, 4096])
def test_long_texts_are_split_at_boundaries_without_losing_words(limit):
    text = "\n\n".join(f"Alinea {n}. " + " ".join(f"woord{n}-{i}" for i in range(60)) for n in range(20))
    parts = split_text(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    if len(text) > limit:
        assert len(parts) > 1


def test_a_word_longer_than_the_limit_is_cut():
    parts = split_text("x" * 130, 50)
    assert [len(part) for part in parts] == [50, 50, 30]


BOT_WITH_BUTTONS = {
    "event": "bot",
    "text": "Van welke vestiging?",
    "data": {"buttons": [{"title": "Gilze", "payload": '/ask_practice_contact{"location":"Gilze"}'},
                         {"title": "Uden", "payload": '/ask_practice_contact{"location":"Uden"}'}]},
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", '/ask_practice_contact{"location":"Uden"}'),
        (" 1. ", '/ask_practice_contact{"location":"Gilze"}'),
        ("3", None),
        ("0", None),
        ("2 weken", None),
    ],
)
def test_a_number_picks_from_the_last_list(text, expected):
    events = [{"event": "user", "text": "nummer?"}, BOT_WITH_BUTTONS]
    assert resolve_in_events(text, events) == expected


def test_a_number_after_the_patient_moved_on_is_just_text():
    events = [BOT_WITH_BUTTONS, {"event": "user", "text": "iets anders"}, {"event": "bot", "text": "Antwoord."}]
    assert resolve_in_events("2", events) is None


def test_a_long_payload_gets_a_short_id_that_resolves_back():
    payload = BOT_WITH_BUTTONS["data"]["buttons"][1]["payload"] + "x" * 80
    events = [{"event": "bot", "data": {"buttons": [{"title": "Lang", "payload": payload}]}}]
    short = button_id(payload, 64)
    assert len(short.encode()) <= 64 and short != payload
    assert resolve_in_events(short, events) == payload
    assert button_id("/greet", 64) == "/greet"


async def test_resolve_reads_the_conversation_from_the_tracker_store():
    class Event:
        def __init__(self, data):
            self.data = data

        def as_dict(self):
            return self.data

    class Store:
        async def retrieve(self, sender_id):
            assert sender_id == "patient-1"
            return type("T", (), {"events": [Event({"event": "user", "text": "?"}), Event(BOT_WITH_BUTTONS)]})()

    assert await resolve("2", "patient-1", Store()) == '/ask_practice_contact{"location":"Uden"}'
    assert await resolve("is bewegen goed?", "patient-1", Store()) == "is bewegen goed?"
    assert await resolve("2", "patient-1", None) == "2"
