"""The decision on the trained model: medicine safety by table, follow-up conversations, scope.

These run the real NLU (DIET, ResponseSelector, red-flag component) on messages written apart
from the training data, then `decide` and `compose` as the chat does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml

from actions.answers import decide as d
from actions.answers.decide import State, decide
from actions.answers.reply import compose, next_state
from actions.config import get_services

ROOT = Path(__file__).resolve().parent.parent
NSAIDS = re.compile(r"\b(ibuprofen|diclofenac|naproxen|nsaid|nsaid's|advil|voltaren)\b", re.IGNORECASE)
CAUTION = re.compile(r"\b(geen|niet|nooit|tenzij|overleg|vraag|eerst|alleen als)\b", re.IGNORECASE)
ASK_PROFESSIONAL = re.compile(r"\b(huisarts|apotheker|apotheek|verloskundige|arts)\b", re.IGNORECASE)


def answer(nlu, text: str, state: Optional[State] = None):
    services = get_services()
    state = state or State()
    decision = decide(text, nlu(text), state, services)
    return decision, compose(decision, services, text, state)


def sentences(text: str) -> List[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


# (situation, message, extra check) - every reply is also checked for the rules in test_medicine_answers_are_safe.
MEDICINE_TABLE = [
    ("pregnancy", "ik ben 5 maanden zwanger en heb zo'n last van mijn onderrug, mag ik paracetamol?", "pregnant"),
    ("pregnancy", "mag ik als zwangere ibuprofen nemen tegen de rugpijn", "pregnant"),
    ("pregnancy", "zwanger van de tweede, rug doet zeer. helpt diclofenac?", "pregnant"),
    ("breastfeeding", "ik geef borstvoeding, welke pijnstiller kan ik nemen voor mijn rug", "pregnant"),
    ("someone else", "ik heb diclofenac van mijn buurvrouw gekregen, mag ik die nemen?", "not_someone_elses"),
    ("someone else", "mijn man heeft nog tramadol liggen, kan ik die gebruiken voor mijn rug", "not_someone_elses"),
    ("maximum dose", "hoeveel paracetamol mag ik maximaal per dag nemen", "leaflet"),
    ("maximum dose", "mag ik 3 ibuprofen tegelijk nemen als het heel erg is", "leaflet"),
    ("combining", "kan ik paracetamol en ibuprofen tegelijk nemen?", None),
    ("combining", "mag ik naproxen combineren met diclofenac", None),
    ("long-term", "ik slik al 3 maanden elke dag ibuprofen voor mijn rug, is dat erg?", None),
    ("long-term", "hoelang mag je eigenlijk paracetamol blijven slikken", None),
    ("stomach", "ik heb een maagzweer gehad, mag ik ibuprofen voor mijn rug?", None),
    ("stomach", "van ibuprofen krijg ik maagpijn, wat nu", None),
    ("kidney", "ik heb nierproblemen, welke pijnstiller mag ik tegen rugpijn", None),
    ("blood thinners", "ik gebruik bloedverdunners, mag ik dan naproxen?", None),
    ("children", "mijn dochter van 12 heeft rugpijn, mag ze ibuprofen", None),
    ("children", "welke pijnstiller kan ik mijn zoon van 15 geven voor zijn rug", None),
    ("general", "welke pijnstillers helpen bij rugpijn", None),
    ("general", "amai mijne rug, mag ik iets pakken tegen de pijn?", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("situation", "text", "check"), MEDICINE_TABLE, ids=[f"{r[0]}: {r[1][:40]}" for r in MEDICINE_TABLE]
)
def test_medicine_answers_are_safe(nlu, situation: str, text: str, check: str) -> None:
    decision, reply = answer(nlu, text)
    body = "\n".join(reply.texts)
    assert decision.kind in (d.FAQ, d.TOPIC, d.PASSAGE, d.CLARIFY, d.RED_FLAG), (decision.kind, decision.reason)
    if decision.kind == d.RED_FLAG:
        return  # e.g. months of daily painkillers: escalated, which is safe
    first_word = reply.texts[0].split()[0].strip(",.!").lower()
    assert first_word != "ja", "never a bare yes to a question that needs a 'but'"
    if decision.kind == d.CLARIFY:
        return  # the options are the entries below, each checked on its own in test_every_medicine_entry_is_safe
    assert ASK_PROFESSIONAL.search(body), "medicine answers send to the GP or pharmacist"
    if check == "pregnant":
        for sentence in sentences(body):
            if NSAIDS.search(sentence):
                assert CAUTION.search(
                    sentence
                ), f"an NSAID named without a warning for a pregnant patient: {sentence!r}"
    if check == "not_someone_elses":
        assert re.search(r"\b(nooit|niet)\b", body, re.IGNORECASE) and re.search(
            r"iemand anders|voorgeschreven|recept", body, re.IGNORECASE
        ), "someone else's prescription: never"
    if check == "leaflet":
        assert re.search(r"bijsluiter", body, re.IGNORECASE), "a dose: follow the package leaflet"


def test_every_medicine_entry_is_safe() -> None:
    """Whatever a button or the selector picks, no medicine entry opens with a bare yes or drops the NSAID warning."""
    knowledge = get_services().knowledge
    entries = [e for e in knowledge.faq.values() if NSAIDS.search(e.answer) or "paracetamol" in e.answer.lower()]
    assert len(entries) >= 10
    for entry in entries:
        assert not re.match(r"\s*ja\b", entry.answer, re.IGNORECASE), entry.id
        assert ASK_PROFESSIONAL.search(entry.answer), entry.id
        if "zwanger" in entry.question.lower() or "borstvoeding" in entry.question.lower():
            for sentence in sentences(entry.answer):
                if NSAIDS.search(sentence):
                    assert CAUTION.search(sentence), (entry.id, sentence)


def _conversations() -> List[Dict[str, Any]]:
    data = yaml.safe_load((ROOT / "tests" / "answers" / "followups.yml").read_text(encoding="utf-8"))
    return data["conversations"]


def test_there_are_at_least_40_follow_up_conversations() -> None:
    conversations = _conversations()
    assert len(conversations) >= 40
    assert all(len(c["turns"]) >= 2 for c in conversations)


# The target is 90% of the conversations right at every turn; measured 63% (2026-11-30), so this
# is a floor against regressions, not the target (see the README's figures).
FOLLOW_UP_FLOOR = 0.60


def test_follow_up_conversations_resolve_against_the_previous_answer(nlu) -> None:
    """The share of conversations that get an acceptable answer at every turn stays above the floor."""
    services = get_services()
    failed = []
    conversations = _conversations()
    for conversation in conversations:
        state = State()
        for turn in conversation["turns"]:
            decision = decide(turn["user"], nlu(turn["user"]), state, services)
            reply = compose(decision, services, turn["user"], state)
            if decision.answer_id not in turn["acceptable"]:
                failed.append(f"{conversation['name']}: {turn['user']!r} -> {decision.answer_id}")
                break
            state = next_state(state, turn["user"], decision, reply)
    share = 1 - len(failed) / len(conversations)
    assert share >= FOLLOW_UP_FLOOR, f"{share:.0%} right; failed:\n" + "\n".join(failed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mijn knie doet pijn na het hardlopen, wat moet ik doen", "out_of_scope/other_complaint"),
        ("ik heb al weken nekpijn, helpt fysio daarbij?", "out_of_scope/other_complaint"),
        ("kan ik bij jullie een herhaalrecept voor mijn bloeddrukpillen aanvragen", "out_of_scope/medication"),
        ("wat wordt het weer morgen", "out_of_scope/other"),
        ("wordt fysiotherapie vergoed door mijn zorgverzekering?", "admin/insurance"),
        ("ik moet mijn afspraak van donderdag afzeggen", "admin/cancel"),
        ("daaag", "goodbye"),
        ("verbind me door met een fysio", "human_handoff"),
        ("praat ik nu met een mens?", "bot_challenge"),
    ],
)
def test_scope_and_small_talk_get_their_own_reply(nlu, text: str, expected: str) -> None:
    decision, reply = answer(nlu, text)
    assert decision.answer_id == expected, decision.reason
    assert reply.texts[0].count("bellen op") <= 1, "never a wall of phone numbers"


def test_a_story_with_a_question_at_the_end_gets_the_answer(nlu) -> None:
    text = (
        "Ik ben 52 en werk in de thuiszorg. Sinds vorige week heb ik last van mijn onderrug na het tillen "
        "van een cliënt. Ik loop wel gewoon rond. Moet ik nu een foto laten maken?"
    )
    decision, _ = answer(nlu, text)
    assert decision.topic == "imaging" and decision.kind in (d.FAQ, d.TOPIC), decision.reason
