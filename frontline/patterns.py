"""The shapes of identifiers customers type, shared by NLU patterns and validators.

Order numbers are six digits (``482913``, also typed ``#482913``); US ZIP codes are
five digits. Keeping both here means the spaCy EntityRuler and the form validators
can never disagree about what an order number looks like.
"""

from __future__ import annotations

import re

ORDER_ID_RE = re.compile(r"^#?(\d{6})$")
ZIP_CODE_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")

# Used to find identifiers inside free text (masking transcripts). Digits that continue
# a token of ASCII letters, digits or underscores are part of our own identifiers
# ("dp_3998938304fa440d", a dispute), not a phone or card number: masking them would
# hide from the human agent the reference they need.
EMAIL_IN_TEXT_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_IN_TEXT_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\d)"
)
CARD_IN_TEXT_RE = re.compile(r"(?<![A-Za-z0-9_])(?:\d[ -]?){12,15}(\d{4})(?!\d)")


def normalize_order_id(value: object) -> str | None:
    """Returns the six-digit order number in ``value``, or None if it is not one."""
    match = ORDER_ID_RE.match(str(value).strip()) if value is not None else None
    return match.group(1) if match else None


def normalize_zip_code(value: object) -> str | None:
    """Returns the five-digit ZIP code in ``value``, or None if it is not one."""
    match = ZIP_CODE_RE.match(str(value).strip()) if value is not None else None
    return match.group(1) if match else None


def normalize_email(value: object) -> str | None:
    """Returns ``value`` as a lower-case e-mail address, or None if it is not one."""
    text = str(value).strip().strip(".,;:!?<>()") if value is not None else ""
    return text.lower() if EMAIL_RE.match(text) else None


# --- ratings, list positions and phone numbers (CSAT, "the second one", account changes) ---

RATING_MIN, RATING_MAX = 1, 5
NUMBER_WORDS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
ORDINAL_WORDS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
# "the last one": the last item of the list the customer was shown.
LAST_WORDS = frozenset({"last", "bottom"})
# Nouns after "last" that make it a list position ("the last one"), unlike "last week".
POSITION_NOUNS = ("one", "option", "item", "entry", "choice")
LAST_POSITION = -1
# The canonical entity value of ``LAST_WORDS`` (see data/nlu/synonyms.yml).
LAST_VALUE = "last"

_NUMBER = r"(?:\d{1,2}|" + "|".join(NUMBER_WORDS) + r")"
_RATING_FORMS = (
    # "4/5", "4 / 5", "4 out of 5", "four out of five", "4 of 5"
    re.compile(rf"(?<![\w./]){_NUMBER}\s*(?:/|out of|of)\s*(?:5|five)(?![\w/])"),
    # "4 stars", "four star", "5*"
    re.compile(rf"(?<![\w./]){_NUMBER}\s*(?:stars?\b|\*)"),
    # "rating 4", "rate you 4", "give it a 4", "score: 4"
    re.compile(rf"\b(?:rating|rate|score|give)\b[\w\s:]{{0,12}}?\b{_NUMBER}\b(?![./]\d)"),
)
_STAR_SYMBOLS_RE = re.compile(r"^\s*([★⭐]{1,5})\s*$")

# A rating said on its own ("5, very helpful", "4 because it was quick", "id say 3"): the
# message is cut into clauses at punctuation, line breaks, emoji and words that start a
# reason or a thank-you; a clause that is one number and filler words only is a rating,
# and so is a clause like "5 for the help" (a number, "for" and up to three words).
# A number with anything else around it ("in 2 days", "2 items", "I had 2 orders",
# "$59.90", "10/10", "8 out of 10") is not.
_CLAUSE_BREAK_RE = re.compile(
    r"[,;!?()\[\]\n]"
    r"|(?<!\d)\.|\.(?!\d)"  # a full stop, not the point in "3.5" or "$59.90"
    r"|[-\u2013\u2014]+(?!\s*\d)"  # "4 - good", not "4-5"
    r"|:\s"
    r"|[\u2600-\u27bf\U0001f300-\U0001faff]"  # emoji
    r"|\b(?:because|cause|cuz|coz|cos|bc|since|but|thanks|thank\s+(?:you|u)|thx|ty|tysm"
    r"|cheers)\b"
)
_RATING_FILLERS = frozenset(
    """
    a an i id i'd ill i'll would say go going gonna with lets let's guess think it its
    it's thats that's you get deserve deserves solid strong good decent fair maybe probably
    prob prolly perhaps hmm hm hmmm um umm uh meh eh ok okay k well honestly tbh honest to be
    overall like just definitely def easily easy yeah yes yep sure so from me for though
    tho lol haha
    """.split()
)


def _clause_ratings(text: str) -> list[int]:
    """The numbers that make up a clause on their own: "5, very helpful" -> [5]."""
    found: list[int] = []
    for clause in _CLAUSE_BREAK_RE.split(text.replace("\u2019", "'")):
        words = [word.strip("'\"`") for word in clause.split()]
        numbers = [word for word in words if re.fullmatch(_NUMBER, word)]
        others = [word for word in words if word not in numbers]
        if len(numbers) != 1:
            continue
        if all(word in _RATING_FILLERS for word in others) or _rates_an_aspect(words):
            value = _number_value(numbers[0])
            if value is not None:
                found.append(value)
    return found


def _rates_an_aspect(words: list[str]) -> bool:
    """A number, "for" and up to three words: "5 for the help", "2 for the wait"."""
    aspect = words[2:]
    return (
        len(words) > 2
        and re.fullmatch(_NUMBER, words[0]) is not None
        and words[1] == "for"
        and len(aspect) <= 3
        and all(word.isalpha() for word in aspect)
    )


_ORDINAL_NUMERAL_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
_ORDINAL_OPTION_RE = re.compile(r"^(?:option|number|no\.?|#)\s*(\d{1,2})$")

PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 8, 15  # E.164 allows at most 15 digits
_PHONE_CHARS_RE = re.compile(r"^\+?[\d\s().-]+$")


def _number_value(text: str) -> int | None:
    """``"4"`` or ``"four"`` -> 4."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


def normalize_rating(value: object) -> int | None:
    """Returns the 1-5 rating a customer typed, or None if there is none.

    Accepts a bare number ("4", "four", "a 4"), a share ("4/5", "4 out of 5"), stars
    ("4 stars", "★★★★"), a number after a rating word ("I'd give you a 4") and a
    number standing on its own next to a comment ("5, very helpful", "4 because it was
    quick", "id say 3", "4 from me"). A number that is part of a phrase about
    something else is not a rating ("took 3 weeks", "2 items", "$59.90", "10/10",
    "order 482913"). A number outside 1-5, or two different ratings in one message,
    give None: a missed rating is kept as a comment, a wrong one would be stored.

    Args:
        value: An entity value or the text of the customer's message.

    Returns:
        The rating from 1 to 5, or None.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    stars = _STAR_SYMBOLS_RE.match(text)
    if stars:
        return len(stars.group(1))
    found: set[int | None] = set(_clause_ratings(text))
    for form in _RATING_FORMS:
        for match in form.finditer(text):
            number = re.search(_NUMBER, match.group(0))
            found.add(_number_value(number.group(0)) if number else None)
    found.discard(None)
    if len(found) != 1:
        return None
    rating = found.pop()
    return rating if rating is not None and RATING_MIN <= rating <= RATING_MAX else None


def normalize_ordinal(value: object) -> int | None:
    """Returns the list position a customer named: 1 for "first", -1 for "the last one".

    Accepts ordinal words ("second"), numerals ("2nd"), canonical entity values ("2",
    "last") and "option 2" / "number 2".

    Args:
        value: An ``ordinal`` entity value.

    Returns:
        The 1-based position, ``LAST_POSITION`` (-1) for the last item, or None.
    """
    if value is None:
        return None
    text = " ".join(str(value).strip().lower().split())
    for prefix in ("the ", "my "):
        text = text.removeprefix(prefix)
    text = text.strip(" .!?")
    for noun in POSITION_NOUNS:
        text = text.removesuffix(f" {noun}")
    if text in LAST_WORDS:
        return LAST_POSITION
    if text in ORDINAL_WORDS:
        return ORDINAL_WORDS[text]
    match = _ORDINAL_NUMERAL_RE.match(text) or _ORDINAL_OPTION_RE.match(text)
    number = int(match.group(1)) if match else _number_value(text)
    return number if number is not None and number >= 1 else None


def normalize_phone_number(value: object, default_country_code: str = "1") -> str | None:
    """Returns a phone number in E.164 form (``+14155550199``), or None if it is not one.

    Numbers without a leading ``+`` are read as national numbers of
    ``default_country_code`` (10 digits for the US, optionally prefixed by 1).

    Args:
        value: An entity value or typed text such as "(415) 555-0199".
        default_country_code: Country calling code for numbers without ``+``.

    Returns:
        The number as ``+<digits>``, or None.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not _PHONE_CHARS_RE.match(text) or "+" in text[1:]:
        return None
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+"):
        number = digits
    elif default_country_code == "1" and len(digits) == 11 and digits.startswith("1"):
        number = digits
    elif default_country_code == "1" and len(digits) == 10:
        number = "1" + digits
    elif default_country_code != "1":
        number = default_country_code + digits.lstrip("0")
    else:
        return None
    if not PHONE_DIGITS_MIN <= len(number) <= PHONE_DIGITS_MAX or number.startswith("0"):
        return None
    return "+" + number
