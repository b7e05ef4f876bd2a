"""Red flags: normalisation, the pattern detector, the learned detector and their combination.

`RedFlagDetector` (detector.py) is the one entry point; `actions.config.get_detector()` builds it.
"""

from actions.redflags.detector import RedFlagDetector
from actions.redflags.patterns import (
    FAMILY,
    HYPOTHETICAL,
    NEGATED,
    NO_COMPLAINT,
    RED_TIERS,
    REPORT,
    RESOLVED,
    Assessment,
    DataFileError,
    Finding,
    PatternDetector,
    RedFlagRules,
    compile_pattern,
    describe,
    load_red_flags,
)

__all__ = [
    "FAMILY",
    "HYPOTHETICAL",
    "NEGATED",
    "NO_COMPLAINT",
    "RED_TIERS",
    "REPORT",
    "RESOLVED",
    "Assessment",
    "DataFileError",
    "Finding",
    "PatternDetector",
    "RedFlagDetector",
    "RedFlagRules",
    "compile_pattern",
    "describe",
    "load_red_flags",
]
