"""Command line check of the data files: `python -m actions.check` exits 1 with a clear message."""

from __future__ import annotations

import sys

from actions.config import (
    KNOWLEDGE_DIR,
    get_detector,
    get_knowledge,
    get_leaflet_settings,
    get_practice,
    leaflet_folders,
)
from actions.datafile import DataFileError


def main() -> int:
    """Loads every data file; prints what is wrong or a one-line summary."""
    try:
        knowledge = get_knowledge()
        practice = get_practice()
        detector = get_detector()
        leaflets = get_leaflet_settings()
    except DataFileError as error:
        print(f"ERROR in the assistant's data files:\n  {error}", file=sys.stderr)
        return 1
    locations = sum(len(p.locations) for p in practice.practices)
    team = sum(len(p.team) for p in practice.practices)
    print(
        f"Data files OK ({KNOWLEDGE_DIR}): {len(knowledge.answers)} answers, "
        f"{len(knowledge.sources)} sources, {len(practice.practices)} practice(s) with "
        f"{locations} locations and {team} team members, {len(detector.rules.flags)} red/yellow flags with "
        f"{sum(len(f.patterns) for f in detector.rules.flags)} patterns, "
        f"leaflet folders {', '.join(str(f) for f in leaflet_folders(leaflets))} "
        f"with {len(leaflets.synonyms)} synonym groups."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
