"""Email addresses (`app.core.email_address`): the schema's pattern refuses what normalizing would
break, and the forms of one address normalize alike."""

import re
import unicodedata

import pytest

from app.core.email_address import EMAIL_PATTERN, NOT_IN_EMAIL, normalize_email

# The same address as typed on other keyboards or pasted from elsewhere.
ALICE = "alice@example.com"
SAME_AS_ALICE = (
    "alice@example.com\u00a0",  # a trailing no-break space
    "\uff41lice@example.com",  # a full-width "a"
    "  ALICE@EXAMPLE.COM\u3000",  # capitals, ideographic space
    "\u0041lice@\uff45xample.com",
    "alice\U000e0020@example.com",  # a tag space: invisible beyond the BMP, dropped
)


# Addresses that only look like one once normalized, or that look like another: invisible
# characters, blanks, and what NFKC turns into a space, a second `@`, or a longer address.
NOT_ONE_ADDRESS = [
    "alice\u200b@example.com",  # zero-width space
    "ali\u202ece@example.com",  # right-to-left override
    "alice\u2066@example.com",  # left-to-right isolate
    "alice\u061c@example.com",  # Arabic letter mark
    "alice\u3164@example.com",  # Hangul filler
    "alice\u2800@example.com",  # Braille blank
    "alice\ufe0f@example.com",  # variation selector
    "ali\u00a0ce@example.com",  # a no-break space inside: a space once normalized
    "alice\uff20evil.com@example.com",  # a full-width @: a second @ once normalized
    "\ufdfa" * 20 + "@example.com",  # 32 characters as sent, 360 once normalized
    "alice\u0130@example.com",  # a capital I with a dot: two characters once lowercased
]


# What NOT_IN_EMAIL must refuse (app/core/email_address.py says why): these categories, the
# default-ignorable code points outside them and the Braille blank, `@`, and what NFKC and
# lowercasing turn into any of them or into several characters.
REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Zs", "Zl", "Zp"}
BLANK = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810), 0x2800, 0x3164}
BLANK |= {*range(0xFE00, 0xFE10), 0xFFA0}


def _refused(character: str) -> bool:
    category = unicodedata.category(character)
    return category in REFUSED_CATEGORIES or ord(character) in BLANK or character == "@"


def refused_in_emails() -> list[int]:
    """The BMP code points NOT_IN_EMAIL must hold, by the running Python's Unicode data."""
    refused = []
    for code in (*range(0xD800), *range(0xE000, 0x10000)):  # surrogates aside
        normalized = unicodedata.normalize("NFKC", chr(code)).lower()
        if _refused(chr(code)) or len(normalized) != 1 or _refused(normalized):
            refused.append(code)
    return refused


def test_the_schema_refuses_what_normalizing_would_break() -> None:
    """Every address the OpenAPI document allows is one the API takes: the pattern refuses each
    character that normalizing would make invalid, invisible, or several characters long."""
    allowed = re.compile(f"[^{NOT_IN_EMAIL}]")
    missing = [f"U+{code:04X}" for code in refused_in_emails() if allowed.fullmatch(chr(code))]
    assert missing == [], (
        "regenerate NOT_IN_EMAIL in app/core/email_address.py: refused_in_emails()"
    )


@pytest.mark.parametrize("email", NOT_ONE_ADDRESS)
def test_the_schema_pattern_refuses_addresses_that_only_look_like_one(email: str) -> None:
    assert re.fullmatch(EMAIL_PATTERN, email) is None


@pytest.mark.parametrize("email", [ALICE, *SAME_AS_ALICE, "alice\u00e9@example.com"])
def test_normalizing_twice_changes_nothing(email: str) -> None:
    assert normalize_email(normalize_email(email)) == normalize_email(email)


@pytest.mark.parametrize("email", SAME_AS_ALICE)
def test_the_forms_of_one_address_normalize_alike(email: str) -> None:
    assert normalize_email(email) == ALICE
