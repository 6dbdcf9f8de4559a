"""The conversation view built from real Rasa trackers and from rasa_sdk events."""

from pathlib import Path
from typing import List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover.constants import ACTION_HANDBACK, ACTION_HANDOVER, ACTION_LISTEN
from rasa_handover.conversation import (
    ROLE_BOT,
    ROLE_USER,
    read_transcript,
    view_from_rasa_tracker,
)

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, ask_invoice, deny]
slots:
  account_tier:
    type: text
    mappings: [{type: custom}]
"""
)


def user(
    text: str, intent: str = "ask_invoice", confidence: float = 0.9
) -> UserUttered:
    return UserUttered(
        text,
        {"name": intent, "confidence": confidence},
        parse_data={
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.55},
                {"name": intent, "confidence": confidence},
                {"name": "greet", "confidence": 1 - confidence},
            ],
        },
    )


def bot(action: str) -> List[Event]:
    return [ActionExecuted(action), BotUttered("..."), ActionExecuted(ACTION_LISTEN)]


def tracker(*events: Event) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "c1", [ActionExecuted(ACTION_LISTEN), *events], DOMAIN.slots
    )


def texts(t: DialogueStateTracker) -> List[str]:
    return [turn.text for turn in view_from_rasa_tracker(t).turns]


def test_turns_are_numbered_and_know_the_action_before_them() -> None:
    t = tracker(
        user("one"),
        *bot("utter_a"),
        user("two"),
        SlotSet("account_tier", "vip"),
        *bot("action_offer_handover"),
        user("three"),
    )
    v = view_from_rasa_tracker(t)
    assert [(x.index, x.text) for x in v.turns] == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
    assert [x.previous_action for x in v.turns] == [
        None,
        "utter_a",
        "action_offer_handover",
    ]
    assert v.slot("account_tier") == "vip"
    assert v.awaiting_response


def test_a_retrieval_intent_keeps_its_full_name() -> None:
    """Rasa's processor adds the ResponseSelector's key to the intent."""
    asked = UserUttered(
        "what does premium cost",
        {
            "name": "faq",
            "confidence": 0.93,
            "full_retrieval_intent_name": "faq/ask_price",
        },
    )
    turns = view_from_rasa_tracker(tracker(asked, *bot("utter_faq"), user("x"))).turns
    assert (turns[0].intent, turns[0].retrieval_intent) == ("faq", "faq/ask_price")
    assert turns[1].retrieval_intent is None


def test_two_faq_questions_of_a_test_story_are_no_repeat(tmp_path: Path) -> None:
    """A test story as a bot with a ResponseSelector writes it, read by Rasa."""
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
        YAMLStoryReader,
    )

    from rasa_handover.triggers import check_repeat_loop
    from tests.builders import settings

    domain = Domain.from_yaml(
        """
version: "3.1"
intents: [faq]
responses:
  utter_faq/ask_price: [{text: "Premium is 12.99 a month."}]
  utter_faq/ask_hours: [{text: "We are open 9 to 5."}]
"""
    )
    stories = tmp_path / "test_stories.yml"
    stories.write_text(
        """
version: "3.1"
stories:
- story: two questions of one retrieval intent
  steps:
  - user: how much is premium
    intent: faq/ask_price
  - action: utter_faq
  - user: when are you open
    intent: faq/ask_hours
"""
    )
    [story] = YAMLStoryReader(domain, str(stories)).read_from_file(stories)
    view = view_from_rasa_tracker(tracker(*story.events))
    asked = [t.retrieval_intent for t in view.turns]
    assert asked == ["faq/ask_price", "faq/ask_hours"]
    assert check_repeat_loop(view, settings()) is None


def test_ranking_hides_nlu_fallback_and_is_sorted() -> None:
    v = view_from_rasa_tracker(tracker(user("x", confidence=0.7)))
    assert [s.name for s in v.turns[0].ranking] == ["ask_invoice", "greet"]


@pytest.mark.parametrize(
    "boundary",
    [
        pytest.param(ACTION_HANDOVER, id="after-handover"),
        pytest.param(ACTION_HANDBACK, id="after-handback"),
    ],
)
def test_segment_starts_after_a_handover_or_handback(boundary: str) -> None:
    t = tracker(
        user("THIS IS RIDICULOUS"),
        *bot(boundary),
        user("after"),
    )
    v = view_from_rasa_tracker(t)
    assert [x.text for x in v.turns] == ["after"]
    # Numbering still counts the whole session.
    assert v.turns[0].index == 2
    assert v.segment_turn_count == 1


@pytest.mark.parametrize(
    "reset",
    [
        pytest.param(Restarted(), id="restart"),
        pytest.param(SessionStarted(), id="new-session"),
    ],
)
def test_restart_and_new_session_start_afresh(reset: Event) -> None:
    t = tracker(
        user("old"), *bot("utter_a"), reset, ActionExecuted(ACTION_LISTEN), user("new")
    )
    v = view_from_rasa_tracker(t)
    assert [(x.index, x.text) for x in v.turns] == [(1, "new")]


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(
            [
                user("one"),
                *bot("utter_a"),
                user("typo"),
                UserUtteranceReverted(),
                user("two"),
            ],
            id="rewind",
        ),
        pytest.param(
            [
                user("one"),
                ActionExecuted("utter_a"),
                ActionReverted(),
                *bot("utter_b"),
                user("two"),
            ],
            id="undo-action",
        ),
        pytest.param(
            [
                user("one"),
                *bot("utter_a"),
                user("x"),
                ActionExecuted("utter_b"),
                UserUtteranceReverted(),
                UserUtteranceReverted(),
                ActionExecuted(ACTION_LISTEN),
                user("two"),
            ],
            id="double-rewind",
        ),
    ],
)
def test_view_agrees_with_rasas_applied_events(events: List[Event]) -> None:
    t = tracker(*events)
    expected = [e.text for e in t.applied_events() if isinstance(e, UserUttered)]
    assert texts(t) == expected


def test_max_turns_keeps_the_latest() -> None:
    events: List[Event] = []
    for i in range(30):
        events += [user(f"m{i}"), *bot("utter_a")]
    v = view_from_rasa_tracker(tracker(*events), max_turns=3)
    assert [x.text for x in v.turns] == ["m27", "m28", "m29"]
    assert v.turns[-1].index == 30
    assert v.segment_turn_count == 30


def test_sdk_event_dicts_give_the_policys_turns() -> None:
    # The payload (rasa_sdk's event dicts) and the policy (Rasa's objects) must
    # number the same turns the same way: `handover_turn` points into the
    # payload's intent history.
    t = tracker(
        user("one"),
        *bot("utter_a"),
        user("typo"),
        UserUtteranceReverted(),
        user("two"),
        *bot(ACTION_HANDOVER),
        user("three"),
        ActionExecuted("utter_b"),
        ActionReverted(),
        *bot("utter_c"),
        user("four"),
    )
    from_rasa = view_from_rasa_tracker(t, max_turns=100, boundary_actions=())
    transcript = read_transcript([e.as_dict() for e in t.events])
    assert tuple(m.turn for m in transcript.turns) == from_rasa.turns
    assert [m.text for m in transcript.user_messages] == [
        "one",
        "typo",
        "two",
        "three",
        "four",
    ]


def test_transcript_numbers_turns_per_session_and_keeps_every_message() -> None:
    t = tracker(
        user("hi", "greet"),
        *bot("utter_a"),
        Restarted(),
        ActionExecuted(ACTION_LISTEN),
        user("typo"),
        UserUtteranceReverted(),
        user("invoice"),
        SlotSet("account_tier", "vip"),
        *bot("utter_b"),
    )
    transcript = read_transcript([e.as_dict() for e in t.events])
    assert [(m.role, m.text, m.session) for m in transcript.messages] == [
        (ROLE_USER, "hi", 1),
        (ROLE_BOT, "...", 1),
        (ROLE_USER, "typo", 2),
        (ROLE_USER, "invoice", 2),
        (ROLE_BOT, "...", 2),
    ]
    assert [(m.text, m.turn and m.turn.index) for m in transcript.turns] == [
        ("hi", 1),
        ("invoice", 1),
    ]
    assert transcript.messages[-1].action == "utter_b"
    # Set right after the customer's message, by a slot mapping: theirs.
    assert transcript.customer_slots == ("account_tier",)
    assert transcript.bot_actions == ("utter_a", "utter_b")
    assert transcript.action_counts[ACTION_LISTEN] == 4


def test_a_message_the_bot_took_back_is_kept_with_the_next_turn() -> None:
    # action_default_fallback ("Sorry, I didn't get that") rewinds the message:
    # no turn, but the customer said it, and the frustration signals read it.
    t = tracker(
        user("video won't play"),
        *bot("utter_playback_issue"),
        user("tried all that. nothing works"),
        *bot("action_default_fallback"),
        UserUtteranceReverted(),
        ActionExecuted(ACTION_LISTEN),
        user("/greet"),
        UserUtteranceReverted(),
        user("are you kidding me?"),
    )
    v = view_from_rasa_tracker(t)
    assert [(x.index, x.text) for x in v.turns] == [
        (1, "video won't play"),
        (2, "are you kidding me?"),
    ]
    assert v.turns[1].unanswered_before == ("tried all that. nothing works",)
    assert v.turns[0].unanswered_before == ()
    transcript = read_transcript([e.as_dict() for e in t.events])
    assert tuple(m.turn for m in transcript.turns) == v.turns


def test_a_message_rewound_and_added_again_is_not_kept_twice() -> None:
    # Two-stage fallback: the message is rewound with the affirmation and added
    # again with the intent the customer confirmed.
    t = tracker(
        user("refnd pls", "nlu_fallback"),
        *bot("action_two_stage_fallback"),
        user("yes", "affirm"),
        UserUtteranceReverted(),
        UserUtteranceReverted(),
        ActionExecuted(ACTION_LISTEN),
        user("refnd pls", "ask_refund"),
    )
    [only] = view_from_rasa_tracker(t).turns
    assert only.unanswered_before == ()
