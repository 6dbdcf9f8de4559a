"""The explicit-request phrase grammar: the families of requests for a person it
must catch, the deliberate choices (questions about the bot, sales contacts) and
the look-alikes it must leave to the bot. Contrast pairs sit side by side."""

import pytest

from rasa_handover.constants import REASON_EXPLICIT_REQUEST
from rasa_handover.person_requests import find_explicit_request
from rasa_handover.person_requests.words import (
    RULE_NAMED_PERSON,
    RULE_REFUSES_BOT,
    RULE_SHORT,
    RULE_TRANSFER,
    RULE_WANT,
    TYPO_TARGETS,
    VOCABULARY,
)
from rasa_handover.triggers.explicit_request import check_explicit_request
from rasa_handover.word_forms import damerau_distance, normalise_word
from tests.builders import settings, turn, view


def asks(text: str) -> bool:
    return find_explicit_request(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        # verbs of speaking x person nouns, any inflection
        pytest.param("let me speak with an actual human", id="speak-actual-human"),
        pytest.param("talkin to a human would be nice", id="talkin"),
        pytest.param("I'd rather chat with a person", id="rather-chat-person"),
        pytest.param("Can I have a word with a person", id="have-a-word"),
        pytest.param("i need to speak with someone", id="speak-someone"),
        pytest.param("why can't I talk to a human?", id="why-cant-modal"),
        # transferring: "put me in touch with / forward me to / connect me to"
        pytest.param("put me in touch with customer service", id="touch-service"),
        pytest.param("forward me to your support team", id="forward-team"),
        pytest.param("connect me to an agent", id="connect-agent"),
        pytest.param("can you transfer me to a human", id="transfer-human"),
        pytest.param("escalate this to a supervisor", id="escalate-supervisor"),
        pytest.param("hook me up with a real person", id="hook-up"),
        pytest.param("i'd like to be connected to an agent", id="passive-connect"),
        pytest.param("put me through to the billing department", id="department"),
        pytest.param("transfer me to tech support", id="tech-support"),
        # reaching
        pytest.param("how do I reach a rep", id="reach-rep"),
        pytest.param("how can I contact customer care", id="contact-care"),
        pytest.param("get a real person on the line", id="real-person-line"),
        # wanting
        pytest.param("give me a person", id="give-person"),
        pytest.param("I'd like a human please", id="would-like"),
        pytest.param("i want customer care", id="want-care"),
        pytest.param("Can I get a live agent", id="live-agent"),
        # a person wanted for talking
        pytest.param("is there a human I can talk to", id="human-i-can-talk-to"),
        pytest.param("is there anyone I can speak to", id="anyone-to-speak-to"),
        pytest.param("can someone call me back", id="call-me-back"),
        pytest.param("can a real person help me", id="person-help-me"),
        pytest.param("I need help from a real person", id="help-from"),
        pytest.param("get me someone from customer support", id="someone-from"),
        # slang and named persons
        pytest.param("a proper human please", id="proper-human"),
        pytest.param("I need human support", id="human-support"),
        pytest.param("flesh and blood please, not software", id="flesh-blood"),
        # typos and chat spelling
        pytest.param("huamn please", id="typo-huamn"),
        pytest.param("I want to speak to a represenative", id="typo-represenative"),
        pytest.param("get me an agnet", id="typo-agnet"),
        pytest.param("can i tlak to a persn", id="typo-persn"),
        pytest.param("pls connect me w sum1", id="chat-spelling"),
        pytest.param("hoooman pleeease", id="repeated-letters"),
        # short messages
        pytest.param("customer service!", id="short-customer-service"),
        pytest.param("operator", id="short-operator"),
        pytest.param("hello? human please now", id="short-fillers"),
        pytest.param("HUMAN PLEASE", id="shouted"),
        pytest.param("bot is useless, human please", id="short-stretch"),
        pytest.param("are there any humans here", id="any-humans-here"),
        # the whole clause is a transfer
        pytest.param("transfer me", id="transfer-me"),
        pytest.param("escalate this please", id="escalate-this"),
        pytest.param("let a human take over", id="human-takes-over"),
        pytest.param("someone real please", id="someone-real"),
        pytest.param("can I talk to my account manager", id="our-account-manager"),
        pytest.param(
            "I would appreciate it if a colleague of yours could look into my bill",
            id="colleague-of-yours",
        ),
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks(text), text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I don't want to talk to a bot", id="dont-want-bot"),
        pytest.param("i dont wanna talk to a machine", id="dont-wanna-machine"),
        pytest.param("stop the bot", id="stop-bot"),
        pytest.param("I'm done with this robot", id="done-with-robot"),
        pytest.param("no more bots please", id="no-more-bots"),
        pytest.param("I'm sick of this stupid bot", id="sick-of-bot"),
        pytest.param("get me out of this bot", id="out-of-bot"),
        pytest.param("I want a human not a bot", id="human-not-bot"),
    ],
)
def test_refusing_the_bot_is_a_request(text: str) -> None:
    assert asks(text), text


@pytest.mark.parametrize(
    "question, same_words_as_request",
    [
        pytest.param("are you a human?", "I want a human", id="human"),
        pytest.param(
            "am I talking to a real person?",
            "can I talk to a real person?",
            id="talking-to",
        ),
        pytest.param(
            "tell me if you are a real person",
            "tell me how to reach a real person",
            id="embedded",
        ),
        pytest.param("is this a bot", "I don't want a bot", id="bot"),
        pytest.param(
            "are you a real person or a bot",
            "are you able to connect me to a real person",
            id="are-you-able",
        ),
    ],
)
def test_a_question_about_the_bot_is_not_a_request(
    question: str, same_words_as_request: str
) -> None:
    """Deliberate: asking what the bot is asks for an answer (the bot's
    `bot_challenge`), not for a person; the same words as a request fire."""
    assert not asks(question)
    assert asks(same_words_as_request)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("are you a bot? I want a human", id="next-sentence"),
        pytest.param("are you a bot, I want a human", id="after-a-comma"),
        pytest.param("you're just a bot, I need a real person", id="statement"),
        pytest.param("I'm not talking to a machine", id="refusal-not-self"),
    ],
)
def test_a_question_about_the_bot_then_a_request_is_a_request(text: str) -> None:
    assert asks(text)


@pytest.mark.parametrize(
    "sales, support",
    [
        pytest.param("talk to sales", "talk to support", id="talk-to"),
        pytest.param(
            "I want to talk to your sales team",
            "I want to talk to your support team",
            id="team",
        ),
        pytest.param(
            "can I speak to someone from sales",
            "can I speak to someone from customer service",
            id="someone-from",
        ),
        pytest.param("connect me to a sales rep", "connect me to a rep", id="rep"),
    ],
)
def test_sales_contacts_are_left_to_the_bot(sales: str, support: str) -> None:
    """Deliberate: a sales (or marketing, press, partnership) contact is a lead
    the bot's own flow handles (Rasa's demo bot has a `contact_sales` form);
    the phrase net fires over any intent, so it must not take it away."""
    assert not asks(sales)
    assert asks(support)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I don't want to talk to a human", id="negated-human"),
        pytest.param("don't transfer me to an agent", id="negated-transfer"),
        pytest.param("I don't need an agent, just tell me the price", id="negated"),
        pytest.param("my travel agent booked it for me", id="someone-elses"),
        pytest.param("talk to my travel agent", id="someone-elses-after-verb"),
        pytest.param("who is the best local real estate agent", id="estate-agent"),
        pytest.param("contact human resources", id="human-resources"),
        pytest.param("can I pay in person", id="in-person"),
        pytest.param("how many people live in London", id="people-count"),
        pytest.param("transfer money to someone", id="transfer-money"),
        pytest.param("transfer $50 to savings", id="transfer-amount"),
        pytest.param("transfer me to savings", id="transfer-me-to-an-account"),
        pytest.param("how do i share where i am, with another person", id="another"),
        pytest.param("call someone for me", id="phone-call"),
        pytest.param("people call me brad", id="people-call-me"),
        pytest.param("I need support with my order", id="support-is-help"),
        pytest.param("your customer service is terrible", id="complaint-service"),
        pytest.param("you sound like a human", id="simile"),
        pytest.param("can you act and think like a real person", id="simile-real"),
        pytest.param("I'm not a robot", id="user-is-not-a-robot"),
        pytest.param("I'm not sure this bot can help", id="not-sure-bot"),
        pytest.param("the bot is not working", id="bot-not-working"),
        pytest.param("I want to switch to a different card", id="card-is-not-care"),
        pytest.param("how long will it take to get a new card", id="take-to-get"),
        pytest.param("I need someone to fix my account", id="need-someone-vague"),
        pytest.param("thanks", id="thanks"),
    ],
)
def test_look_alikes_are_not_requests(text: str) -> None:
    assert not asks(text), find_explicit_request(text)


@pytest.mark.parametrize(
    "text, rule, phrase",
    [
        pytest.param(
            "I don't want to talk to a bot",
            RULE_REFUSES_BOT,
            "n't want to talk to a bot",
            id="refusal",
        ),
        pytest.param(
            "please forward me to your support team",
            RULE_TRANSFER,
            "forward me to your support team",
            id="transfer",
        ),
        pytest.param(
            "I want a real person", RULE_WANT, "want a real person", id="want"
        ),
        pytest.param("a proper human", RULE_NAMED_PERSON, "proper human", id="named"),
        pytest.param("agent!!", RULE_SHORT, "agent", id="short"),
    ],
)
def test_the_match_names_its_rule_and_words(text: str, rule: str, phrase: str) -> None:
    found = find_explicit_request(text)
    assert found is not None
    assert (found.rule, found.phrase) == (rule, phrase)


def test_the_decision_evidence_names_the_rule() -> None:
    decision = check_explicit_request(
        view(turn("put me in touch with customer care", intent="ask_invoice")),
        settings(),
    )
    assert decision is not None
    assert decision.reason == REASON_EXPLICIT_REQUEST
    assert decision.evidence["matched"] == "phrase"
    assert decision.evidence["rule"] == RULE_TRANSFER
    assert decision.evidence["phrase"] == "put me in touch with customer care"


@pytest.mark.parametrize(
    "word, normalised",
    [
        pytest.param("talking", "talk", id="ing"),
        pytest.param("chatting", "chat", id="doubled-consonant"),
        pytest.param("spoke", "speak", id="irregular"),
        pytest.param("humans", "human", id="plural"),
        pytest.param("huamn", "human", id="transposition"),
        pytest.param("represenative", "representative", id="deletion"),
        pytest.param("represntatve", "representative", id="two-typos-long-word"),
        pytest.param("humane", "humane", id="real-word-is-not-a-typo"),
        pytest.param("card", "card", id="not-an-inflection-of-care"),
        pytest.param("u", "you", id="chat-spelling"),
    ],
)
def test_word_forms(word: str, normalised: str) -> None:
    assert normalise_word(word, VOCABULARY, TYPO_TARGETS) == normalised


def test_damerau_distance_counts_a_transposition_as_one_edit() -> None:
    assert damerau_distance("huamn", "human") == 1
    assert damerau_distance("agent", "urgent", limit=1) == 2


@pytest.mark.parametrize(
    "text",
    [
        # a person of the team, named by their role in it
        pytest.param("could one of your staff members ring me", id="staff-member"),
        pytest.param("can I chat with a member of the billing team", id="member-of"),
        pytest.param("I want one of your engineers to check it", id="engineer"),
        # a person who gets in touch, with the team between
        pytest.param("can someone from support email me", id="someone-from-email"),
        pytest.param("could an agent get in touch with me today", id="get-in-touch"),
        pytest.param("can I get a callback from an agent", id="callback-from"),
        # asking who, or whether anyone is there to help
        pytest.param("who can I speak to about my bill?", id="who-can-i"),
        pytest.param("is anyone available to help me", id="anyone-available"),
        pytest.param("are any agents online right now", id="agents-online"),
        pytest.param("get me somebody who can actually help", id="somebody-who"),
        # doing it through a person
        pytest.param("I want this sorted by a human", id="sorted-by-human"),
        pytest.param("i'd prefer to discuss my refund with a person", id="discuss"),
        pytest.param("pass me on to someone in billing", id="pass-on"),
        pytest.param("could you link me with customer relations", id="link-relations"),
        pytest.param("book me a call with your tech team", id="book-a-call"),
        pytest.param("put a real person on the phone", id="on-the-phone"),
        pytest.param("what's the phone number for customer support", id="number-for"),
        # swearing between the article and the person
        pytest.param("give me a bloody human", id="intensifier"),
        # refusing the bot in other words
        pytest.param("robot, go away", id="dismiss-bot"),
        pytest.param("enough with the canned answers", id="canned-answers"),
        pytest.param("nope, I'm not gonna type this to a machine", id="gonna"),
        # a negation behind a comma belongs to the clause before it
        pytest.param(
            "the app still doesn't work, connect me to an agent", id="comma-negation"
        ),
        pytest.param("speek to a human", id="speak-typo"),
    ],
)
def test_indirect_polite_and_team_requests(text: str) -> None:
    assert asks(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("how do I add a family member to my plan", id="family-member"),
        pytest.param("gold member", id="member-on-its-own"),
        pytest.param("is my engineering discount still valid", id="engineering"),
        pytest.param("I already talked to an agent and it's fixed", id="past-talk"),
        pytest.param("I spoke with a person yesterday, all sorted", id="past-spoke"),
        pytest.param("hello, is anybody there?", id="anybody-there"),
        pytest.param("no worries, I'll manage", id="manage-is-no-manager"),
        pytest.param("bot, shut up", id="shut-up-is-no-request"),
        pytest.param("who do I contact about advertising with you", id="advertising"),
    ],
)
def test_new_look_alikes_are_not_requests(text: str) -> None:
    assert not asks(text)
