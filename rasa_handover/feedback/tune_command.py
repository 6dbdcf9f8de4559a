"""`rasa-handover tune`: the tuning file from agents' outcome labels.

    rasa-handover tune --db sqlite:///handover.db       # the diff, nothing written
    rasa-handover tune --db postgresql://... --write    # writes the tuning file

Reads the resolved tickets from the inbox database, the policy's settings from
`config.yml` and the intents' declarations from the domain, builds the
thresholds table the policy would use without `tune`'s earlier values
(`thresholds.Thresholds`), applies the rules of `feedback.tune` and prints
each proposal with its explanation and the file's diff.
"""

import argparse
import asyncio
import difflib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from rasa_handover.feedback.handovers import handovers_from
from rasa_handover.feedback.replay import Setup, compare
from rasa_handover.feedback.replay_report import format_replay
from rasa_handover.feedback.tune import (
    DEFAULT_MAJORITY,
    DEFAULT_MAX_STEP,
    DEFAULT_MIN_LABELLED,
    Proposal,
    TuneRules,
    apply,
    hand_set_floors,
    propose,
    without_tune,
)
from rasa_handover.inbox.config import DEFAULT_DB_URL
from rasa_handover.inbox.models import OutcomeRecord
from rasa_handover.intent_properties import IntentDeclaration
from rasa_handover.languages import response_texts
from rasa_handover.settings import HandoverSettings, with_bot_languages
from rasa_handover.thresholds import SOURCE_CONFIG, SOURCE_DOMAIN, Thresholds
from rasa_handover.tuning_file import TuningFile, dump_tuning, load_tuning
from rasa_handover.validation import HandoverConfigError

DEFAULT_TUNING_FILE = "handover_tuning.yml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `rasa-handover tune`."""
    add_common_arguments(parser)
    parser.add_argument(
        "--write", action="store_true", help="write the tuning file (default: diff)"
    )
    parser.add_argument(
        "--replay",
        action="store_true",
        help="also replay the stored conversations with the current and the "
        "proposed file (what `rasa-handover replay` prints)",
    )


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `tune` and `replay` share."""
    parser.add_argument(
        "--db",
        default=DEFAULT_DB_URL,
        help="the inbox database URL (sqlite:///handover.db, postgresql://...)",
    )
    parser.add_argument("--schema", default=None, help="PostgreSQL schema")
    parser.add_argument("--config", default="config.yml", help="the bot's config.yml")
    parser.add_argument(
        "--domain",
        default=None,
        help="the domain (file or folder; default: domain/ if it exists, "
        "else domain.yml)",
    )
    parser.add_argument(
        "--tuning-file",
        default=None,
        help="the tuning file (default: HandoverPolicy's tuning_file, else "
        f"{DEFAULT_TUNING_FILE})",
    )
    parser.add_argument(
        "--since",
        default=None,
        help="only tickets resolved on or after this date (YYYY-MM-DD)",
    )
    parser.add_argument("--min-labelled", type=int, default=DEFAULT_MIN_LABELLED)
    parser.add_argument("--majority", type=float, default=DEFAULT_MAJORITY)
    parser.add_argument("--max-step", type=float, default=DEFAULT_MAX_STEP)


@dataclass(frozen=True)
class Inputs:
    """What `tune` and `replay` read: the bot's settings, the file, the outcomes."""

    rules: TuneRules
    settings: HandoverSettings
    declarations: Mapping[str, IntentDeclaration]
    path: Path
    existing: Optional[TuningFile]
    records: List[OutcomeRecord]


def read_inputs(args: argparse.Namespace, command: str) -> Union[Inputs, int]:
    """The inputs, or the exit code 2 after saying what is wrong."""
    try:
        rules = _rules(args)
        since = parse_since(args.since)
        domain = _domain(domain_path(args.domain))
        # As the policy decides: `bot_languages: auto` read from the responses.
        settings = with_bot_languages(
            read_settings(Path(args.config)),
            response_texts(domain.responses if domain else {}),
        )
        declarations = _declarations(domain)
        out = Path(args.tuning_file or settings.tuning_file or DEFAULT_TUNING_FILE)
        existing = load_tuning(out) if out.is_file() else None
    except (ValueError, OSError) as error:
        print(f"rasa-handover {command}: {error}")
        return 2
    try:
        records = asyncio.run(read_outcomes(args.db, args.schema, since))
    except Exception as error:  # Any driver's error: say which URL failed.
        print(
            f"rasa-handover {command}: cannot read outcomes from {args.db} "
            f"({error}). Pass the inbox database with --db."
        )
        return 2
    return Inputs(rules, settings, declarations, out, existing, records)


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover tune`; returns the exit code."""
    inputs = read_inputs(args, "tune")
    if isinstance(inputs, int):
        return inputs
    records, existing, out = inputs.records, inputs.existing, inputs.path
    proposals, tuned = tune(
        records, inputs.settings, inputs.declarations, existing, inputs.rules
    )
    print(format_proposals(records, proposals))
    if args.replay:
        print()
        print(replay_report(inputs, tuned))
    before = dump_tuning(existing) if existing else ""
    after = dump_tuning(tuned)
    if before == after:
        print(f"\nNo change to {out}.")
        return 0
    print()
    print(_diff(before, after, str(out)))
    if not args.write:
        print(f"Dry run: nothing written. Add --write to write {out}.")
        return 0
    out.write_text(dump_tuning(tuned, _header(records, inputs.rules)), encoding="utf-8")
    print(f"Wrote {out}. Restart `rasa run` to load it (no retraining).")
    if not inputs.settings.tuning_file:
        print(f"Point HandoverPolicy at it in config.yml: `tuning_file: {out}`.")
    return 0


def replay_report(inputs: Inputs, proposed: TuningFile) -> str:
    """The stored handovers replayed with the current and the proposed file."""
    current = Setup.build(
        inputs.settings,
        inputs.declarations,
        inputs.existing.thresholds() if inputs.existing else None,
    )
    after = Setup.build(inputs.settings, inputs.declarations, proposed.thresholds())
    changes = compare(handovers_from(inputs.records), current, after)
    return format_replay(changes, current)


def tune(
    records: Sequence[OutcomeRecord],
    settings: HandoverSettings,
    declarations: Mapping[str, IntentDeclaration],
    existing: Optional[TuningFile],
    rules: Optional[TuneRules] = None,
) -> Tuple[List[Proposal], TuningFile]:
    """The proposals and the tuning file they make (everything but I/O)."""
    baseline = without_tune(existing)
    thresholds = Thresholds.build(
        settings, declarations, baseline.thresholds() if baseline else None
    )
    hand_set = hand_set_floors(
        [
            (SOURCE_CONFIG, settings.intent_overrides),
            (SOURCE_DOMAIN, {i: d.override for i, d in declarations.items()}),
        ]
    )
    proposals = propose(
        handovers_from(records), thresholds, rules or TuneRules(), hand_set
    )
    return proposals, apply(proposals, existing)


async def read_outcomes(
    db: str, schema: Optional[str] = None, since: Optional[datetime] = None
) -> List[OutcomeRecord]:
    """Every resolved ticket (labelled or not) from the inbox database."""
    from rasa_handover.inbox.store import InboxStore

    store = InboxStore(db, schema=schema)
    try:
        return await store.outcomes(since=since, labelled_only=False)
    finally:
        await store.close()


def format_proposals(
    records: Sequence[OutcomeRecord], proposals: Sequence[Proposal]
) -> str:
    """The terminal report: what was read, each proposal and why."""
    labelled = sum(1 for r in records if r.outcome)
    lines = [
        f"Read {len(records)} resolved handovers: {labelled} labelled, "
        f"{len(records) - labelled} unlabelled (left out)."
    ]
    for p in proposals:
        change = (
            f"{p.current:.2f} -> {p.proposed:.2f}"
            if p.changes and p.proposed is not None
            else f"{p.current:.2f}, no change"
        )
        lines.append(f"\n{p.intent}  confidence_floor {change}  [{p.rule}]")
        lines.append(f"    because {p.reason}")
        if p.examples:
            lines.append(f"    e.g. {', '.join(p.examples)}")
    if not proposals:
        lines.append("No intent has labelled outcomes the rules apply to.")
    return "\n".join(lines)


def _diff(before: str, after: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            name,
            f"{name} (proposed)",
        )
    )


def _header(records: Sequence[OutcomeRecord], rules: TuneRules) -> str:
    moment = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Written by `rasa-handover tune` on {moment} from {len(records)} resolved "
        f"handovers\n(min_labelled={rules.min_labelled}, majority={rules.majority}, "
        f"max_step={rules.max_step}); values by calibrate are kept.\n"
        "Format: docs/calibrate.md; the rules: docs/feedback.md"
    )


def _rules(args: argparse.Namespace) -> TuneRules:
    if args.min_labelled < 1:
        raise ValueError("--min-labelled must be at least 1.")
    if not 0 <= args.majority < 1:
        raise ValueError("--majority must be at least 0 and below 1 (e.g. 0.5).")
    if not 0 < args.max_step <= 0.5:
        raise ValueError("--max-step must be above 0 and at most 0.5 (e.g. 0.15).")
    return TuneRules(args.min_labelled, args.majority, args.max_step)


def parse_since(raw: Optional[str]) -> Optional[datetime]:
    """`--since` as a UTC moment (ValueError naming the fix)."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"--since '{raw}' is not a date; write e.g. 2026-09-01."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_settings(config: Path) -> HandoverSettings:
    """HandoverPolicy's settings in config.yml (the defaults without one)."""
    from rasa_handover.evaluation.baseline import settings_for

    try:
        return settings_for(config)
    except HandoverConfigError as error:
        raise ValueError(str(error)) from error


def domain_path(raw: Optional[str]) -> Optional[Path]:
    """`--domain` (ValueError if missing), else `domain/` or `domain.yml`."""
    if raw is not None:
        path = Path(raw)
        if not path.exists():
            raise ValueError(f"domain '{raw}' not found (use --domain).")
        return path
    for candidate in (Path("domain"), Path("domain.yml")):
        if candidate.exists():
            return candidate
    return None


def _domain(path: Optional[Path]) -> Any:
    """The Rasa domain at `path`, or None without one."""
    if path is None:
        return None
    from rasa.shared.core.domain import Domain

    return Domain.load(str(path))


def _declarations(domain: Any) -> Mapping[str, IntentDeclaration]:
    """The domain's per-intent declarations (none without a domain)."""
    if domain is None:
        return {}
    from rasa_handover.intent_properties import parse_declarations

    return parse_declarations(domain.intent_properties, None, None)
