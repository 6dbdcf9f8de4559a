"""The phrase grammar's word classes: normalised base forms, rule names.

Each class is a tuple of the forms `rasa_handover.word_forms` gives a word
(inflections, chat spelling and one typo in a long word undone), so "talkin",
"spoke" and "speek" all meet `SPEAK_VERBS`. `VOCABULARY` is what the
normaliser may correct a word to; `ANCHORS` are the words every rule needs.
"""

from typing import FrozenSet, Tuple

from rasa_handover.word_forms import vocabulary_of


def words_of(spaced: str) -> Tuple[str, ...]:
    """The words of a space-separated string, as a tuple."""
    return tuple(spaced.split())


# --- word classes (normalised base forms) -------------------------------------
# Words for "a person who works for you".
PERSON_WORDS = words_of(
    "human person agent representative rep operator staff employee "
    "supervisor manager advisor adviser consultant specialist technician "
    "associate colleague superior member engineer expert"
)
# Person words that need a verb or a team around them: "member" alone is no
# request ("gold member?"), "a member of your team" is.
NOT_ON_THEIR_OWN = words_of("member engineer expert")
# Vaguer words: a request only with a verb of talking ("can I talk to
# someone"), not with a verb of wanting ("I need someone to fix it").
VAGUE_PERSON_WORDS = words_of("someone somebody anyone anybody")
# Heads of a support team: "customer service", "your support team", "help desk".
TEAM_WORDS = words_of("service support care team department desk helpdesk relations")
# Words that make a team head a team of people when it is not after a verb of
# contact: "customer service", "human support", "support team".
TEAM_QUALIFIERS = words_of(
    "customer human live tech technical support help call service client"
)
# The bot, refused: "I don't want to talk to a bot".
BOT_WORDS = words_of(
    "bot robot chatbot machine computer ai automaton algorithm program script recording"
)
# Verbs of speaking: they need "to"/"with" before the person.
SPEAK_VERBS = words_of("talk speak chat converse communicate word discuss deal")
# Verbs of transferring: only a few object words may stand between the verb and
# "to"/"with"/"through" ("put me through to", "escalate this to", "hook me up
# with"), so that "transfer money to someone" is not a request.
TRANSFER_VERBS = words_of(
    "connect transfer forward pass put redirect route send hand switch "
    "escalate patch hook take bring direct refer get move link"
)
TRANSFER_OBJECTS = words_of(
    "me us my this that it the chat call conversation case ticket issue "
    "request question complaint back over up directly straight right now "
    "please just immediately in touch on along"
)
TRANSFER_PREPOSITIONS: Tuple[str, ...] = ("to", "with", "through", "onto", "towards")
# Verbs of reaching: the person may follow directly ("contact customer
# service", "get hold of a human", "in touch with someone").
REACH_VERBS = words_of("reach contact touch")
# Verbs of phoning: only with a person or a team, and only articles and
# adjectives between ("call an agent"; not "call someone", "call an uber for 2
# people").
PHONE_VERBS = words_of("call ring phone")
# Words that ask for something to be done, before "someone call me back".
ASKING_WORDS = words_of("can could will would have get please need want may let")
# Verbs of wanting: only articles and adjectives may stand between them and the
# person ("I want a real person"), so "I want to change the person on my
# account" does not fire.
WANT_VERBS = words_of(
    "want need get give request prefer like demand require ask see find bring"
)
WANT_FILLERS = words_of(
    "a an the real live actual human me us your some proper genuine for one "
    "of customer service damn freaking fucking bloody effing frigging goddamn"
)
# Adjectives that make a person "real": "a proper human", "an actual person".
REAL_WORDS: Tuple[str, ...] = (
    "real",
    "actual",
    "proper",
    "genuine",
    "live",
    "living",
    "irl",
)
# Verbs a wanted person does for the user: "can someone call me back".
PERSON_DOES: Tuple[str, ...] = ("call", "contact", "ring", "phone", "email", "text")
PERSON_HELPS = words_of("help assist handle answer look review check take")
PERSON_HELPS_WHOM = words_of("me us at into this my over it")
# "a colleague of yours could look into it", "would a staff member be able to
# take over".
PERSON_HELPS_GAP = words_of("please just of yours could can will would to be able")
# Between a person and what they do for the user: "a member of your support
# team contact me", "someone from your company call me".
PERSON_DOES_GAP = words_of(
    "please just of from at in on your the our you support company team staff "
    "customer service tech technical to member"
)
HELP_NOUNS: Tuple[str, ...] = (
    "help",
    "assistance",
    "support",
    "answer",
    "reply",
    "callback",
)
# Where a person is asked to be: "is somebody available", "are there any
# humans working today", "any humans in the building?".
PRESENT_WORDS = words_of("available around online free work")
# Dismissing the bot: "bot, step aside", "robot go away".
DISMISS_VERBS = words_of("step go move stand back")
DISMISS_PARTICLES = words_of("aside away up down off")
# What an automated answer is called: "no more automated replies".
AUTOMATED_WORDS = words_of("automated canned scripted robotic generic")
REPLY_WORDS = words_of("reply response answer message")
# Verbs of booking a talk: "can I book a call with your support team".
BOOK_VERBS = words_of("book schedule arrange set request")
TALK_NOUNS = words_of("call meeting appointment session chat")
# Past tense of a verb of speaking tells what happened, not what is wanted:
# "I already spoke with a person".
PAST_SPEAKING = words_of("spoke spoken talked chatted discussed dealt")
# Asking how to reach a team: "the number for customer service".
CONTACT_NOUNS = words_of("number hotline phone email")
CONTACT_PERSONS = words_of("agent human representative rep operator")
# Refusing the bot: a negation, then only these words, then a bot word.
NEGATIONS: Tuple[str, ...] = ("not", "never", "no", "without")
REFUSAL_GAP = words_of(
    "want need like wish to talk speak chat with a an the this your some "
    "stupid dumb automated more another deal any interested in be do just "
    "damn freaking fucking go going gonna explain it type write all"
)
REFUSAL_VERBS = words_of(
    "stop skip bypass quit enough done tired sick fed hate avoid escape ditch exit end "
    "out"
)
REFUSAL_VERB_GAP = words_of(
    "of with this the your a talk to chat speak deal stupid dumb useless "
    "automated damn up freaking fucking these"
)
# Business functions other than support: "talk to sales" is not a handover (a
# documented choice: bots usually run their own flow for these).
NON_SUPPORT_FUNCTIONS = words_of(
    "sales salesperson salesman marketing press media partnership partner "
    "recruiter recruiting hr career investor resource advertising advertise "
    "advertiser sponsorship sponsor affiliate supplier vendor journalist"
)
# Words after a person word that make it someone else: "human resources",
# "human rights", "agent orange", "person of interest".
NOT_US_AFTER = words_of(
    "resource right error body nature race trafficking history anatomy "
    "interest string orange smith"
)
# Possessives close before a person word make it someone else's ("talk to my
# travel agent").
POSSESSIVES = words_of("my his her their our")
# ... unless the person is one of ours: "my account manager", "my usual agent".
OUR_ROLES = words_of("account relationship personal dedicated usual regular assigned")
# Words before a person word that make it someone else: "my travel agent",
# "user agent", "in person", "per person", "first person".
NOT_US_BEFORE = words_of(
    "my his her their our travel estate insurance user secret free in per "
    "first third missing smooth every average other another each family public"
)
# Openings that ask about the bot ("are you a human?", "am I talking
# to a real person?"): in normalised forms ("are" -> "be").
IDENTITY_OPENINGS: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(opening.split("_"))
    # the last three ask about someone else: "he is an awful human being"
    for opening in words_of("be_you you_be be_this be_that be_it be_i be_we have_i_be")
    + words_of("you_a he_be she_be they_be")
)
# Words that make a statement-order opening a question: "tell me if you're".
EMBEDDING_WORDS = words_of(
    "if whether know sure wonder tell could can would will might"
)
# Words after a comma that start a new request, ending an identity question.
RESTART_WORDS = words_of(
    "i let get give put connect transfer please just so then can could i'd"
)
# What may follow an identity opening for it to ask about the bot.
IDENTITY_FOLLOWERS = words_of(
    "a an the real actual really actually even still just live currently "
    "now human person bot robot machine ai computer talk speak chat text "
    "message automated or true"
)
# "I'm not a robot" (3 words from the negation) describes the user; "I'm not
# talking to a machine" refuses the bot.
SELF_DESCRIPTION_WORDS = 3
# How many words after an identity question's opening still belong to it.
IDENTITY_REACH = 10
# "I'd like": "like" is a verb of wanting only after these.
WOULD = words_of("would d 'd i we")
# Clause boundaries.
CLAUSE_ENDS: Tuple[str, ...] = (".", "?", "!", ";", "\n")
# Modal verbs whose "n't" asks rather than negates: "why can't I talk to a human".
ASKING_MODALS: Tuple[str, ...] = ("can", "could", "will", "would", "why", "wo")
# How far back from a match's first word a negation cancels it.
NEGATION_REACH = 3
# A message this short that names a person ("agent", "human pls") is a request.
SHORT_MESSAGE_WORDS = 3
# Longer messages are a request when every other word is one of these
# ("hello? human please now").
SHORT_MESSAGE_FILLERS = words_of(
    "please now asap just a an the human real live actual hello hi hey ok "
    "okay i want need me get give can you be there any some one customer "
    "service support talk speak yes right immediately here around available "
    "online"
)
SHORT_MESSAGE_MAX_WORDS = 6

RULE_SPEAK = "speak_to_person"
RULE_TRANSFER = "transfer_to_person"
# "transfer me", "escalate this please": the whole clause is the request.
RULE_TRANSFER_BARE = "transfer_me"
BARE_TRANSFER_VERBS = words_of("transfer connect escalate forward")
RULE_REACH = "reach_person"
RULE_WANT = "want_person"
RULE_PERSON_TO_TALK_TO = "person_to_talk_to"
RULE_REFUSES_BOT = "refuses_bot"
RULE_NAMED_PERSON = "names_a_person"
RULE_SHORT = "short_message"
# Rules that ask for someone to do something (identity questions keep them:
# "are you able to connect me to a human?").
ACTION_RULES = frozenset(
    {RULE_TRANSFER, RULE_TRANSFER_BARE, RULE_REACH, RULE_REFUSES_BOT}
)

TARGETS = PERSON_WORDS + VAGUE_PERSON_WORDS + TEAM_WORDS
VOCABULARY: FrozenSet[str] = vocabulary_of(
    TARGETS,
    BOT_WORDS,
    SPEAK_VERBS,
    TRANSFER_VERBS,
    REACH_VERBS,
    PHONE_VERBS,
    WANT_VERBS,
    PERSON_DOES,
    PERSON_HELPS,
    HELP_NOUNS,
    REFUSAL_VERBS,
    NON_SUPPORT_FUNCTIONS,
    NOT_US_AFTER,
    PRESENT_WORDS,
    DISMISS_VERBS,
    REPLY_WORDS,
    BOOK_VERBS,
    TALK_NOUNS,
    CONTACT_NOUNS,
    ("know", "understand", "deal", "sort", "resolve", "solve"),
    ("customer", "please", "wish", "have", "be", "do", "being"),
)
# Long grammar words that one typo may be corrected to.
TYPO_TARGETS: FrozenSet[str] = frozenset(
    {
        "human",
        "person",
        "agent",
        "representative",
        "operator",
        "someone",
        "somebody",
        "anyone",
        "customer",
        "service",
        "support",
        "connect",
        "transfer",
        "supervisor",
        "employee",
        "manager",
        "advisor",
        "consultant",
        "specialist",
        "talk",
        "speak",
    }
)


# Every rule needs one of these words.
ANCHORS = frozenset(
    TARGETS
    + BOT_WORDS
    + REAL_WORDS
    + BARE_TRANSFER_VERBS
    + AUTOMATED_WORDS
    + ("flesh", "warm", "who")
)
