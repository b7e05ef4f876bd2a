"""Command line check of the data files: `python -m actions.check` exits 1 with a clear message."""

from __future__ import annotations

import sys

from actions.config import (
    KNOWLEDGE_DIR,
    RED_FLAG_TRAINING_DIR,
    get_followups,
    get_knowledge,
    get_leaflet_settings,
    get_practice,
    get_red_flag_rules,
    leaflet_folders,
)
from actions.datafile import DataFileError
from actions.redflags import RED_TIERS
from actions.redflags.learned import read_examples


def main() -> int:
    """Loads every data file; prints what is wrong or a one-line summary."""
    try:
        knowledge = get_knowledge()
        practice = get_practice()
        get_followups()
        rules = get_red_flag_rules()
        leaflets = get_leaflet_settings()
        red_flags = [flag.id for flag in rules.flags if flag.tier in RED_TIERS]
        examples = read_examples(sorted(RED_FLAG_TRAINING_DIR.glob("*.yml")), red_flags)
    except (DataFileError, ValueError) as error:
        print(f"ERROR in the assistant's data files:\n  {error}", file=sys.stderr)
        return 1
    locations = sum(len(p.locations) for p in practice.practices)
    team = sum(len(p.team) for p in practice.practices)
    print(
        f"Data files OK ({KNOWLEDGE_DIR}): {len(knowledge.answers)} answers, {len(knowledge.faq)} FAQ entries, "
        f"{len(knowledge.sources)} sources, {len(practice.practices)} practice(s) with "
        f"{locations} locations and {team} team members, {len(rules.flags)} red/yellow flags with "
        f"{sum(len(f.patterns) for f in rules.flags)} patterns and {len(examples)} learned-detector examples, "
        f"leaflet folders {', '.join(str(f) for f in leaflet_folders(leaflets))} "
        f"with {len(leaflets.synonyms)} synonym groups."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
