"""Redaction of personal details in Dutch and Flemish patient messages (a table test)."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest

from actions.privacy import redact as redact_module
from actions.privacy.logs import RedactingFilter, install
from actions.privacy.redact import redact, redact_event

# (message, expected redacted message)
REDACTED = [
    # Names after a cue
    ("Mijn naam is Jan de Vries en ik heb rugpijn", "Mijn naam is [naam] en ik heb rugpijn"),
    ("ik heet sanne jansen, ik ben 45", "ik heet [naam], ik ben 45"),
    ("mijn naam is jan de vries en ik woon in utrecht", "mijn naam is [naam] en ik woon in utrecht"),
    ("Ik ben Jan en ik heb last van mijn onderrug", "Ik ben [naam] en ik heb last van mijn onderrug"),
    ("hoi, ik ben Karin, sinds 2 weken pijn in mijn rug", "hoi, ik ben [naam], sinds 2 weken pijn in mijn rug"),
    ("Met Jansen, ik wilde een afspraak maken", "Met [naam], ik wilde een afspraak maken"),
    ("Hallo, met Karin", "Hallo, met [naam]"),
    ("Met Jan de Vries. Ik heb een vraag over mijn oefeningen", "Met [naam]. Ik heb een vraag over mijn oefeningen"),
    ("Dit is Bakker, ik bel over mijn nek", "Dit is [naam], ik bel over mijn nek"),
    ("Dit is Karel Appel, ik bel voor mijn rug", "Dit is [naam], ik bel voor mijn rug"),
    ("ik stuur dit namens Hendriks, hij kan niet typen", "ik stuur dit namens [naam], hij kan niet typen"),
    ("Dokter Smit zei dat ik moest rusten", "Dokter [naam] zei dat ik moest rusten"),
    ("mijn huisarts is dokter Verhoeven", "mijn huisarts is dokter [naam]"),
    ("mevrouw de Vries wil terugbellen", "mevrouw [naam] wil terugbellen"),
    ("Ik was bij dhr. van den Berg en mw. Van Dam", "Ik was bij dhr. [naam] en mw. [naam]"),
    ("fysiotherapeut Bakker zei 3x per dag oefenen", "fysiotherapeut [naam] zei 3x per dag oefenen"),
    ("mijn man Piet heeft ook rugpijn", "mijn man [naam] heeft ook rugpijn"),
    ("Mijn vrouw Anneke heeft ook last van haar rug", "Mijn vrouw [naam] heeft ook last van haar rug"),
    ("ik vraag het voor mijn dochter, Lisa", "ik vraag het voor mijn dochter, [naam]"),
    ("Met vriendelijke groet, Anneke van den Berg", "Met vriendelijke groet, [naam]"),
    ("Alvast bedankt.\nGroetjes,\nSanne", "Alvast bedankt.\nGroetjes,\n[naam]"),
    ("mvg sanne de boer", "mvg [naam]"),
    ("Mvg, J. Jansen", "Mvg, [naam]"),
    ("groetjes Ilse", "groetjes [naam]"),
    # Listed first names anywhere, with their surname
    ("Sanne Jansen heeft dezelfde klachten", "[naam] heeft dezelfde klachten"),
    ("mijn buurvrouw Anneke van den Berg raadde u aan", "mijn buurvrouw [naam] raadde u aan"),
    ("ik kom met Pieter-Jan De Smet naar de praktijk", "ik kom met [naam] naar de praktijk"),
    ("gisteren belde Kees in 't Veld over de afspraak", "gisteren belde [naam] over de afspraak"),
    ("Roos de Vries heeft hetzelfde gehad", "[naam] heeft hetzelfde gehad"),
    ("toen ik met Bart aan het tillen was schoot het erin", "toen ik met [naam] aan het tillen was schoot het erin"),
    # Phone numbers
    ("bel me op 06-12345678", "bel me op [telefoonnummer]"),
    ("mijn nummer is 06 1234 5678, liefst na 17 uur", "mijn nummer is [telefoonnummer], liefst na 17 uur"),
    ("bereikbaar op +31 6 12345678 of 0031 6 87654321", "bereikbaar op [telefoonnummer] of [telefoonnummer]"),
    ("vast nummer: 020-1234567", "vast nummer: [telefoonnummer]"),
    ("(020) 123 45 67 is mijn vaste nummer", "[telefoonnummer] is mijn vaste nummer"),
    ("tel 010 - 123 45 67", "tel [telefoonnummer]"),
    ("mijn gsm is 0470/12.34.56", "mijn gsm is [telefoonnummer]"),
    ("bel gerust naar +32 470 12 34 56 of 09 223 45 67", "bel gerust naar [telefoonnummer] of [telefoonnummer]"),
    ("0612345678 bellen aub", "[telefoonnummer] bellen aub"),
    # E-mail
    ("mail mij op jan.devries@gmail.com", "mail mij op [e-mail]"),
    ("Mijn mail: s.jansen+fysio@ziggo.nl.", "Mijn mail: [e-mail]."),
    # BSN and the Belgian national register number
    ("mijn bsn is 123456782", "mijn bsn is [BSN]"),
    ("BSN: 1234.56.782", "BSN: [BSN]"),
    ("burgerservicenummer 123 456 782", "burgerservicenummer [BSN]"),
    ("rijksregisternummer 85.07.30-033.28", "rijksregisternummer [BSN]"),
    ("bsn 123456782 06-12345678", "bsn [BSN] [telefoonnummer]"),
    # Dates of birth and other dates
    ("geboren op 12-03-1965", "geboren op [geboortedatum]"),
    ("mijn geboortedatum: 3 maart 1965", "mijn geboortedatum: [geboortedatum]"),
    ("geb. 12/3/65", "geb. [geboortedatum]"),
    ("geb.datum 1965-03-12", "geb.datum [geboortedatum]"),
    ("mijn verjaardag is op 3 mrt. 1965", "mijn verjaardag is op [geboortedatum]"),
    (
        "Ik ben geboren op 14 Juli 1980 en heb sinds 3 maart pijn",
        "Ik ben geboren op [geboortedatum] en heb sinds 3 maart pijn",
    ),
    ("de MRI was op 12-03-2023", "de MRI was op [datum]"),
    ("operatie op 1 februari 2019 en controle op 2019-05-12", "operatie op [datum] en controle op [datum]"),
    ("afspraak op 03.04.2024 om 14:00", "afspraak op [datum] om 14:00"),
    ("Zaterdag 12 maart 2022 ben ik gevallen", "Zaterdag [datum] ben ik gevallen"),
    # Postcodes
    ("postcode 3512 JK", "postcode [postcode]"),
    ("ik woon in 3512jk", "ik woon in [postcode]"),
    ("9000 Gent", "[postcode] Gent"),
    ("ik woon in 2000 Antwerpen", "ik woon in [postcode] Antwerpen"),
    # Addresses
    ("Ik woon op de Kerkstraat 12, 3512 JK Utrecht", "Ik woon op de [adres], [postcode] Utrecht"),
    ("ik woon aan de dorpsstraat 7", "ik woon aan de [adres]"),
    ("mijn adres is Van Goghlaan 3a", "mijn adres is [adres]"),
    ("Oude Gracht 101 bis", "[adres]"),
    ("Kerkstraat 12 bus 3, 2000 Antwerpen", "[adres], [postcode] Antwerpen"),
    ("ik woon op het marktveld 3", "ik woon op het [adres]"),
    ("Burgemeester de Vlugtlaan 12-3 Amsterdam", "[adres] Amsterdam"),
    # Long stories mixing several details
    (
        "Beste fysio, ik ben Bart Jansen (45 jaar), geboren op 12-03-1978 en woonachtig op de Molenweg 14 in "
        "6711 AB Ede. U kunt mij bereiken op 06 1234 5678 of via b.jansen@hotmail.com. Mijn huisarts is dokter "
        "Verhoeven. Groetjes, Bart",
        "Beste fysio, ik ben [naam] (45 jaar), geboren op [geboortedatum] en woonachtig op de [adres] in "
        "[postcode] Ede. U kunt mij bereiken op [telefoonnummer] of via [e-mail]. Mijn huisarts is dokter "
        "[naam]. Groetjes, [naam]",
    ),
    (
        "hoi ik heet marieke, sinds 3 weken pijn onderrug na tillen. 2x per dag ibuprofen. "
        "mijn bsn is 111222333 en mijn nr 0612345678 groetjes marieke",
        "hoi ik heet [naam], sinds 3 weken pijn onderrug na tillen. 2x per dag ibuprofen. "
        "mijn bsn is [BSN] en mijn nr [telefoonnummer] groetjes [naam]",
    ),
    (
        "Goedemiddag, ik bel namens mijn moeder, mevr. A. de Boer, geb. 3 maart 1941, ze woont op de "
        "Lindelaan 8 in Zwolle. Zij is gevallen en heeft nu pijn 8/10 in haar heup.",
        "Goedemiddag, ik bel namens mijn moeder, mevr. [naam], geb. [geboortedatum], ze woont op de "
        "[adres] in Zwolle. Zij is gevallen en heeft nu pijn 8/10 in haar heup.",
    ),
    (
        "Dag, ik ben Wout Peeters uit 9000 Gent, gsm 0475 12 34 56. Ik heb al 6 weken last van L5-S1.",
        "Dag, ik ben [naam] uit [postcode] Gent, gsm [telefoonnummer]. Ik heb al 6 weken last van L5-S1.",
    ),
]

# Messages that hold no personal details and must stay exactly as they are.
UNCHANGED = [
    "Ik ben bang dat het een hernia is",
    "Ik ben Bang dat het erger wordt",
    "Ik ben zwanger en heb pijn in mijn bekken",
    "ik ben moe en ik ben 45 jaar",
    "Ik ben 45",
    "Ik ben Gevallen van de trap",
    "Dr. Google zegt dat het ischias is",
    "3 keer per dag 10 minuten oefenen",
    "pijn 7/10 bij L4-L5, uitstraling naar mijn been",
    "sinds 3 maart heb ik last van mijn rug",
    "ik heb sinds 2019 rugklachten en in 2020 ben ik geopereerd",
    "om 14:00 heb ik een afspraak, 2x per dag, L5-S1",
    "ik slik 1000 mg paracetamol en 1000 IE vitamine D",
    "3 sets van 12 herhalingen, 30 seconden rust",
    "onderweg 3 keer gestopt, ik loop 20 minuten in het park 3 keer per week",
    "Met mijn rug gaat het slecht",
    "Met Yoga gaat het beter",
    "Elke dag pijn bij het opstaan",
    "Max 2 tabletten per dag",
    "Lies doet pijn na het fietsen",
    "Iris is ontstoken volgens de oogarts",
    "Ik werk bij de Albert Heijn en moet veel tillen",
    "Morgen ga ik naar het Jeroen Bosch Ziekenhuis",
    "ik lig in AZ Sint-Jan in Brugge",
    "de pijn zit tussen T12 en L1, ongeveer 5 cm",
    "ik heb 10000 stappen gelopen en 2500 kcal",
    "mijn bloeddruk is 140/90 en mijn hartslag 72",
    "Ik ben gisteren gestopt met sporten want het deed pijn",
    "12/3 heb ik een afspraak bij de huisarts",
    "groeten aan iedereen en bedankt",
    "Hallo, ik heb een vraag over de oefeningen",
    "morgen om 9 uur 15 minuten wandelen",
    "In 2019 Ben ik geopereerd aan mijn rug",
    "Met Paracetamol gaat het wat beter",
    "ik woon in Rotterdam 2 jaar en werk op de markt 3 dagen per week",
]


def test_the_table_is_large_enough():
    assert len(REDACTED) >= 60
    assert len(UNCHANGED) >= 20


@pytest.mark.parametrize(("message", "expected"), REDACTED)
def test_redacts_personal_details(message, expected):
    assert redact(message) == expected


@pytest.mark.parametrize("message", UNCHANGED)
def test_keeps_text_without_personal_details(message):
    assert redact(message) == message


@pytest.mark.parametrize("message", [message for message, _ in REDACTED] + UNCHANGED)
def test_redaction_is_idempotent(message):
    once = redact(message)
    assert redact(once) == once


@pytest.mark.parametrize(
    "placeholders",
    ["[naam] [telefoonnummer] [e-mail] [BSN] [geboortedatum] [datum] [postcode] [adres]", "ik heet [naam]"],
)
def test_placeholders_stay(placeholders):
    assert redact(placeholders) == placeholders


@pytest.mark.parametrize("value", ["", None, 42])
def test_empty_and_non_text_values_come_back_unchanged(value):
    assert redact(value) == value


# --- redact_event -----------------------------------------------------------------------------

PATIENT_TEXT = "ik heet Jan de Vries, bel 06-12345678"
PATIENT_TEXT_REDACTED = "ik heet [naam], bel [telefoonnummer]"


def _user_event():
    return {
        "event": "user",
        "timestamp": 1700000000.0,
        "text": PATIENT_TEXT,
        "parse_data": {
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": [
                {"entity": "phone", "start": 26, "end": 37, "value": "06-12345678"},
                {"entity": "duration", "value": 3},
            ],
            "text": PATIENT_TEXT,
            "message_id": "abc",
        },
        "entities": [{"entity": "name", "value": "Jan de Vries"}],
        "input_channel": "socketio",
        "message_id": "abc",
    }


def test_user_event_is_redacted_in_a_copy():
    event = _user_event()
    redacted = redact_event(event)
    assert redacted["text"] == PATIENT_TEXT_REDACTED
    assert redacted["parse_data"]["text"] == PATIENT_TEXT_REDACTED
    assert redacted["parse_data"]["entities"][0]["value"] == "[telefoonnummer]"
    assert redacted["parse_data"]["entities"][1]["value"] == 3
    assert redacted["entities"][0]["value"] == "[naam]"
    assert redacted["parse_data"]["intent"] == {"name": "inform", "confidence": 0.9}
    assert redacted["message_id"] == "abc"
    assert event == _user_event()  # the original is untouched


def test_a_real_rasa_user_event_is_redacted():
    from rasa.shared.core.events import UserUttered

    data = UserUttered(
        PATIENT_TEXT,
        intent={"name": "inform", "confidence": 1.0},
        entities=[{"entity": "phone", "value": "06-12345678", "start": 26, "end": 37}],
    ).as_dict()
    redacted = redact_event(data)
    assert redacted["text"] == PATIENT_TEXT_REDACTED
    assert redacted["parse_data"]["text"] == PATIENT_TEXT_REDACTED
    assert [entity["value"] for entity in redacted["parse_data"]["entities"]] == ["[telefoonnummer]"]
    assert "06-12345678" not in repr(redacted) and "Vries" not in repr(redacted)


def test_slot_event_with_a_string_value_is_redacted():
    event = {"event": "slot", "name": "complaint", "value": "mail naar jan@example.com", "timestamp": 1.0}
    assert redact_event(event) == {**event, "value": "mail naar [e-mail]"}


def test_slot_event_with_a_list_value_redacts_its_strings():
    event = {"event": "slot", "name": "notes", "value": ["bel 06-12345678", 7, None, "sinds 2019"]}
    assert redact_event(event)["value"] == ["bel [telefoonnummer]", 7, None, "sinds 2019"]
    assert event["value"][0] == "bel 06-12345678"


def test_bot_event_is_untouched():
    event = {"event": "bot", "text": "Bel de praktijk op 030-1234567 of mail info@praktijk.nl.", "data": {}}
    assert redact_event(event) == event


def test_other_events_are_untouched():
    event = {"event": "action", "name": "action_listen", "policy": "RulePolicy"}
    assert redact_event(event) == event


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"event": "user"},
        {"event": "user", "text": None, "parse_data": None},
        {"event": "user", "text": 12, "parse_data": {"text": None, "entities": None}},
        {"event": "user", "text": "hoi", "parse_data": {"entities": ["niet een dict", {"value": None}, {}]}},
        {"event": "user", "text": "hoi", "parse_data": "geen dict", "entities": "geen lijst"},
        {"event": "slot", "name": "x"},
        {"event": "slot", "name": "x", "value": {"nested": "06-12345678"}},
        {"event": None, "text": "06-12345678"},
    ],
)
def test_odd_event_shapes_do_not_raise(event):
    assert isinstance(redact_event(event), dict)


def test_odd_shapes_keep_their_odd_values():
    assert redact_event({"event": "user", "text": None}) == {"event": "user", "text": None}
    assert redact_event({"event": "slot", "value": 3}) == {"event": "slot", "value": 3}


def test_event_text_is_not_stored_unredacted_when_redaction_fails(monkeypatch):
    def broken(text):
        raise RuntimeError("boom")

    monkeypatch.setattr(redact_module, "redact", broken)
    redacted = redact_event(_user_event())
    assert redacted["text"] == "[bericht niet leesbaar]"
    assert "06-12345678" not in repr(redacted)


# --- Logging ----------------------------------------------------------------------------------


@pytest.fixture
def logger_with_stream():
    """A logger of its own with a handler writing to a StringIO, removed afterwards."""
    logger = logging.getLogger("tests.privacy.redact")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_filter_redacts_a_record_with_args(logger_with_stream):
    logger, handler, stream = logger_with_stream
    handler.addFilter(RedactingFilter())
    logger.warning("Bericht van %s: %s", "06-12345678", "ik heet Jan de Vries")
    assert stream.getvalue() == "WARNING Bericht van [telefoonnummer]: ik heet [naam]\n"


def test_filter_on_the_root_handlers_with_caplog(caplog):
    root = logging.getLogger()
    before = {handler: list(handler.filters) for handler in root.handlers}
    added = install()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("actions.chat").warning("Bericht van %s: %s", "06-12345678", "ik heet Jan de Vries")
    finally:
        for handler, filters in before.items():
            handler.filters[:] = filters
    assert added >= 1
    assert "06-12345678" not in caplog.text and "Vries" not in caplog.text
    assert caplog.records[-1].getMessage() == "Bericht van [telefoonnummer]: ik heet [naam]"


def test_filter_keeps_the_line_when_redaction_fails(logger_with_stream, monkeypatch):
    logger, handler, stream = logger_with_stream
    handler.addFilter(RedactingFilter())

    def broken(text):
        raise RuntimeError("boom")

    monkeypatch.setattr("actions.privacy.logs.redact", broken)
    logger.info("Bericht van %s", "06-12345678")
    assert stream.getvalue() == "INFO [bericht niet leesbaar]\n"


def test_filter_keeps_the_line_when_the_args_do_not_fit(logger_with_stream):
    logger, handler, stream = logger_with_stream
    handler.addFilter(RedactingFilter())
    logger.info("Bericht van %s en %s", "06-12345678")
    assert stream.getvalue() == "INFO [bericht niet leesbaar]\n"


def test_install_is_idempotent(logger_with_stream):
    logger, handler, stream = logger_with_stream
    assert install(logger) == 1
    assert install(logger) == 0
    assert sum(isinstance(existing, RedactingFilter) for existing in handler.filters) == 1
    logger.info("mijn bsn is %s", "123456782")
    assert stream.getvalue() == "INFO mijn bsn is [BSN]\n"


def test_filter_from_a_dict_config(tmp_path):
    log_file = tmp_path / "chat.log"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "actions.privacy.logs.RedactingFilter"}},
            "formatters": {"plain": {"format": "%(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": str(log_file),
                    "formatter": "plain",
                    "filters": ["redact"],
                }
            },
            "loggers": {"tests.privacy.dictconfig": {"handlers": ["file"], "level": "INFO", "propagate": False}},
        }
    )
    logger = logging.getLogger("tests.privacy.dictconfig")
    try:
        logger.info("patiënt %s woont op %s", "Sanne Jansen", "Kerkstraat 12")
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    assert log_file.read_text(encoding="utf-8") == "patiënt [naam] woont op [adres]\n"
