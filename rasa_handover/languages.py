"""Function words of the languages the plugin tells apart, and how to read words.

One table for every reader of a customer's language: the payload's stop-word
detector (`payload.language`: which language to route the ticket in) and the
policy's `message_kinds.other_language` (a message the bot's NLU cannot have
understood). It imports nothing of the package but `constants`.
"""

import re
from collections import Counter
from typing import (
    Any,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from rasa_handover.constants import APOSTROPHES

__all__ = [
    "FUNCTION_WORDS",
    "STOPWORD_MIN_HITS",
    "guess_by_function_words",
    "languages_written_in",
    "response_texts",
    "words_of",
]

# A guess needs at least this many function words.
STOPWORD_MIN_HITS = 2
# A language the bot writes at least this many responses in is one of its
# languages. One: a misread response only makes the other-language rule miss
# a language, while a language of the bot left out would make every message
# in it unclear.
MIN_RESPONSES = 1

# A word: letters, with one inner apostrophe ("don't", "c'est").
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def words_of(text: str) -> List[str]:
    """The lower-cased words of `text`, apostrophes normalised."""
    return _WORD_RE.findall(text.lower().translate(APOSTROPHES))


def _words(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


# Frequent function words: they make up a large share of any sentence and
# differ between these languages. Words shared by several languages ("de",
# "no") count for each, weighted down by how many share them.
# fmt: off
FUNCTION_WORDS: Mapping[str, FrozenSet[str]] = {
    "en": _words("""
        the and is are was were my you your it its to of for with have has not
        this that what can please want need how why i i'm don't me be been will
        would could do does did an at on from but if or there they their we our
        any just hi hello thanks thank yes no a as in so by up out all about
        than then he she him her his them us got get like am im u ur r"""),
    "de": _words("""
        der die das und ist nicht ich mein meine sie wir ein eine einen mit für
        auf bitte habe hat warum wie was kann möchte noch schon aber auch zu den
        dem des bei sind wurde keine mir mich ja nein hallo danke sehr oder wenn
        wo mein bestellung geld ihr ihre uns dich mich dir sich jemand etwas
        nichts kein nur jetzt hier dass weil"""),
    "es": _words("""
        el la los las y es no que de por para con mi mis una un está estoy quiero
        necesito pero como qué gracias hola favor sí también muy del al se lo su
        yo tengo puedo dónde cuándo me te le les nos hay quien alguien algo
        nada esto eso este esta ese esa sin sobre cuando donde porque más ya
        puede pueden pueda ser hacer"""),
    "fr": _words("""
        le la les et est je ne pas un une des du mon ma mes pour avec que qui
        vous nous bonjour merci veux voudrais c'est j'ai mais très sur dans au
        aux il elle oui non ce cette est-ce quelqu'un rien tout sans chez mais
        parce quand où peut peux suis"""),
    "it": _words("""
        il lo la gli le e è non che di un una per con mio mia sono ho voglio
        vorrei grazie ciao buongiorno perché come ma anche del della nel questo
        sì no mi ti è"""),
    "nl": _words("""
        de het een en is niet ik mijn je jij u wij met voor op van dat wat
        waarom hoe graag bedankt hallo wil kan maar ook geen heb heeft zijn er
        naar bij ja nee dank alstublieft"""),
    "pt": _words("""
        o a os as e é não que de um uma para com meu minha eu você obrigado
        obrigada olá quero preciso mas também está estou do da dos das no na
        por favor sim tenho posso onde"""),
}
# fmt: on


def guess_by_function_words(
    text: str, languages: Sequence[str]
) -> Tuple[Optional[str], float]:
    """The language among `languages` whose function words `text` uses most.

    A word several of them share ("de", "no") counts for each, divided by how
    many share it.

    Returns:
        The code and its share of the function words found (0-1), or `None`
        when fewer than `STOPWORD_MIN_HITS` were found or two languages tie.

    """
    candidates = [code for code in languages if code in FUNCTION_WORDS]
    scores = dict.fromkeys(candidates, 0.0)
    hits = 0
    for word in words_of(text):
        owners = [code for code in candidates if word in FUNCTION_WORDS[code]]
        if owners:
            hits += 1
            for code in owners:
                scores[code] += 1.0 / len(owners)
    if hits < STOPWORD_MIN_HITS or not scores:
        return None, 0.0
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    total = sum(scores.values())
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, ranked[0][1] / total
    return ranked[0][0], ranked[0][1] / total


def languages_written_in(texts: Iterable[str]) -> Tuple[str, ...]:
    """The languages a bot's responses are written in, most used first.

    Each text is guessed on its own; a language counts when at least
    `MIN_RESPONSES` texts are in it (a French bot that kept the plugin's
    English responses speaks both).

    Returns:
        ISO 639-1 codes; empty when too few texts could be guessed.

    """
    counts: Counter = Counter()
    for text in texts:
        code, _ = guess_by_function_words(text, tuple(FUNCTION_WORDS))
        if code is not None:
            counts[code] += 1
    return tuple(code for code, count in counts.most_common() if count >= MIN_RESPONSES)


def response_texts(responses: Mapping[str, Any]) -> Iterator[str]:
    """The texts of every variation of a domain's `responses` section."""
    for variations in responses.values():
        for variation in variations or ():
            text = variation.get("text") if isinstance(variation, Mapping) else None
            if isinstance(text, str):
                yield text
