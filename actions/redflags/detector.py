"""Both red-flag detectors together, with the conversation's memory: the one assessment every action uses.

1. The message is normalised (Flemish and chat spelling, numbers, units, values).
2. The pattern detector (red_flags.yml, clinician-editable) finds flags clause by clause and
   knows negation, hypotheticals, resolved past, other people and family history.
3. Flags reported in earlier turns complete combinations with this message ("ik ben 58" ...
   "nooit eerder rugpijn gehad").
4. The learned detector scores the same text. Recall never drops below either detector alone:
   a flag it is sure of that the patterns did not see is escalated; a flag it suspects, or one
   the patterns read as negated or hypothetical, asks for at least the safety check. Every
   disagreement is described in `Assessment.disagreement` and logged (without message text).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

from actions.redflags.learned import LearnedDetector
from actions.redflags.patterns import (
    _TOKEN,
    FAMILY,
    NEGATED,
    NO_COMPLAINT,
    RED_TIERS,
    REPORT,
    Assessment,
    Finding,
    Flag,
    PatternDetector,
    RedFlagRules,
    _person,
)

logger = logging.getLogger(__name__)

# Earlier turns read for memory, most recent first.
MEMORY_TURNS = 12
_MEMORY_CACHE = 4096
# In the memory of someone else's flags: an earlier turn gave that person a complaint.
OTHER_COMPLAINT = "_complaint_of_someone_else"
# Flags of earlier turns: about the patient, and about someone else.
Remembered = Tuple[FrozenSet[str], FrozenSet[str]]


class RedFlagDetector:
    """Reads a message with both detectors and the conversation's earlier turns."""

    def __init__(
        self,
        rules: RedFlagRules,
        normalise: Callable[[str], str],
        learned: Optional[LearnedDetector] = None,
    ) -> None:
        """Keeps the rules, the normaliser and (optionally) the learned detector."""
        self.rules = rules
        self.normalise = normalise
        self.patterns = PatternDetector(rules)
        self.learned = learned
        self._remembered: OrderedDict[str, Remembered] = OrderedDict()

    def assess(self, text: str, previous_flags: Sequence[str] = (), earlier: Sequence[str] = ()) -> Assessment:
        """Reads one message.

        Args:
            text: the patient's message.
            previous_flags: red flags escalated earlier in the conversation (a second report raises).
            earlier: the patient's earlier messages in this conversation, oldest first.
        """
        normalised = self.normalise(text or "")
        assessment = Assessment(findings=self.patterns.findings(normalised))
        remembered = self.remembered(earlier)
        self._grade(assessment, previous_flags, remembered)
        if self.learned is not None and normalised.strip():
            self._combine(assessment, normalised, previous_flags, remembered)
        return assessment

    def remembered(self, earlier: Sequence[str]) -> Tuple[FrozenSet[str], FrozenSet[str]]:
        """Red and context flags reported in earlier turns: about the patient, and about someone else.

        About someone else this includes an event without a complaint yet ("mijn moeder is
        gevallen"), which a later turn can complete ("ze heeft nu pijn in haar rug" ... "ze is 76").
        """
        own: set = set()
        other: set = set()
        for text in list(earlier)[-MEMORY_TURNS:]:
            mine, theirs = self._flags_of(text)
            own |= mine
            other |= theirs
        return frozenset(own), frozenset(other)

    def _flags_of(self, text: str) -> Tuple[FrozenSet[str], FrozenSet[str]]:
        cached = self._remembered.get(text)
        if cached is None:
            normalised = self.normalise(text or "")
            kept = [f for f in self.patterns.findings(normalised) if f.tier in RED_TIERS + ("context",)]
            others = {f.flag for f in kept if f.person and f.status in (REPORT, FAMILY)}
            if self.patterns.gives_someone_a_complaint(normalised):
                others.add(OTHER_COMPLAINT)
            # An event told without a complaint yet ("ik heb kanker gehad") still completes a
            # combination with a later turn ("en nu minder kracht in mijn been").
            own = {f.flag for f in kept if f.status in (REPORT, NO_COMPLAINT) and not f.person}
            cached = (frozenset(own), frozenset(others))
            self._remembered[text] = cached
            if len(self._remembered) > _MEMORY_CACHE:
                self._remembered.popitem(last=False)
        else:
            self._remembered.move_to_end(text)
        return cached

    def _grade(self, assessment: Assessment, previous_flags: Sequence[str], remembered: Remembered) -> None:
        own, other = remembered
        if OTHER_COMPLAINT in other:
            # "mn vriend heeft rugpijn" ... "hij heeft 38,9": the complaint came in an earlier turn.
            assessment.findings = [
                dataclasses.replace(f, status=REPORT) if f.status == FAMILY else f for f in assessment.findings
            ]
        about_other = any(f.person for f in assessment.findings if f.status == REPORT)
        memory = own | other if about_other else own
        reported = [f.flag for f in assessment.reported(RED_TIERS + ("context",))]
        tier, reasons = self.patterns.grade(reported, previous_flags, memory)
        assessment.tier = tier
        assessment.reasons = reasons
        present = {f.flag for f in assessment.findings if f.status == REPORT}
        for flag_id in sorted(reasons - present):
            flag = self.rules.flag(flag_id)
            source = "memory" if flag_id in memory else "combination"
            assessment.findings.append(Finding(flag_id, flag.tier, REPORT, "", "", source=source))

    def _combine(
        self, assessment: Assessment, normalised: str, previous_flags: Sequence[str], remembered: Remembered
    ) -> None:
        scores = self.learned.scores(normalised)
        limits = self.rules.learned
        assessment.learned = {flag: round(p, 3) for flag, p in scores.items() if p >= limits.check_from}
        statuses: Dict[str, str] = {}
        for finding in assessment.findings:
            if finding.flag not in statuses or finding.status == REPORT:
                statuses[finding.flag] = finding.status
        added: List[Finding] = []
        notes: List[str] = []
        person = _person(_TOKEN.findall(normalised))
        readings: List = []
        reported_by_patterns = {f.flag for f in assessment.findings if f.status == REPORT}
        for flag_id, probability in sorted(scores.items(), key=lambda item: -item[1]):
            status = statuses.get(flag_id)
            if status == REPORT or probability < limits.check_from:
                continue
            flag = self.rules.flag(flag_id)
            escalate = probability >= limits.escalate_from and status is None and flag.learned_escalates
            if escalate:
                readings = readings or self._readings(normalised)
                status = self._reason_to_check(flag, probability, normalised, readings, reported_by_patterns)
                escalate = status is None
            if escalate:
                added.append(Finding(flag_id, flag.tier, REPORT, person, "", source="learned"))
                notes.append(f"learned only: {flag_id} {probability:.2f}")
            else:
                assessment.needs_check = True
                notes.append(f"learned suspects: {flag_id} {probability:.2f} (patterns: {status or 'not found'})")
        for finding in assessment.reported():
            if finding.source == "patterns" and scores.get(finding.flag, 1.0) < limits.doubt_below:
                notes.append(f"patterns only: {finding.flag} {scores.get(finding.flag, 0.0):.2f}")
        if added:
            assessment.findings.extend(added)
            assessment.findings.sort(key=lambda f: f.source != "patterns")
            self._grade(assessment, previous_flags, remembered)
        if assessment.tier:
            assessment.needs_check = False  # escalated: nothing left to check
        if notes:
            assessment.disagreement = "; ".join(notes)
            logger.info("Red-flag detectors disagree: %s", assessment.disagreement)

    def _reason_to_check(
        self, flag: Flag, probability: float, normalised: str, readings: List, reported_by_patterns: set
    ) -> Optional[str]:
        """Why a flag only the learned detector found gets the safety check instead of an escalation, or None.

        Its clause is negated (unless the learned detector is sure: "ik kan bijna niet plassen"),
        hypothetical, a general question or resolved; the clinician excluded its context (a diet,
        an idiom); or the patterns found the flag it yields to (one leg rather than both).
        """
        status = self._reading_of(flag.id, readings)
        if status == NEGATED and probability >= self.rules.learned.sure_from:
            status = None
        if status is None and self.patterns.excluded(normalised, flag.id):
            status = "excluded"
        if status is None and set(flag.yields_to) & reported_by_patterns:
            status = "yields"
        return status

    def _readings(self, normalised: str) -> List[Tuple[str, str, Dict[str, float]]]:
        readings = self.patterns.clause_readings(normalised)
        scores = self.learned.unit_scores([text for text, _ in readings])
        return [(text, status, score) for (text, status), score in zip(readings, scores, strict=False)]

    @staticmethod
    def _reading_of(flag_id: str, readings: List[Tuple[str, str, Dict[str, float]]]) -> Optional[str]:
        """How the clause that the learned detector finds most like the flag is meant (None: a plain report).

        A negation, a hypothetical, a general question or a resolved past there makes a
        learned-only finding a question for the safety check, not an escalation.
        """
        if not readings:
            return None
        _, status, _ = max(readings, key=lambda reading: reading[2].get(flag_id, 0.0))
        return None if status == REPORT else status


__all__ = ["RedFlagDetector"]
