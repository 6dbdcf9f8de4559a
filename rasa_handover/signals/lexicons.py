"""Thresholds and word lists of the rule signals, each with its reason.

Phrase lists that users extend (exasperation, corrections, bitter praise) are
text files in ``rasa_handover/data``; the lists here are the ones that explain
an exception (acronyms, profanity exclusions) and so read best next to why.
"""

from typing import FrozenSet, Tuple

from rasa_handover.signals.common import DATA_DIR

EXASPERATION_PHRASES_FILE = DATA_DIR / "exasperation_phrases.txt"
CORRECTION_PHRASES_FILE = DATA_DIR / "correction_phrases.txt"

# A one-letter capital ("I", "A") is ordinary writing, not shouting.
SHOUTING_MIN_WORD_LENGTH = 2
# One capitalised word is emphasis ("I need it NOW please"); two that make up
# at least half of the message are a raised voice ("STOP IT").
SHOUTING_MIN_WORDS = 2
SHOUTING_MIN_SHARE = 0.5
# Three shouted words are shouting even inside a longer, calmer message.
SHOUTING_WORDS_ALWAYS = 3
# Upper-case words that are normally written that way and so are not shouting
# on their own (they still count inside a shout, see `_shouting`).
# fmt: off
SHOUTING_ACRONYMS: FrozenSet[str] = frozenset(
    {
        # Support and account vocabulary.
        "OK", "ID", "PIN", "PUK", "OTP", "MFA", "SSO", "2FA", "FAQ", "URL", "PDF",
        "CSV", "SMS", "MMS", "VPN", "API", "IT", "TV", "PC", "ATM", "IBAN", "BIC",
        "SWIFT", "SEPA", "ACH", "APR", "VAT", "GDPR", "SKU", "ETA", "ASAP", "DM",
        "FYI", "IOS", "CEO", "CFO", "CTO", "HR", "PR", "QA", "IMEI", "SIM", "USB",
        "GPS", "DVD", "CD", "LED", "LCD", "HD", "HDMI", "WIFI", "IP", "DNS", "ISP",
        "SSL", "HTTP", "HTTPS", "WWW", "HTML", "JSON", "XML", "SQL", "JPG", "JPEG",
        "PNG", "GIF", "ZIP", "APK", "OS", "MAC", "AI", "UI", "UX", "CRM", "ERP",
        "SSN", "DOB", "EIN", "IRA", "NHS", "IRS", "HMRC", "PO", "UPS", "DHL",
        "USPS", "TNT", "RMA", "TOS", "TBC", "TBD", "RSVP", "NB", "PS", "AKA",
        "IE", "EG", "BTW", "IMO", "IMHO", "TBH", "LOL", "XS", "XL", "XXL", "XXXL",
        "XXS", "ER", "ICU", "MRI", "GP", "MD", "PHD", "MBA", "LTD", "PLC", "INC",
        "LLC", "MR", "MRS", "MS", "DR", "ST", "RD", "AVE",
        # Places and currencies.
        "US", "USA", "UK", "EU", "UN", "UAE", "NYC", "LA", "DC", "AM", "PM",
        "USD", "EUR", "GBP", "AUD", "CAD", "CHF", "JPY", "INR", "GMT", "UTC",
        "CET", "BST", "EST", "PST", "CST", "ET", "PT",
    }
)
# fmt: on
# A whitespace-separated chunk that contains a digit or one of these characters
# inside it is an identifier (order number, voucher code, e-mail, URL, AT&T),
# so its capitals are not shouting: "ORD-ABCD-1182", "XJ7KP".
IDENTIFIER_CHARS = "-_/#@.:&+=\\"

# "why???" and "hello!!!" but not "Thanks!" or "Is it ready?"; a mixed pair such
# as "?!" is always a burst because it is the written form of disbelief.
PUNCTUATION_BURST_MIN_LENGTH = 3

# Words that say "no" on their own; elongated forms ("nooo") count too.
NEGATION_WORDS: Tuple[str, ...] = ("no", "nope", "nah")
# A message that opens with one of these and then corrects the bot ("Nope,
# that's not what I asked") says no twice over.
LEADING_NEGATION_WORDS: Tuple[str, ...] = (*NEGATION_WORDS, "wrong", "incorrect")
# How many words into the message the leading negation may stand ("Hmm, no, ...",
# "Oh no, that's not it").
LEADING_NEGATION_WINDOW = 3
# "no" twice is insisting ("no no", "No! I said no!").
REPEATED_NEGATION_MIN_COUNT = 2
# A "no" followed by one of these is politeness or a plain answer, not
# insistence: "No, no problem", "no thanks", "No, I have no idea".
# fmt: off
NEGATION_COURTESY_WORDS: FrozenSet[str] = frozenset(
    {
        "problem", "problems", "prob", "probs", "worries", "worry", "thanks",
        "thank", "thx", "rush", "hurry", "need", "idea", "issue", "issues",
        "bother", "biggie", "stress", "pressure",
    }
)
# fmt: on

# Entries of better_profanity's word list that are not profanity in a support
# chat. That list was built to censor user-generated content, so it flags
# anatomy, sex education, drugs, identities and plain English words; matching
# any of them would hand a pharmacy, clothing or hardware-store customer to an
# agent as "swearing". Each group says why it is excluded. Swear words, sexual
# slang and slurs stay in.
# fmt: off
PROFANITY_EXCLUSIONS: FrozenSet[str] = frozenset(
    {
        # Ordinary words with an everyday meaning in support or retail.
        "screw", "screwed", "screwing", "strip", "strip club", "stripclub",
        "stroke", "thrust", "flange", "knob", "organ", "oral", "orally", "pot",
        "weed", "hemp", "pawn", "slave", "slope", "snatch", "snuff", "revue",
        "sandbar", "seaman", "seamen", "maxi", "loin", "loins", "lube", "rump",
        "wad", "whiz", "hooker", "toots", "tramp", "facial", "fat", "fingering",
        "fisted", "dummy", "dopey", "drunk", "erect", "erection", "enlargement",
        "penetrate", "penetration", "hump", "humped", "humping", "muff", "nappy",
        "pastie", "pasty", "pantie", "panties", "panty", "undies", "wedgie",
        "crotch", "homey", "hoar", "hooter", "hooters", "xx", "xxx", "len",
        "foobar", "quicky", "scantily", "racy", "steamy", "kinky", "spick",
        "chink", "niggle", "dink", "dinks", "doggin", "dogging", "cow girl",
        "cow girls", "cowgirl", "cowgirls", "souse", "soused", "sleaze",
        "sleazy", "cum", "cock", "cocks", "shag", "jerk", "jerked", "teste",
        "testee", "spac", "pms", "tit", "titi", "tush", "ugly", "unwed", "trashy",
        "vulgar", "weirdo", "thug", "prig", "prude", "puss", "punky", "pimp",
        "bestial", "leper", "suck", "sucked", "sucking", "stupid", "junkie",
        "junky", "playboy", "virgin", "vixen", "dong",
        # Given names and surnames ("Dickens" is one token already, "Dick" is
        # a name; the insults dickhead & co stay in).
        "dick", "wang", "weiner", "willy", "willies", "woody", "yury", "asanchez",
        "guido", "paddy", "massa", "hebe", "arian", "pollock", "nimrod", "kock",
        "kum", "gai", "gae", "gey", "frigg", "frigga", "fanny", "dyke", "dykes",
        "cipa",
        # Anatomy, health and sex education: a pharmacy or clinic bot hears
        # these from customers describing symptoms.
        "anal", "anus", "areole", "breasts", "clitoris", "foreskin", "glans",
        "gonad", "gonads", "hymen", "labia", "nipple", "nipples", "ovary", "ovum",
        "ovums", "penis", "penial", "penile", "phalli", "phallic", "pube",
        "pubic", "pubis", "rectal", "rectum", "rectus", "scrotum", "semen",
        "sperm", "testes", "testis", "testicle", "testical", "uterus", "vagina",
        "vulva", "womb", "menses", "menstruate", "menstruation", "tampon",
        "urinal", "urine", "vomit", "pee", "peepee", "poop", "potty", "tinkle",
        "teat", "smegma", "hiv", "herp", "herpes", "herpy", "ejaculate",
        "ejaculated", "ejaculates", "ejaculating", "ejaculation", "kondum",
        "kondums", "nad", "nads", "sex", "sexual", "naked", "nude", "nudes",
        "erotic", "erotism", "auto erotic", "autoerotic", "homoerotic", "bdsm",
        "bondage", "fondle", "lust", "lusting", "lusty", "seduce", "smut",
        "smutty", "voyeur", "masochist", "sadism", "sadist", "perversion",
        "prostitute", "gigolo",
        # Identities: describing oneself is not swearing.
        "gay", "gays", "queer", "queers", "lesbians", "homo", "transsexual",
        "negro", "gringo", "coon",
        # Medicines, drugs and drinks, which pharmacies and shops sell or
        # customers mention in passing.
        "viagra", "v14gra", "v1gra", "valium", "heroin", "meth", "opiate",
        "opium", "peyote", "pcp", "ganja", "reefer", "toke", "stoned", "extacy",
        "extasy", "scag", "skag", "hooch", "hootch", "hookah", "rum", "vodka",
        # Violence, crime and history: topics, not swearing ("kill the app",
        # "a murder mystery", "a book about Hitler").
        "kill", "murder", "howtokill", "howtomurdep", "napalm", "sniper", "uzi",
        "rape", "raped", "raper", "raping", "rapist", "molest", "incest",
        "pedophile", "pedophilia", "pedophiliac", "hitler", "nazi", "nazism",
        "reich", "kkk", "klan", "sodom",
        # Interjections that carry no swearing: "oh my god", "lmao". Exasperation
        # covers "omg" and "for god's sake".
        "god", "omg", "lmao", "lmfao",
    }
)
# fmt: on
# Common swearing that better_profanity's list lacks.
EXTRA_PROFANITY: Tuple[str, ...] = (
    "crappy",
    "dammit",
    "damnit",
    "fck",
    "fcking",
    "clusterfuck",
    "shitshow",
    "fuckery",
    "fuckwits",
    "assholes",
)

# --- Sarcasm and bitter thanks (signals/sarcasm.py) ---------------------------
# fmt: off
# Praise words that customers turn round when the bot lets them down: "great,
# another useless answer", "wonderful. just wonderful.".
PRAISE_WORDS: FrozenSet[str] = frozenset(
    {
        "great", "wonderful", "brilliant", "perfect", "fantastic", "lovely",
        "awesome", "excellent", "marvellous", "marvelous", "superb", "super",
        "terrific", "splendid", "fabulous", "amazing", "nice", "cool", "grand",
        "outstanding", "genius", "helpful", "fab", "gr8", "sweet", "magic",
    }
)
# Words that may stand before the praise word of a sarcastic opener: "oh great",
# "just perfect", "yeah, brilliant".
PRAISE_OPENERS: FrozenSet[str] = frozenset(
    {
        "oh", "ooh", "ah", "well", "yeah", "yep", "just", "how", "so", "very",
        "really", "wow",
    }
)
# The echo of sarcastic praise: "wonderful. just wonderful.", "great, simply great".
PRAISE_ECHO_WORDS: FrozenSet[str] = frozenset(
    {"just", "simply", "really", "real", "truly", "absolutely", "bloody", "so"}
)
# After a praise opener, a word saying "this has happened before" ...
LETDOWN_CUES: FrozenSet[str] = frozenset(
    {"another", "again", "still", "yet", "more", "same", "once"}
)
# ... and a word saying it went wrong, in the same sentence: "great, another
# useless answer", "perfect, it crashed again", "oh wonderful, still not working".
LETDOWN_WORDS: FrozenSet[str] = frozenset(
    {
        "not", "n't", "nt", "never", "nothing", "no", "useless", "pointless",
        "broken", "broke", "breaks", "error", "errors", "wrong", "fail", "fails",
        "failed", "failing", "failure", "crash", "crashed", "crashes",
        "crashing", "stuck", "frozen", "freezes", "froze", "dead", "down",
        "bug", "bugs", "glitch", "junk", "rubbish", "garbage", "nonsense",
        "unhelpful", "worse", "worst", "lost", "missing", "wait", "waiting",
        "bot", "robot", "automated", "canned", "scripted", "irrelevant",
    }
)
# Thanks that are not thanks: "thanks for nothing", "thanks a lot for wasting my
# time", "thank you for the useless answer": a thanks word, "for", then (after
# at most BITTER_THANKS_SKIP filler words) one of BITTER_THANKS_OBJECTS.
THANKS_WORDS: FrozenSet[str] = frozenset(
    {"thanks", "thank", "thx", "thanx", "ty", "cheers", "ta"}
)
BITTER_THANKS_FILLERS: FrozenSet[str] = frozenset(
    {"the", "your", "this", "that", "being", "so", "such", "a", "an", "all",
     "absolutely", "totally", "completely", "utterly", "my", "another", "yet",
     "really", "very", "literally"}
)
BITTER_THANKS_SKIP = 3
BITTER_THANKS_OBJECTS: FrozenSet[str] = frozenset(
    {
        "nothing", "nada", "zilch", "zero", "wasting", "waste", "useless",
        "pointless", "unhelpful", "worthless", "nonsense", "rubbish", "garbage",
        "ignoring", "nonexistent", "non-existent", "runaround", "run-around",
        "no",
    }
)
# Thanks for advice the customer had already followed: "yeah thanks, I've done
# that a hundred times", "cheers, already tried that". The clause: a subject or
# "already", a verb of doing and what was done ...
ALREADY_FOLLOWED_LEADS: FrozenSet[str] = frozenset(
    {"i", "'ve", "ve", "have", "already", "we"}
)
ALREADY_FOLLOWED_VERBS: FrozenSet[str] = frozenset({"done", "tried", "did"})
ALREADY_FOLLOWED_OBJECTS: FrozenSet[str] = frozenset(
    {"that", "this", "it", "those", "them", "all", "everything", "so"}
)
# ... said to be before now: a perfect or "already" in the clause, or one of
# these soon after it ("I did that twice"); "thanks! I did that" may be news.
ALREADY_FOLLOWED_BEFORE: FrozenSet[str] = frozenset(
    {"already", "'ve", "ve", "have", "before", "times", "twice", "again"}
)
# ... unless it then worked: "thanks, did that and it works now".
ALREADY_FOLLOWED_SUCCESS: FrozenSet[str] = frozenset(
    {"works", "worked", "working", "fixed", "helped", "sorted", "solved", "resolved"}
)
# Mock surprise at advice already followed: "oh sure, check my plan, because I
# haven't done that", "because I didn't try restarting". "because I haven't
# received my refund" is no advice followed (no verb of trying), and "because
# I haven't done it yet" is sincere (`MOCK_SURPRISE_SINCERE`).
MOCK_SURPRISE_VERBS: FrozenSet[str] = frozenset(
    {"done", "tried", "try", "checked", "check", "thought", "restarted", "restart",
     "rebooted", "reinstalled", "reinstall"}
)
MOCK_SURPRISE_SINCERE: FrozenSet[str] = frozenset({"yet", "until"})
# fmt: on
# A sarcastic opener must start the message or a sentence, within this many
# words (after "oh", "yeah", ...).
PRAISE_OPENER_WINDOW = 3

# --- Names and addresses are not shouting (signals/rules.py `_shouting`) ------
# Customers type names and addresses in capitals as on a form ("JOHN SMITH",
# "12 HIGH ST"). Words that introduce one (matched on lower-case tokens) ...
# fmt: off
NAME_INTRODUCERS: Tuple[str, ...] = (
    "my name is", "name is", "name's", "names", "name :", "name -", "called",
    "account holder", "card holder", "cardholder", "account name", "full name",
    "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "signed",
    "address is", "address :", "address -", "live at", "living at", "lives at",
    "ship to", "deliver to", "delivered to", "send it to", "sent to",
    "postcode", "post code", "zip", "zip code", "zipcode",
)
# ... and the street words that end an address after a house number.
STREET_WORDS: FrozenSet[str] = frozenset(
    {
        "st", "street", "rd", "road", "ave", "avenue", "ln", "lane", "dr",
        "drive", "way", "close", "ct", "court", "pl", "place", "blvd",
        "boulevard", "sq", "square", "terrace", "crescent", "cres", "hwy",
        "highway", "parkway", "pkwy", "row", "grove", "gardens", "mews", "walk",
        "hill", "park", "green", "strasse", "straße", "rue", "via", "calle",
    }
)
# fmt: on
# A name is at most this many words; an address at most this many before its
# street word.
NAME_MAX_WORDS = 4
ADDRESS_MAX_WORDS = 5
