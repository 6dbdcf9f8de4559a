"""`rasa-handover export`'s test stories, on the example bot, read by Rasa itself.

The handovers are written through the inbox store with payloads shaped as
`action_handover` builds them (intent history and transcript); the stories
file is read back with Rasa's YAMLStoryReader and checked by `rasa data
validate` (a real subprocess).
"""

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
    YAMLStoryReader,
)

from rasa_handover.cli import main
from rasa_handover.conversation import read_transcript
from rasa_handover.feedback.handovers import handover_from
from rasa_handover.inbox.models import OutcomeRecord
from rasa_handover.payload.sections import transcript_section
from tests.feedback.history import LATE, NEEDED, NOT_NEEDED, seed

EXAMPLE_BOT = Path(__file__).resolve().parents[2] / "example_bot"
STORIES = "tests/handover_feedback_stories.yml"

# (intent, confidence, text, the bot's messages after it: (action, sent_by)).
Turn = Tuple[str, float, str, Sequence[Tuple[str, Optional[str]]]]
_ids = iter(range(100, 1000))


def handover(
    outcome: Optional[str],
    reason: str,
    turns: Sequence[Turn],
    corrected: Optional[str] = None,
    lead: Sequence[str] = (),
) -> OutcomeRecord:
    """A handover on the last turn; `lead`: bot messages before the first one."""
    history: List[Dict[str, Any]] = []
    transcript: List[Dict[str, Any]] = [
        {"role": "bot", "text": "Hi!", "timestamp": None, "action": a} for a in lead
    ]
    for number, (intent, confidence, text, bot) in enumerate(turns, 1):
        history.append(
            {
                "turn": number,
                "session": 1,
                "intent": intent,
                "confidence": confidence,
                "text": text,
                "entities": [],
            }
        )
        if not text.startswith("/"):
            transcript.append(
                {"role": "user", "text": text, "timestamp": None, "intent": intent}
            )
        for action, sent_by in bot:
            entry = {"role": "bot", "text": "...", "timestamp": None, "action": action}
            if sent_by:
                entry["sent_by"] = sent_by
            transcript.append(entry)
    number = next(_ids)
    return OutcomeRecord(
        ticket_id=number,
        conversation_id=f"conv-{number}",
        attempt=1,
        reason=reason,
        team="general",
        outcome=outcome,
        note=None,
        agent_id="maya",
        resolved_at=None,
        payload={
            "trigger": {"reason": reason, "evidence": {}, "turn": len(turns)},
            "intent_history": history,
            "transcript": transcript,
        },
        intent=corrected,
    )


HI: Turn = ("greet", 0.98, "hi", [("utter_greet", None)])
CLARIFIED: Turn = (
    "ask_invoice",
    0.45,
    "where is the bill thing",
    [("utter_handover_clarify", "action_handover_clarify")],
)
HANDED_OVER: List[Tuple[str, Optional[str]]] = [("action_handover", None)]

NOT_NEEDED_INVOICE = handover(
    NOT_NEEDED,
    "low_confidence",
    [HI, CLARIFIED, ("ask_invoice", 0.44, "bill for [redacted] pls", HANDED_OVER)],
)
LATE_PLAYBACK = handover(
    LATE,
    "frustration",
    [
        HI,
        ("report_playback_issue", 0.91, "my video does not play", []),
        ("report_playback_issue", 0.9, "STILL NOT PLAYING!!! ridiculous", []),
    ],
)
# The widget's start message (`/greet`): in the history, not in the transcript.
NOT_NEEDED_AFTER_START = handover(
    NOT_NEEDED,
    "repeat_loop",
    [
        ("greet", 1.0, "/greet", []),
        ("ask_plans", 0.9, "which plans are there", [("utter_ask_plans", None)]),
        ("ask_plans", 0.6, "so which one has 4k?", HANDED_OVER),
    ],
    lead=["utter_greet"],
)
SKIPPED = [
    handover(NOT_NEEDED, "low_confidence", [("nlu_fallback", 0.3, "blorp", [])]),
    handover(LATE, "explicit_request", [("human_handoff", 0.99, "a human", [])]),
]
NO_STORY = handover(NEEDED, "low_confidence", [HI, CLARIFIED])


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("domain", "data"):
        shutil.copytree(EXAMPLE_BOT / name, tmp_path / name)
    shutil.copy(EXAMPLE_BOT / "config.yml", tmp_path / "config.yml")
    monkeypatch.chdir(tmp_path)
    records = [
        NOT_NEEDED_INVOICE,
        LATE_PLAYBACK,
        NOT_NEEDED_AFTER_START,
        *SKIPPED,
        NO_STORY,
    ]
    asyncio.run(seed(f"sqlite:///{tmp_path / 'handover.db'}", records))
    return tmp_path


def steps(story: Any) -> List[Tuple[str, ...]]:
    found: List[Tuple[str, ...]] = []
    for event in story.events:
        if isinstance(event, UserUttered):
            found.append(("user", str(event.intent_name), event.text or ""))
        elif isinstance(event, ActionExecuted):
            found.append(("action", str(event.action_name)))
        elif isinstance(event, SlotSet):
            found.append(("slot", event.key, str(event.value)))
    return found


def test_labelled_handovers_become_test_stories_rasa_reads(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    db = f"sqlite:///{bot / 'handover.db'}"

    assert main(["export", "--db", db]) == 0
    first = (bot / STORIES).read_text()
    assert main(["export", "--db", db]) == 0

    stories = YAMLStoryReader(Domain.load("domain")).read_from_file(STORIES)
    by_name = {story.block_name: steps(story) for story in stories}
    invoice, playback, plans = (
        f"handover feedback: ticket {n} ({c})"
        for n, c in (
            (1, NOT_NEEDED_INVOICE.conversation_id),
            (2, LATE_PLAYBACK.conversation_id),
            (3, NOT_NEEDED_AFTER_START.conversation_id),
        )
    )
    assert by_name == {
        # Not needed: the bot's own answer (its rule) instead of the handover.
        f"{invoice} must not hand over at turn 3": [
            ("user", "greet", "hi"),
            ("action", "utter_greet"),
            ("user", "ask_invoice", "where is the bill thing"),
            ("action", "action_handover_clarify"),
            ("user", "ask_invoice", "bill for [redacted] pls"),
            ("action", "utter_ask_invoice"),
        ],
        # Late: the handover one turn earlier.
        f"{playback} must hand over at turn 2": [
            ("user", "greet", "hi"),
            ("action", "utter_greet"),
            ("user", "report_playback_issue", "my video does not play"),
            ("action", "action_handover"),
            ("slot", "handover_active", "True"),
        ],
        f"{plans} must not hand over at turn 3": [
            ("user", "greet", ""),
            ("action", "utter_greet"),
            ("user", "ask_plans", "which plans are there"),
            ("action", "utter_ask_plans"),
            ("user", "ask_plans", "so which one has 4k?"),
            ("action", "utter_ask_plans"),
        ],
    }
    assert (bot / STORIES).read_text() == first  # Nothing exported twice.
    out = capsys.readouterr().out
    assert f"3 new in {STORIES}, 0 already there" in out
    assert f"0 new in {STORIES}, 3 already there" in out
    assert f"not exported: {SKIPPED[0].conversation_id}: NLU did not know" in out
    late_first = SKIPPED[1].conversation_id
    assert f"not exported: {late_first}: it was handed over on the first turn" in out


def test_rasa_data_validate_accepts_the_stories(bot: Path) -> None:
    assert main(["export", "--db", f"sqlite:///{bot / 'handover.db'}"]) == 0

    rasa = Path(sys.executable).with_name("rasa")
    done = subprocess.run(
        [
            str(rasa),
            "data",
            "validate",
            "stories",
            "--domain",
            "domain",
            "--data",
            "data",
            STORIES,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_transcript_names_the_action_that_sent_a_response() -> None:
    # action_handover_clarify sends utter_handover_clarify: the story needs the
    # action, the agent's transcript shows the response.
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "bill?", "parse_data": {"intent": {"name": "x"}}},
        {"event": "action", "name": "action_handover_clarify"},
        {
            "event": "bot",
            "text": "Did you mean",
            "metadata": {"utter_action": "utter_handover_clarify"},
        },
    ]

    [_, bot_entry] = transcript_section(read_transcript(events))
    payload = {
        "intent_history": [{"turn": 1, "intent": "x", "text": "bill?"}],
        "transcript": [_, bot_entry],
    }

    assert bot_entry["action"] == "utter_handover_clarify"
    assert bot_entry["sent_by"] == "action_handover_clarify"
    record = handover(None, "low_confidence", [("x", 0.3, "bill?", [])])
    record.payload.update(payload)
    [turn] = handover_from(record).turns
    assert turn.bot_actions == ("action_handover_clarify",)
