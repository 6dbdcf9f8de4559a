"""Labelled handovers as test stories: what the bot must (not) do at which turn.

Pure (no Rasa): `feedback_stories` turns read handovers (`handovers.Handover`)
into `FeedbackStory`s; `export_command` writes them with Rasa's own story
writer (docs/feedback.md, "Test stories").

* `escalation_not_needed`: the story replays the session up to the turn the
  bot handed over on and ends with the bot's own answer to that turn instead:
  the action the bot's stories and rules give the intent (the one the agent
  said the customer had, else NLU's), when they give exactly one. A test
  story cannot say "anything but the handover"; ending on the user turn would
  make `rasa test` expect `action_listen` there, which no bot predicts.
* `should_have_come_earlier`: the story replays the session up to the turn
  before the handover and ends with the handover action there.

Between the user turns, the bot's actions are those the transcript recorded.
A handover whose transcript does not show them (or whose turn lacks an
intent) is not exported, with the reason. The user's text is the payload's,
redacted as it is (`training_text`); a turn whose text redaction dropped, or
an intent payload (`/greet`), is written as its intent alone.
"""

import re
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from rasa_handover.constants import INTENT_NLU_FALLBACK, SLOT_HANDOVER_ACTIVE
from rasa_handover.feedback.handovers import Handover, Turn
from rasa_handover.inbox.models import OUTCOME_NOT_NEEDED, OUTCOME_TOO_LATE
from rasa_handover.redaction import DROPPED_TEXT, MASK_PLACEHOLDER

# "][" would read as Rasa's entity annotation `[text][entity]`.
_ADJACENT_BRACKETS = re.compile(r"\]\s*(?=[\[({])")
_SPACES = re.compile(r"\s+")
STORY_PREFIX = "handover feedback"


def training_text(text: str) -> Optional[str]:
    """The redacted text as Rasa training data may hold it, or None.

    None when redaction dropped the message, or it is nothing but masks: it
    teaches nothing.
    """
    cleaned = _SPACES.sub(" ", _ADJACENT_BRACKETS.sub("] ", text)).strip()
    if not cleaned or DROPPED_TEXT in cleaned:
        return None
    if not cleaned.replace(MASK_PLACEHOLDER, "").strip(" .,!?"):
        return None
    return cleaned


@dataclass(frozen=True)
class Step:
    """One step: a user turn (`intent`, optional `text`), an action, or a slot."""

    intent: Optional[str] = None
    text: Optional[str] = None
    action: Optional[str] = None
    slot: Optional[Tuple[str, object]] = None


@dataclass(frozen=True)
class FeedbackStory:
    """A test story from one labelled handover."""

    name: str
    conversation_id: str
    steps: Tuple[Step, ...]


def feedback_stories(
    handovers: Sequence[Handover],
    handover_action: str,
    answers: Mapping[str, str],
) -> Tuple[List[FeedbackStory], List[Tuple[str, str]]]:
    """The stories, and (conversation id, why not) for labelled ones left out.

    Args:
        handovers: The resolved handovers (unlabelled and `escalation_needed`
            ones give no story: they are what happens already).
        handover_action: The policy's handover action.
        answers: Intent -> the bot's action for it (from its stories/rules).

    """
    stories: List[FeedbackStory] = []
    skipped: List[Tuple[str, str]] = []
    for handover in handovers:
        if handover.outcome not in (OUTCOME_NOT_NEEDED, OUTCOME_TOO_LATE):
            continue
        story = _story(handover, handover_action, answers)
        if isinstance(story, str):
            skipped.append((handover.conversation_id, story))
        else:
            stories.append(story)
    return stories, skipped


def _story(
    handover: Handover, handover_action: str, answers: Mapping[str, str]
) -> Union[FeedbackStory, str]:
    escalation = handover.escalation
    if escalation is None:
        return "the payload does not show the turn it was handed over on"
    turns = handover.turns
    if handover.outcome == OUTCOME_TOO_LATE:
        if not handover.earlier:
            return "it was handed over on the first turn: nothing earlier"
        last = handover.earlier[-1]
        intent = last.intent
        end: Tuple[Step, ...] = (
            Step(action=handover_action),
            Step(slot=(SLOT_HANDOVER_ACTIVE, True)),
        )
        what = f"must hand over at turn {last.number}"
    else:
        last = escalation
        intent = handover.corrected_intent or escalation.intent
        if intent is None or intent == INTENT_NLU_FALLBACK:
            return (
                f"NLU did not know turn {last.number}'s intent and the agent gave "
                "none: no answer to expect"
            )
        answer = answers.get(intent)
        if answer is None:
            return (
                f"the bot's stories and rules give {intent} no single answer: "
                "write this story by hand"
            )
        if answer == handover_action:
            return f"the bot's own rules hand {intent} over"
        end = (Step(action=answer),)
        what = f"must not hand over at turn {last.number}"
    steps: List[Step] = []
    for turn in turns:
        if turn.number >= last.number:
            break
        if turn.intent is None:
            return f"turn {turn.number} has no intent"
        if not turn.bot_actions:
            return (
                f"the transcript does not show the bot's actions after turn "
                f"{turn.number}"
            )
        steps.append(_user(turn, turn.intent))
        steps.extend(Step(action=action) for action in turn.bot_actions)
    if intent is None:
        return f"turn {last.number} has no intent"
    steps.append(_user(last, intent))
    steps.extend(end)
    name = (
        f"{STORY_PREFIX}: ticket {handover.ticket_id} ({handover.conversation_id}) "
        f"{what}"
    )
    return FeedbackStory(name, handover.conversation_id, tuple(steps))


def _user(turn: Turn, intent: str) -> Step:
    text = training_text(turn.text) if turn.typed else None
    return Step(intent=intent, text=text)
