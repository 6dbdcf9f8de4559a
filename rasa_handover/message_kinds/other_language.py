"""Messages written in a language the bot does not speak.

`other_language(text, bot_languages)` returns the ISO 639-1 code of the
language a message is written in when it is clearly not one of the bot's, or
`None`. An intent classifier trained in English still puts a Spanish question
on some English intent, often confidently ("¿cuánto cuesta el plan premium al
mes?" as `upgrade_plan` at 0.94 on the example bot), and the bot would answer
something else, in English. Such a turn is unclear whatever NLU says; the
handover's payload then carries the detected language, so the inbox can route
it to an agent who speaks it.

The rule reads function words (`rasa_handover.languages.FUNCTION_WORDS`), not
the bot's vocabulary, and errs towards "not foreign":

- the message has at least `MIN_LETTERS` letters ("hola" alone says little);
- at least `MIN_FUNCTION_WORDS` of its words are function words of one other
  language and of none of the bot's (the language with the most);
- not one of its words is a function word of the bot's languages only (a
  mixed "hola, I need help" is the bot's language). Words both use ("no",
  "me", "a") count for neither.

It is off (always `None`) when the bot's languages are unknown, or when one of
them has no function-word list here (a Japanese bot: the rule cannot tell what
is foreign to it). Measured on 82,540 English texts (CLINC150, Banking77,
GoEmotions train and dev, the example bot's NLU and the labelled support
sets, every turn): none is read as another language with `bot_languages=("en",)`
(docs/policy.md, "Messages in another language"). A pure function of the text.
"""

from typing import Collection, Dict, Optional

from rasa_handover.languages import FUNCTION_WORDS, words_of

# Below this many letters a message is too short to tell ("hola", "merci").
MIN_LETTERS = 10
# Function words of the other language needed: one can be a loan word or a
# name ("la", "de"), two in a message with none of the bot's rarely are.
MIN_FUNCTION_WORDS = 2


def other_language(text: str, bot_languages: Collection[str]) -> Optional[str]:
    """The language `text` is clearly written in, when it is not the bot's.

    Args:
        text: One user message.
        bot_languages: ISO 639-1 codes of the languages the bot speaks.

    Returns:
        The other language's code, or `None` (the bot's language, mixed, too
        short, undecided, or the rule is off for these bot languages).

    """
    if not bot_languages or any(code not in FUNCTION_WORDS for code in bot_languages):
        return None
    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        return None
    words = words_of(text)
    own = frozenset().union(*(FUNCTION_WORDS[code] for code in bot_languages))
    found: Dict[str, int] = {}
    for code, function_words in FUNCTION_WORDS.items():
        if code in bot_languages:
            continue
        # Words both languages use ("no", "me", "a") tell neither.
        if any(word in own and word not in function_words for word in words):
            continue
        found[code] = sum(
            1 for word in words if word in function_words and word not in own
        )
    best = max(found, key=lambda code: found[code], default=None)
    if best is None or found[best] < MIN_FUNCTION_WORDS:
        return None
    return best
