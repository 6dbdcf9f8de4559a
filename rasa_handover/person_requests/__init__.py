"""Requests for a person in a message, found by a phrase grammar.

The safety net of the `explicit_request` trigger for when NLU misses the
request: a small phrase grammar over
normalised words (`rasa_handover.word_forms`: inflections, chat spelling, one
typo in a long word) finds requests for a person. docs/explicit-request.md
explains it with its figures; in short, a request is

- a verb of speaking, reaching or transferring with a person or a support team
  as its object: "let me speak with an actual human", "put me in touch with
  customer care", "forward me to your support team", "how do I reach a rep";
- a verb of wanting with a person: "I want a real person", "get me an agent";
- a person who is wanted for talking: "is there a human I can talk to",
  "can someone call me back", "can a real person help me";
- a refusal of the bot: "I don't want to talk to a bot", "stop the bot",
  "I'm done with this machine", "no more robots";
- a phrase that names a person on its own: "a proper human", "real person",
  "human agent", "customer service rep", or a short message that is little more
  than a person ("agent", "human pls", "customer service!").

It stays quiet on questions about the bot ("are you a human?", "am I talking to
a real person?"), on negated requests ("I don't need an agent"), on people who
are not us ("my travel agent", "human resources", "pay in person") and, by a
documented choice, on sales and other non-support contacts ("talk to sales",
"someone from your marketing team"): bots usually handle those with their own
flow (Rasa's own demo bot has a `contact_sales` form).

The package, in reading order: `words` (the word classes and rule names),
`patterns` (the spaCy `Matcher` rules over them), `context` (what around a
match undoes it: negation, questions about the bot, people who are not us) and
`scan` (one message through both).
"""

from rasa_handover.person_requests.scan import (
    RequestMatch,
    declines_a_person,
    find_explicit_request,
    match_explicit_request,
)

__all__ = [
    "RequestMatch",
    "declines_a_person",
    "find_explicit_request",
    "match_explicit_request",
]
