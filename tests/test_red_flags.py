"""The red-flag detector: every case of tests/red_flag_cases.yml, pattern syntax, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.datafile import DataFileError
from actions.redflags import compile_pattern, load_red_flags

from .test_knowledge import replace_in

CASES = yaml.safe_load((Path(__file__).parent / "red_flag_cases.yml").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def detector():
    from actions.config import get_detector

    return get_detector()


def found_tier(detector, text):
    assessment = detector.assess(text)
    return "crisis" if assessment.crisis and not assessment.tier else (assessment.tier or "none")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}:{c['text'][:50]}" for c in CASES])
def test_each_message_gets_its_tier(detector, case):
    assert found_tier(detector, case["text"]) == case["tier"], detector.assess(case["text"]).findings


def test_the_table_is_large_and_varied():
    assert len(CASES) >= 150
    kinds = {case["kind"] for case in CASES}
    assert {"report", "negation", "hypothetical", "past", "other_person", "mixed"} <= kinds


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("ik kan niet plassen", "report"),
        ("ik heb geen koorts", "negated"),
        ("koorts heb ik niet", "negated"),
        ("wat als ik niet kan plassen?", "hypothetical"),
        ("is koorts erg bij rugpijn?", "hypothetical"),
        ("vorig jaar koorts gehad, nu niet meer", "resolved"),
    ],
)
def test_status_of_a_mention(detector, text, status):
    statuses = {f.status for f in detector.assess(text).findings if f.tier not in ("context", "yellow")}
    assert statuses == {status}


def test_negation_only_in_its_own_clause(detector):
    assert detector.assess("geen koorts, maar ik kan niet plassen").tier == "emergency"
    assert detector.assess("geen koorts en ik kan niet plassen").tier == "emergency"


def test_report_about_another_person_names_that_person(detector):
    findings = detector.assess("mijn vader kan niet plassen").reported()
    assert findings and findings[0].person == "uw vader"


def test_a_second_report_of_the_same_flag_raises_the_tier(detector):
    first = detector.assess("ik ben 10 kilo afgevallen zonder te lijnen")
    assert first.tier == "gp_soon"
    again = detector.assess("ik ben 10 kilo afgevallen zonder te lijnen", previous_flags=["weight_loss"])
    assert again.tier == "same_day"


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("kan ~ niet ~ plas*", "ik kan al uren niet meer plassen", True),
        ("kan ~ niet ~ plas*", "ik kan niet zo lang zitten want dan moet ik plassen", False),
        ("#38-43 graden", "ik heb 38,5 graden", True),
        ("#38-43 graden", "ik heb 37,2 graden", False),
        ("kan|kun|lukt* ~1 niet", "lukt het niet", True),
        ("voet ~2 klapt", "mijn voet klapt dubbel", True),
    ],
)
def test_pattern_syntax(pattern, text, matches):
    import re

    tokens = re.findall(r"\d+(?:[.,]\d+)?|[a-z]+", text)
    assert (compile_pattern(pattern).match(tokens) is not None) is matches


@pytest.mark.parametrize("pattern", ["~ plassen", "plassen ~", "#50-20 jaar", "plas?sen", ""])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(ValueError):
        compile_pattern(pattern)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    tier: emergency\n", "    tier: urgent\n", "'tier' must be one of"),
        ('      - "kan|kun|lukt* ~ niet ~ plas*"', '      - "kan ~ niet ~"', "cannot end with ~"),
        ('    other: "{person} niet of moeilijk kan plassen"', '    other: "iemand kan niet plassen"', "{person}"),
    ],
)
def test_a_wrong_red_flag_entry_is_named(knowledge_copy, old, new, message):
    path = knowledge_copy / "red_flags.yml"
    replace_in(path, old, new)
    with pytest.raises(DataFileError) as raised:
        load_red_flags(path)
    assert message in str(raised.value)
    assert "red_flags.yml" in str(raised.value) and raised.value.line


@pytest.mark.parametrize(
    ("text", "nlu_intent", "expected"),
    [
        ("ik kan niet plassen", "ask_sports", "report_red_flag"),
        ("ik kan niet plassen", "greet", "report_red_flag"),
        ("ik wil niet meer leven", "out_of_scope", "report_red_flag"),
        ("wat als ik koorts krijg?", "nlu_fallback", "ask_when_to_see_gp"),
        ("wat als ik koorts krijg, mag ik dan sporten?", "ask_sports", None),
        ("mijn rug doet raar", "report_red_flag", "describe_back_pain"),
        ("mag ik sporten?", "ask_sports", None),
    ],
)
def test_routing_overrides_nlu_where_safety_requires(detector, text, nlu_intent, expected):
    from components.red_flags import routed_intent

    assert routed_intent(detector.assess(text), nlu_intent) == expected


def test_a_sign_only_the_learned_detector_suspects_is_routed_to_the_safety_check(detector):
    from components.red_flags import routed_intent

    from .test_red_flag_detectors import FixedLearned, combined

    suspicious = combined(detector, {"fever_ill": 0.6}).assess("ik voel me niet zo lekker vandaag")
    assert suspicious.needs_check and not suspicious.tier
    assert routed_intent(suspicious, "greet") == "describe_back_pain"
    assert routed_intent(suspicious, "ask_sports") is None  # answered, then the check is offered
    assert FixedLearned
