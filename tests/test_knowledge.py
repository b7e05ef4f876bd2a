"""Loading and validating the answer, source and message files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.datafile import DataFileError
from actions.knowledge import CONVERSATION_TOPICS, SPEC_TOPICS, load_knowledge

from .conftest import KNOWLEDGE_DIR, ROOT


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(KNOWLEDGE_DIR)


def test_shipped_files_load_with_every_topic(knowledge):
    assert set(knowledge.answers) == set(SPEC_TOPICS) | set(CONVERSATION_TOPICS)


def test_every_domain_intent_is_answered():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    answered = {intent for a in load_knowledge(KNOWLEDGE_DIR).answers.values() for intent in a.intents}
    other_actions = {
        "ask_source", "ask_followup_duration", "describe_back_pain", "report_red_flag", "read_more",
        "ask_practice_admin",
    }  # fmt: skip
    assert set(domain["intents"]) == (answered - {"nlu_fallback"}) | other_actions


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test set-up: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("answers.yml", "    kind: medical", "    kind: medisch", "'kind' must be one of"),
        ("answers.yml", "    kind: medical", "    kind: medical\n    kind: practice", "'kind' appears twice"),
        ("answers.yml", "{practice_name}", "{praktijk}", "unknown placeholder(s) ['praktijk']"),
        ("answers.yml", '"003", "004"]', '"003", "099"]', "unknown source id(s) ['099']"),
        ("answers.yml", "intent: ask_imaging", "intent: ask_hernia", "intent 'ask_hernia' is used by"),
        ("answers.yml", "topic: imaging", "topic: imagingg", "unknown topic id"),
        ("messages.yml", "{phone}", "{telefoon}", "unknown placeholder(s) ['telefoon']"),
        ("sources.yml", 'id: "001"', 'id: "000"', "source id '000' appears twice"),
    ],
)
def test_a_wrong_entry_is_named_with_file_and_line(knowledge_copy, file, old, new, message):
    replace_in(knowledge_copy / file, old, new)
    with pytest.raises(DataFileError) as raised:
        load_knowledge(knowledge_copy)
    assert message in str(raised.value)
    assert raised.value.path.endswith(file)
    assert raised.value.line is not None


def test_the_line_points_at_the_wrong_answer(knowledge_copy):
    path = knowledge_copy / "answers.yml"
    replace_in(path, "intent: ask_hernia", 'intent: ""')
    with pytest.raises(DataFileError) as raised:
        load_knowledge(knowledge_copy)
    assert "answer 'hernia': 'intent' is empty" in str(raised.value)
    assert raised.value.line == line_of(path, "topic: hernia")


def test_a_missing_topic_is_reported(knowledge_copy):
    path = knowledge_copy / "answers.yml"
    data = path.read_text(encoding="utf-8")
    start = data.index("  - topic: pregnancy")
    end = data.index("  - topic:", start + 1)
    path.write_text(data[:start] + data[end:], encoding="utf-8")
    with pytest.raises(DataFileError, match=r"no answer for topic\(s\) \['pregnancy'\]"):
        load_knowledge(knowledge_copy)


def test_invalid_yaml_names_the_line(knowledge_copy):
    path = knowledge_copy / "sources.yml"
    path.write_text("version: 1\nsources:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="invalid YAML") as raised:
        load_knowledge(knowledge_copy)
    assert raised.value.line is not None


def test_a_missing_file_is_named(knowledge_copy):
    (knowledge_copy / "messages.yml").unlink()
    with pytest.raises(DataFileError, match="messages.yml: file not found"):
        load_knowledge(knowledge_copy)


def test_a_missing_message_is_named(knowledge_copy):
    path = knowledge_copy / "messages.yml"
    data = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"\n  input_empty:.*", "", data), encoding="utf-8")
    with pytest.raises(DataFileError, match="'input_empty' is missing"):
        load_knowledge(knowledge_copy)


# The facts of ../shared/spec/topics.md that a correct answer must hold, as patterns over the
# answer text (case-insensitive). Each pattern is one fact; alternatives cover other wording.
SPEC_FACTS = {
    "what_is_lbp": [r"ribben", r"bil", r"lumbago", r"spit", r"uitstral"],
    "nonspecific_vs_specific": [r"9 van de 10|90", r"aspecifiek", r"5 procent|5%", r"hernia", r"osteoporose"],
    "prevalence": [r"60", r"90", r"20 en 55"],
    "causes_risk_factors": [r"tillen", r"zitten", r"overgewicht|te zwaar", r"stress", r"zwanger", r"houding"],
    "symptoms": [r"stijf", r"uitstra", r"bukken|tillen"],
    "acute_vs_chronic": [r"3 maanden", r"acu?u?t"],
    "prognosis": [r"80 tot 90|80-90", r"4 tot 6 weken|4-6 weken", r"terug"],
    "chronic_risk": [r"ernstig", r"angst|bang", r"somber|depressi", r"til"],
    "movement_harmful": [r"niet schadelijk|geen kwaad|niet gevaarlijk", r"stij(f|ver)", r"zwak", r"wandel"],
    "bed_rest": [r"2 dagen|twee dagen"],
    "imaging": [r"niet nodig|niet zinvol|geen zin", r"slijtage", r"hernia"],
    "pain_medication": [r"paracetamol", r"nsaid|ibuprofen", r"huisarts|apothek"],
    "physio_treatment": [r"oefen", r"advies|uitleg", r"mobilis|manipul|losmaken", r"massage|rek"],
    "physio_process": [r"gesprek|intake", r"onderzoek", r"huisarts", r"plan"],
    "treatment_goals": [r"smart", r"werk", r"sport|dagelijks"],
    "exercises": [r"knie", r"bekken", r"bruggetje|bridge", r"plank", r"kat|cat"],
    "aids": [r"warmte|kruik", r"stoel", r"bureau", r"brace"],
    "prevention": [r"bewe+g", r"buik|core", r"til", r"zit"],
    "when_to_see_gp": [r"6 weken", r"kracht|tinteling", r"plassen|urine", r"koorts", r"gewicht|afval"],
    "work": [r"1 op de 10|1 van de 10|een op de tien|10 procent", r"75", r"4 weken", r"zwaar"],
    "sports": [r"hockey|sport", r"aangepast"],
    "spine_anatomy": [r"\b7\b", r"\b12\b", r"\b5\b", r"heiligbeen|sacrum", r"tussenwervelschijf|schijven"],
    "hernia": [r"zeldzaam|weinig|zelden", r"foto|scan|mri", r"operatie|geopereerd"],
    "wear_arthrosis": [r"slijtage|artrose", r"zonder (dat|klachten)|geen last"],
    "sitting_posture": [r"zit", r"houding", r"beweeg|afwissel|wissel"],
    "lifting": [r"rechte rug", r"knie"],
    "stress_psychology": [r"stress", r"angst|bang", r"gedragstherapie|pijneducatie|uitleg over pijn"],
    "pregnancy": [r"zwanger", r"actief|beweg", r"verloskundige"],
}


@pytest.mark.parametrize("topic", sorted(SPEC_FACTS))
def test_each_medical_answer_holds_the_spec_facts(knowledge, topic):
    text = knowledge.answers[topic].text.lower()
    missing = [fact for fact in SPEC_FACTS[topic] if not re.search(fact, text)]
    assert not missing, f"{topic}: facts missing from the answer: {missing}"


def test_every_medical_topic_is_checked_for_facts(knowledge):
    medical = {topic for topic, answer in knowledge.answers.items() if answer.kind == "medical"}
    assert medical == set(SPEC_FACTS)


def test_answers_are_written_for_patients(knowledge):
    for answer in knowledge.answers.values():
        text = answer.text.lower()
        assert not re.search(r"\bje\b|\bjij\b|\bjouw\b", text), f"{answer.topic} is not in the u-form"
