"""Safety replies without Rasa types: escalation per tier, crisis help, yellow flags, the safety check."""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

from actions.compose import Reply, contact_list
from actions.knowledge import Knowledge
from actions.practice import PracticeConfig
from actions.redflags import NEGATED, RED_TIERS, Assessment, Finding, RedFlagRules, describe
from actions.text import fold

# The yes/no questions of the safety check, in the order asked, and the flag a "yes" reports.
CHECK_FLAGS: Dict[str, str] = {
    "check_bladder": "urine_retention",
    "check_saddle": "saddle_numbness",
    "check_leg_weakness": "rapid_leg_weakness",
    "check_fever": "fever_ill",
    "check_fall": "fall_accident",
}
CHECK_SLOTS: List[str] = [*CHECK_FLAGS, "check_duration"]
# The flags whose denial answers a question: "ik ben niet gevallen" answers the question about a fall.
_DENIED_BY: Dict[str, frozenset] = {
    **{slot: frozenset({flag}) for slot, flag in CHECK_FLAGS.items()},
    "check_leg_weakness": frozenset({"rapid_leg_weakness", "leg_weakness"}),
    "check_fall": frozenset({"fall_accident", "minor_fall"}),
}
YES, NO, UNKNOWN, SKIPPED = "yes", "no", "unknown", "skipped"

_UNKNOWN_WORDS = ("weet", "idee", "misschien", "twijfel", "onzeker", "wk", "geenidee", "mogelijk", "denk")
_NO_WORDS = ("nee", "neen", "nope", "nah", "niet", "geen", "nooit", "nee hoor", "neuh")
_YES_WORDS = ("ja", "jawel", "jazeker", "jep", "jup", "yes", "klopt", "zeker", "wel", "inderdaad", "jaa", "yep")
_PAYLOADS = {"/affirm": YES, "/deny": NO, "/dont_know": UNKNOWN}


def classify_answer(text: str) -> Optional[str]:
    """Reads a yes/no answer: 'yes', 'no', 'unknown', or None when it is neither."""
    stripped = (text or "").strip()
    if stripped in _PAYLOADS:
        return _PAYLOADS[stripped]
    words = re.findall(r"[a-z]+", fold(stripped))
    if not words:
        return None
    if any(word in _UNKNOWN_WORDS for word in words):
        return UNKNOWN
    if words[0] in _NO_WORDS:
        return NO
    if words[0] in _YES_WORDS or (len(words) <= 3 and any(word in _YES_WORDS for word in words)):
        return YES
    if len(words) <= 3 and any(word in _NO_WORDS for word in words):
        return NO
    return None


def answered_before(findings_per_message: Sequence[Sequence[Finding]]) -> Dict[str, str]:
    """Check questions the patient already answered with "no" in earlier messages ("geen koorts").

    Only denials about the patient themselves count; a reported sign was escalated already.
    """
    denied = {
        finding.flag
        for findings in findings_per_message
        for finding in findings
        if finding.status == NEGATED and not finding.person
    }
    return {slot: NO for slot, flags in _DENIED_BY.items() if denied & flags}


def highest_tier(tiers: Sequence[Optional[str]]) -> Optional[str]:
    """Returns the most urgent red tier among `tiers`."""
    ranked = [tier for tier in tiers if tier in RED_TIERS]
    return max(ranked, key=RED_TIERS.index, default=None)


def escalation_reply(
    knowledge: Knowledge,
    practice: PracticeConfig,
    rules: RedFlagRules,
    assessment: Assessment,
    findings: Optional[Sequence[Finding]] = None,
) -> Reply:
    """What the assistant says for reported red flags and/or suicidal thoughts."""
    texts: List[str] = []
    if assessment.crisis:
        texts.append(
            knowledge.message(
                "crisis",
                crisis_line=practice.urgent.crisis_line,
                emergency_number=practice.urgent.emergency_number,
            )
        )
    tier = assessment.tier
    if tier:
        reported = list(findings if findings is not None else assessment.described())
        tier_info = rules.tiers[tier]
        what = describe(rules, reported, knowledge.message("and"))
        lines = [knowledge.message("escalation_recognised", what=what)] if what else []
        lines += [tier_info.why, tier_info.action]
        texts.append("\n".join(lines))
        texts.append(knowledge.message("escalation_practice", contact_list=contact_list(knowledge, practice)))
    return Reply(topic="red_flag" if tier else "crisis", texts=texts)


def check_assessment(
    rules: RedFlagRules, answers: Dict[str, Optional[str]], message_assessments: Sequence[Assessment]
) -> Assessment:
    """Everything the safety check found; its tier is the most urgent of all.

    A "yes" reports the question's flag; red flags and suicidal thoughts written in the
    answers count too.
    """
    findings: List[Finding] = [
        Finding(flag=flag, tier=rules.flag(flag).tier, status="report", person="", clause="")
        for slot, flag in CHECK_FLAGS.items()
        if answers.get(slot) == YES
    ]
    for assessment in message_assessments:
        findings += [
            f for f in assessment.reported(RED_TIERS + ("crisis",)) if f.flag not in {x.flag for x in findings}
        ]
    tier = highest_tier([f.tier for f in findings] + [a.tier for a in message_assessments])
    return Assessment(findings=findings, tier=tier)


def check_advice_reply(
    knowledge: Knowledge, practice: PracticeConfig, rules: RedFlagRules, answers: Dict[str, Optional[str]]
) -> Reply:
    """The advice after a safety check without red flags.

    "Weet ik niet" gets an invitation to phone the GP when in doubt, otherwise reassurance;
    then self-care and the appointment offer.
    """
    unknown = [
        Finding(flag=flag, tier=rules.flag(flag).tier, status="report", person="", clause="")
        for slot, flag in CHECK_FLAGS.items()
        if answers.get(slot) == UNKNOWN
    ]
    if unknown:
        first = knowledge.message("check_unknown", what=describe(rules, unknown, knowledge.message("and")))
    else:
        first = knowledge.message("check_reassure")
    return Reply(
        topic="safety_check",
        texts=[
            first,
            knowledge.message("check_self_care"),
            knowledge.message("check_appointment", contact_list=contact_list(knowledge, practice)),
        ],
    )


def yes_no_buttons(knowledge: Knowledge) -> List[Dict[str, str]]:
    """Ja / Nee / Weet ik niet buttons."""
    return [
        {"title": knowledge.message("button_yes"), "payload": "/affirm"},
        {"title": knowledge.message("button_no"), "payload": "/deny"},
        {"title": knowledge.message("button_dont_know"), "payload": "/dont_know"},
    ]
