"""The word classes of the `complaint` signal (``complaint``), each with its reason.

Words are matched on spaCy's NORM after chat spelling ("u" -> "you", "ur" ->
"your", "no1" -> "nobody"), so "n't", "nt" and "not" are one word ("not") and
"can't" is "can" "not". Inflections are listed where the tense matters: a
complaint is about what has happened ("waited", "you charged me"), a calm
question about what might ("do I need to wait", "can you charge it").
"""

from typing import Dict, FrozenSet

# fmt: off
# Chat spellings of the words below (this package imports nothing outside
# signals/ but nlp and constants, so these are its own).
COMPLAINT_SPELLING: Dict[str, str] = {
    "u": "you", "ya": "you", "ur": "your", "im": "i", "ive": "i", "dont": "do",
    "no1": "nobody", "noone": "nobody", "nobodys": "nobody", "nobody's": "nobody",
    "ppl": "people", "yrs": "years", "yr": "year", "hrs": "hours", "hr": "hour",
    "mins": "minutes", "min": "minute", "wks": "weeks", "wk": "week",
    "tho": "though", "y'all": "you", "yall": "you",
}

# --- waited: time waited, a duration, a promise not kept ----------------------
# Waiting that has happened (not "do I need to wait", "happy to wait").
WAITED: FrozenSet[str] = frozenset({
    "waited", "waiting", "queued", "queuing", "queueing"
})
# "on hold for 45 minutes", "without internet for a week", "in the queue for".
WAITING_STATES: FrozenSet[str] = frozenset({"hold", "without", "queue"})
TIME_UNITS: FrozenSet[str] = frozenset(
    {
        "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks",
        "month", "months", "year", "years", "fortnight", "weekend", "weekends",
    }
)
# Durations with no number: "waiting forever", "for ages".
BARE_DURATIONS: FrozenSet[str] = frozenset({"forever", "ages", "eternity"})
# A number word or "a"/"an"/"whole"/"over" before a time unit.
COUNT_WORDS: FrozenSet[str] = frozenset(
    {
        "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight",
        "nine", "ten", "eleven", "twelve", "several", "few", "couple", "whole",
        "entire", "many", "multiple",
    }
)
# After a duration: the time is still running ("3 days and counting", "a week
# now", "12 days later").
DURATION_RUNNING: FrozenSet[str] = frozenset({"now", "later", "counting"})
# A promise that was not kept: "was supposed to come", "you promised a callback".
# ("am I supposed to ...?" is a question, so a bare "i" is not among them.)
BROKEN_PROMISE_SUBJECTS: FrozenSet[str] = frozenset(
    {"was", "were", "you", "they", "he", "she", "it", "m", "'m"}
)
# Going to another company: "switching to another provider", "going with a
# competitor" (not "transfer my number to another network").
MOVE_VERBS: FrozenSet[str] = frozenset(
{
        "switch", "switching", "switched", "move", "moving", "go", "going", "join",
        "joining", "leave", "leaving", "use", "using", "try", "trying"
    }
)
# The n-th contact: "the third time", "my fifth email", "second call today".
CONTACT_COUNTS: FrozenSet[str] = frozenset(
{
        "time", "email", "emails", "call", "calls", "message", "ticket", "chat",
        "attempt", "letter", "complaint"
    }
)

# --- repeated: again, still, the n-th time ------------------------------------
ORDINALS: FrozenSet[str] = frozenset(
    {
        "second", "third", "fourth", "fifth", "sixth", "seventh", "tenth",
        "hundredth", "umpteenth", "nth", "millionth", "2nd", "3rd", "4th", "5th",
        "6th", "7th", "10th",
    }
)
# What a customer says they have already done: "I already told you".
ALREADY_DONE: FrozenSet[str] = frozenset(
    {"told", "said", "explained", "asked", "done", "tried"}
)
# Words that say something failed or is missing, in the same clause as
# "still" / "again" / "every time": "still not working", "it crashed again".
FAILURE_WORDS: FrozenSet[str] = frozenset(
    {
        "not", "no", "nothing", "never", "nobody", "broken", "broke", "wrong",
        "crashed", "crashes", "crashing", "failed", "fails", "failing", "missed",
        "missing", "lost", "stuck", "frozen", "useless", "error", "errors",
        "happened", "happening", "charged", "overcharged", "cut", "dropped",
        "drops", "disconnected", "worse", "mistake",
    }
)
# Repetition, when a failure word shares the clause: "the wifi drops out
# constantly" (not "constantly being grabbed").
REPETITION_ADVERBS: FrozenSet[str] = frozenset(
    {"constantly", "continually", "repeatedly", "endlessly"}
)
# The subject of "keep(s) + -ing" when the customer is on the receiving end:
# "you keep sending me the same link", "I keep getting charged" (but "the video
# keeps buffering" is a problem report).
KEEP_VERBS: FrozenSet[str] = frozenset({"keep", "keeps", "kept"})
KEEP_PASSIVE: FrozenSet[str] = frozenset({"getting", "being", "having", "receiving"})

# --- unanswered: nobody replies, nobody helps ---------------------------------
NOBODY: FrozenSet[str] = frozenset({"nobody", "noone"})
# What nobody does: "nobody has replied", "no one ever gets back to me".
SERVICE_VERBS: FrozenSet[str] = frozenset(
    {
        "reply", "replies", "replied", "respond", "responds", "responded",
        "answer", "answers", "answered", "get", "gets", "got", "call", "calls",
        "called", "help", "helps", "helped", "told", "tell", "tells", "know",
        "knows", "seem", "seems", "care", "cares", "listen", "listens",
        "listened", "fix", "fixes", "fixed", "read", "reads", "contact",
        "contacted", "refund", "explain", "explained", "bother", "bothered",
        "come", "came", "turned", "showed",
    }
)
# "no response to my complaint", "still no reply".
MISSING_REPLIES: FrozenSet[str] = frozenset(
{
        "response", "reply", "replies", "answer", "answers", "callback",
        "acknowledgement", "acknowledgment"
    }
)
# "you're not listening", "that doesn't answer my question", "you are not helping".
NOT_HELPING: FrozenSet[str] = frozenset(
    {"listening", "helping", "help", "helpful", "answer", "answering"}
)
# "it never happened", "the engineer never turned up", "never heard back".
NEVER_DONE: FrozenSet[str] = frozenset(
{
        "happened", "arrived", "came", "called", "replied", "turned", "showed",
        "answered", "responded", "bothered"
    }
)
# Being passed around or shut out: "closed the chat on me", "cut me off".
SHUT_OUT: FrozenSet[str] = frozenset(
    {"ignored", "ignoring", "ignores", "runaround"}
)

# --- leaving: threats to leave, authorities, refunds demanded -----------------
# The customer's own decision, said as done or about to be: "I'm cancelling",
# "I will be leaving" (not "I'd like to cancel", "how do I cancel").
FIRST_PERSON_DECIDED: FrozenSet[str] = frozenset({
    "am", "'m", "m", "will", "'ll", "ll", "going", "gonna"
})
LEAVE_VERBS: FrozenSet[str] = frozenset(
    {
        "cancel", "cancelling", "canceling", "leave", "leaving", "dispute",
        "disputing", "complain", "complaining", "escalate", "escalating", "sue",
        "suing",
    }
)
# Where a leaving customer goes: "switching to a competitor", "another provider".
ELSEWHERE: FrozenSet[str] = frozenset({"competitor", "competitors", "elsewhere"})
OTHER_COMPANY: FrozenSet[str] = frozenset(
{
        "provider", "bank", "company", "network", "supplier", "carrier", "airline",
        "retailer", "store", "shop", "service"
    }
)
# Who an angry customer reports to.
AUTHORITIES: FrozenSet[str] = frozenset(
    {
        "ombudsman", "regulator", "chargeback", "trustpilot", "ofcom", "ofgem",
        "fca", "bbb",
    }
)
# A legal adviser of the customer's own: "my lawyer" (not "a divorce lawyer").
LEGAL_ADVISERS: FrozenSet[str] = frozenset({
    "lawyer", "lawyers", "solicitor", "solicitors", "attorney"
})
# Two-word authorities and complaints: "trading standards", "formal complaint".
AUTHORITY_PAIRS: FrozenSet[str] = frozenset(
    {
        "trading standards", "consumer protection", "small claims", "formal complaint",
        "official complaint", "star review", "bad review", "legal action",
    }
)
# Demands for money: "I want my money back", "refund me" (not "could I have").
DEMAND_VERBS: FrozenSet[str] = frozenset({
    "want", "demand", "expect", "give", "deserve"
})
# "I'm done with you", "I've had enough", "you've lost a customer".
DONE_WITH: FrozenSet[str] = frozenset({"done", "finished", "through"})

# --- blame: "you did this to me" ----------------------------------------------
SECOND_PERSON: FrozenSet[str] = frozenset({"you", "your", "yours"})
# What the company did, in the past tense: "you charged me twice", "your update
# deleted my playlists" (not "can you cancel my order").
FAULT_VERBS: FrozenSet[str] = frozenset(
    {
        "charged", "overcharged", "billed", "lost", "broke", "deleted", "cancelled",
        "canceled", "blocked", "froze", "renewed", "took", "messed", "ruined",
        "damaged", "ignored", "forgot", "missed", "wiped", "removed", "debited",
    }
)
# What the company's thing is: "your app is broken", "ur service is rubbish".
FAULT_STATES: FrozenSet[str] = frozenset(
    {
        "broken", "broke", "useless", "rubbish", "garbage", "trash", "terrible",
        "awful", "joke", "mess", "shambles", "unusable", "pathetic", "worthless",
        "appalling", "shocking", "disgraceful", "incompetent", "worse", "worst",
    }
)
# What "this" must be for "this ... is a joke" to be about the service.
SERVICE_NOUNS: FrozenSet[str] = frozenset(
{
        "app", "service", "website", "site", "company", "system", "bot", "chat",
        "process", "product", "support", "provider", "bank", "network", "delivery",
        "thing"
    }
)
# Done without the customer's say: "without asking", "without telling me".
WITHOUT_CONSENT: FrozenSet[str] = frozenset(
{
        "asking", "telling", "permission", "consent", "warning", "notice", "notifying",
        "informing"
    }
)
# "a plan I never signed up for", "a month I didn't use".
NEVER_AGREED: FrozenSet[str] = frozenset(
{
        "signed", "sign", "ordered", "order", "authorised", "authorized", "authorise",
        "authorize", "agreed", "agree"
    }
)

# --- giving up and pushing back -----------------------------------------------
# "I give up", "forget it", "what's the point", "I'm getting nowhere".
GIVE_UP_PAIRS: FrozenSet[str] = frozenset(
    {"give up", "forget it", "wits end", "wit 's", "nothing works", "nothing helps"}
)
# "stop sending me to the FAQ", "stop telling me to restart it".
STOP_DOING: FrozenSet[str] = frozenset(
{
        "sending", "telling", "asking", "giving", "saying", "redirecting", "pointing",
        "linking", "copying", "pasting"
    }
)
# "a straight answer", "not a script", "another apology".
SCRIPTED: FrozenSet[str] = frozenset({
    "script", "scripted", "apology", "apologies", "straight"
})
# fmt: on
