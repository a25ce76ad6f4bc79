"""Email addresses as the API takes them: checked as sent, normalized (one address is one
stored value, whatever its case or Unicode form), checked again. Accounts use them (with auth),
and so does any resource field of the `email` kind."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

MAX_EMAIL_LENGTH = 254
# The characters an address cannot hold, as the OpenAPI document says (in the regex dialect
# JavaScript and Python share: BMP escapes only), so that every address the schema allows is one
# the API takes: an `@` but the one; control, format, private-use and separator characters;
# those that show as nothing (Unicode's default-ignorable ones, the Braille blank), which would
# make two addresses look alike; and those that NFKC or lowercasing would turn into any of these
# or into several characters (a full-width `@`, U+FDFA's 18 characters), which would make a
# valid address invalid, or longer than MAX_EMAIL_LENGTH, once normalized.
# Generated from the Unicode data of the newest Python the template supports;
# tests/core/test_email_address.py checks it against the running Python's and says when to
# regenerate it.
NOT_IN_EMAIL = (
    r"\u0000-\u0020\u0040\u007f-\u00a0\u00a8\u00ad\u00af\u00b4\u00b8\u00bc-\u00be\u0130"
    r"\u0132-\u0133\u013f-\u0140\u0149\u01c4-\u01cc\u01f1-\u01f3\u02d8-\u02dd\u0344\u034f"
    r"\u037a\u0384-\u0385\u0587\u0600-\u0605\u061c\u0675-\u0678\u06dd\u070f\u0890-\u0891\u08e2"
    r"\u0958-\u095f\u09dc-\u09dd\u09df\u0a33\u0a36\u0a59-\u0a5b\u0a5e\u0b5c-\u0b5d\u0e33\u0eb3"
    r"\u0edc-\u0edd\u0f43\u0f4d\u0f52\u0f57\u0f5c\u0f69\u0f73\u0f75-\u0f79\u0f81\u0f93\u0f9d"
    r"\u0fa2\u0fa7\u0fac\u0fb9\u115f-\u1160\u1680\u17b4-\u17b5\u180b-\u180f\u1e9a\u1fbd"
    r"\u1fbf-\u1fc1\u1fcd-\u1fcf\u1fdd-\u1fdf\u1fed-\u1fee\u1ffd-\u1ffe\u2000-\u200f\u2017"
    r"\u2025-\u2026\u2028-\u202f\u2033-\u2034\u2036-\u2037\u203c\u203e\u2047-\u2049\u2057"
    r"\u205f-\u2064\u2066-\u206f\u20a8\u2100-\u2101\u2103\u2105-\u2106\u2109\u2116"
    r"\u2120-\u2122\u213b\u2150-\u215f\u2161-\u2163\u2165-\u2168\u216a-\u216b\u2171-\u2173"
    r"\u2175-\u2178\u217a-\u217b\u2189\u222c-\u222d\u222f-\u2230\u2469-\u24b5\u2800\u2a0c"
    r"\u2a74-\u2a76\u2adc\u3000\u309b-\u309c\u309f\u30ff\u3164\u3200-\u321e\u3220-\u3243"
    r"\u3250-\u325f\u327c-\u327d\u32b1-\u32cf\u32ff-\u33ff\ue000-\uf8ff\ufb00-\ufb06"
    r"\ufb13-\ufb17\ufb1d\ufb1f\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40-\ufb41\ufb43-\ufb44"
    r"\ufb46-\ufb4f\ufbdd\ufbea-\ufbfb\ufc00-\ufd3d\ufd50-\ufd8f\ufd92-\ufdc7\ufdf0-\ufdfc"
    r"\ufe00-\ufe0f\ufe19\ufe30\ufe49-\ufe4c\ufe6b\ufe70-\ufe72\ufe74\ufe76-\ufe7f"
    r"\ufef5-\ufefc\ufeff\uff20\uffa0\uffe3\ufff9-\ufffb"
)
# Trimmed (`str.strip`): Unicode's whitespace.
AROUND_EMAIL = (
    r"[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
)
EMAIL_PATTERN = rf"^{AROUND_EMAIL}[^{NOT_IN_EMAIL}]+@[^{NOT_IN_EMAIL}]+{AROUND_EMAIL}$"
# Beyond the BMP, which the pattern cannot name portably: format characters (tag characters,
# ...) and the variation selectors supplement, which show as nothing.
VARIATION_SELECTORS = range(0xE0100, 0xE01F0)


def _invisible(character: str) -> bool:
    if (code := ord(character)) <= 0xFFFF:
        return False
    return unicodedata.category(character) == "Cf" or code in VARIATION_SELECTORS


def normalize_email(value: str) -> str:
    """An email as accounts are stored and looked up by (sign-up, sign-in, resets, admins and
    `tools.create_user`): Unicode NFKC (a full-width letter is the letter, a no-break space a
    space), without the invisible characters beyond the BMP (`_invisible`; the schema's pattern
    refuses those of the BMP) unless that left nothing on a side of the `@`, trimmed of Unicode
    whitespace, lowercased, so that one address is one account."""
    normalized = unicodedata.normalize("NFKC", value)
    visible = "".join(character for character in normalized if not _invisible(character))
    local, _, domain = visible.partition("@")
    if local.strip() and domain.strip():
        normalized = visible
    return normalized.strip().lower()


def checked_email(email: str) -> str:
    """`email`, normalized, if it still is one address (the pattern saw the text as sent;
    beyond the BMP, NFKC can still lengthen it)."""
    local, _, domain = email.partition("@")
    if len(email) > MAX_EMAIL_LENGTH or not local or not domain or "@" in domain:
        raise ValueError("is not one email address once normalized (Unicode NFKC)")
    return email


# Checked as sent (the OpenAPI document's limits), then normalized (`normalize_email`) and
# checked again (`checked_email`): emails are unique whatever their case or Unicode form.
EmailAddress = Annotated[
    str,
    StringConstraints(min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN),
    AfterValidator(normalize_email),
    AfterValidator(checked_email),
]
