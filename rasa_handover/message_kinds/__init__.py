"""What kind of message a user turn is, beyond its intent: six small rules.

- `is_content_free(text)` (`content_free`): acknowledgements, thanks,
  greetings, goodbyes, emoji-only and one-word "ok"-style turns ("great", "👍",
  "thanks so much, have a lovely day"). They carry no request the bot could get
  wrong, so low NLU confidence on them is not a failure.
- `withdrawal_kind(text)` / `withdraws_request(text)` (`withdrawals`): a turn
  that reports success ("updating the app fixed it, cheers"), says never mind
  ("it was only $5, never mind") or takes the request back ("actually I don't
  want the updates"). It is not a repeat of the question it mentions, even when
  NLU gives it the same intent. `ends_request(text)` (`remarks`) is the same,
  unless a success report or never-mind asks something new ("forget it, I
  want a refund").
- `is_remark(text)` (`remarks`): the customer is done with the bot's last
  answer ("ahh ok, will try that", "thanks, standard it is"): content-free, a
  withdrawal, or an acknowledgement with a short settled remark. Not unclear,
  whatever NLU's confidence. `is_follow_up(text)` (same module): "and can I
  also ...?" asks a further question, not the same one again.
- `names_topic_only(text)` (`topic_openers`): "it's about my login", "quick
  question about billing": the topic named, nothing asked yet. The question
  comes next, so the opener is no ask of the repeat loop.
- `no_words_kind(text)` (`no_words`): punctuation alone or a keyboard mash
  ("???", "asdfghjk"): no word in any language, so unclear whatever NLU says.
- `other_language(text, bot_languages)` (`other_language`): a message clearly
  written in a language the bot does not speak, by function words; unclear
  whatever NLU says.

All are pure functions of the text; all but `no_words` and `other_language`
read spaCy tokens (the
shared blank English pipeline), `rasa_handover.word_forms` and VADER's lexicon.
They import nothing from Rasa or Sanic. docs/explicit-request.md documents
them with the phrase grammar.
"""

from rasa_handover.message_kinds.content_free import (
    CONTENT_FREE_ANCHORS,
    CONTENT_FREE_MAX_WORDS,
    CONTENT_FREE_PHRASES,
    CONTENT_FREE_WORDS,
    EMOJI,
    EMOTICON,
    is_content_free,
)
from rasa_handover.message_kinds.no_words import (
    NO_WORDS_KEYBOARD_MASH,
    NO_WORDS_PUNCTUATION,
    has_no_words,
    no_words_kind,
)
from rasa_handover.message_kinds.other_language import other_language
from rasa_handover.message_kinds.remarks import ends_request, is_follow_up, is_remark
from rasa_handover.message_kinds.topic_openers import names_topic_only
from rasa_handover.message_kinds.withdrawals import (
    WITHDRAWAL_NEVER_MIND,
    WITHDRAWAL_SUCCESS,
    WITHDRAWAL_TAKEN_BACK,
    withdrawal_kind,
    withdraws_request,
)

__all__ = [
    "CONTENT_FREE_ANCHORS",
    "CONTENT_FREE_MAX_WORDS",
    "CONTENT_FREE_PHRASES",
    "CONTENT_FREE_WORDS",
    "EMOJI",
    "EMOTICON",
    "NO_WORDS_KEYBOARD_MASH",
    "NO_WORDS_PUNCTUATION",
    "WITHDRAWAL_NEVER_MIND",
    "WITHDRAWAL_SUCCESS",
    "WITHDRAWAL_TAKEN_BACK",
    "ends_request",
    "has_no_words",
    "is_content_free",
    "is_follow_up",
    "is_remark",
    "names_topic_only",
    "no_words_kind",
    "other_language",
    "withdrawal_kind",
    "withdraws_request",
]
