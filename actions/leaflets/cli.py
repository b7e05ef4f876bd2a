"""Command line for the leaflets: `make ingest` and `make ask Q="..."`.

python -m actions.leaflets.cli ingest [--if-changed]
python -m actions.leaflets.cli ask "helpt een rugbrace?" [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional


def ingest(if_changed: bool) -> int:
    """Builds and saves the leaflet index; reports what was read and what was skipped (and why)."""
    from actions.language import skip_tensorflow

    skip_tensorflow()
    from actions import config
    from actions.datafile import DataFileError
    from actions.leaflets.index import LeafletIndex, fingerprint

    started = time.perf_counter()
    try:
        settings, analyzer = config.get_leaflet_settings(), config.get_analyzer()
    except DataFileError as error:
        print(f"ERROR in the assistant's data files:\n  {error}", file=sys.stderr)
        return 1
    folders = config.leaflet_folders(settings)
    if if_changed:
        expected = fingerprint(folders, settings, analyzer.backend)
        if LeafletIndex.load(config.LEAFLET_INDEX, settings, analyzer, expected) is not None:
            print(f"Leaflet index up to date ({config.LEAFLET_INDEX.relative_to(config.PROJECT_ROOT)}).")
            return 0
    index = LeafletIndex.build(folders, settings, analyzer)
    index.save(config.LEAFLET_INDEX)
    report = index.report
    print(f"==> Leaflets read from {', '.join(str(f) for f in folders)}")
    print(f"    Dutch language: {config.describe_backend(analyzer.backend)}")
    for name, passages in report.documents:
        info = index.documents[name]
        print(f"    {name}: {passages} passages ({info.format}; cited as {info.kind} '{info.title}' {info.publisher})")
    for folder in report.missing_folders:
        print(f"    WARNING: folder {folder} does not exist", file=sys.stderr)
    for path, reason in report.skipped:
        print(f"    SKIPPED {path}: {reason}", file=sys.stderr)
    print(
        f"    {report.passages} passages from {len(report.documents)} leaflets, {len(report.skipped)} skipped, "
        f"in {time.perf_counter() - started:.1f} s -> {config.LEAFLET_INDEX}"
    )
    if not report.documents:
        print("    WARNING: no leaflets indexed: the assistant will say the leaflets do not cover questions.")
    return 0


def _parse_locally(question: str) -> Optional[Dict[str, Any]]:
    """Parses with the trained model in this process (when no Rasa server runs); None without a model."""
    from actions.config import PROJECT_ROOT

    model = PROJECT_ROOT / "models" / "backbot.tar.gz"
    if not model.exists():
        return None
    from rasa.core.agent import Agent

    print("(No Rasa server answers: loading the trained model here, which takes a few seconds.)", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):  # Rasa logs to stdout; keep stdout for the answer
        agent = Agent.load(str(model))
        return asyncio.run(agent.parse_message(question))


def ask(question: str, as_json: bool) -> int:
    """Prints what the assistant would answer, with the source and scores."""
    from actions import frontdesk

    parsed = frontdesk.parse_with_rasa(question) or _parse_locally(question)
    result = frontdesk.lookup(question, parsed)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"Question:   {question}")
    print(f"Kind:       {result['kind']}   answer: {result['answer_id']}   topic: {result.get('topic')}")
    print(f"Why:        {result['reason']}")
    confidence = result.get("confidence")
    print(
        f"NLU:        {result['intent']} ({confidence:.2f})" if confidence is not None else "NLU:        not available"
    )
    if result.get("red_flag"):
        print(f"Red flag:   {result['red_flag']['tier']} {result['red_flag']['flags']}")
    print(f"\n{result['answer']}\n")
    if result["buttons"]:
        print("Buttons:    " + " | ".join(result["buttons"]) + "\n")
    print(f"Best passages (quoted only when one answers the question, confidence >= {result['min_confidence']}):")
    for number, passage in enumerate(result["passages"], 1):
        print(
            f"  {number}. {passage['file']} / '{passage['heading']}'  "
            f"score {passage['score']:.2f}  confidence {passage['confidence']:.2f}"
        )
    return 0


def main(argv: Optional[list] = None) -> int:
    """Runs the command."""
    parser = argparse.ArgumentParser(description="Leaflets: build the index, or ask a question.")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest_parser = commands.add_parser("ingest", help="read the leaflet folders and write the index")
    ingest_parser.add_argument("--if-changed", action="store_true", help="only when a leaflet or setting changed")
    ask_parser = commands.add_parser("ask", help="what would the assistant answer?")
    ask_parser.add_argument("question")
    ask_parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "ingest":
        return ingest(args.if_changed)
    if not args.question.strip():
        print('Give a question: make ask Q="helpt een rugbrace?"', file=sys.stderr)
        return 2
    return ask(args.question, args.json)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
