"""Conditional requests: a resource's version goes out as an ETag and comes back in If-Match.

If-Match follows RFC 9110 section 13.1.1: `*`, or a list of entity tags compared strongly, so a
weak tag (`W/"3"`) or a tag this API never issued matches no version (412, with the current
ETag). A header that is not a list of entity tags is a 400 that says what to send.
"""

import re
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from app.api.deps import SettingsDep

NO_VERSION = 0  # versions start at 1: an If-Match naming no version of ours matches none
# One entity tag (RFC 9110 section 8.8.3) and what may follow it in a list.
ENTITY_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(,|$)')
MALFORMED = 'If-Match must be "*" or the ETag you last read, quotes included: If-Match: "3".'
# What the OpenAPI document promises to serve: `*` or one entity tag (a list is served too, but
# is no use to a client of this API). Checked by `expected_version_of`, not by FastAPI, whose
# refusal would be a 422 quoting this expression.
DOCUMENTED = r'^(\*|(W/)?"[!#-~]*")?$'


MAX_LENGTH = 1000


def etag(version: int) -> str:
    return f'"{version}"'


def is_version(opaque: str) -> bool:
    """Whether `opaque` is exactly a tag `etag` makes: the strong comparison is of characters,
    so "002" is not "2"."""
    return (
        opaque.isascii() and opaque.isdigit() and len(opaque) <= 18 and opaque == str(int(opaque))
    )


def expected_version_of(if_match: str) -> int | None:
    """The version `if_match` allows changing: None for `*`, NO_VERSION when it names none of
    ours (only weak or foreign tags). HTTPException 400 when it is malformed or names several
    versions."""
    if if_match.strip() == "*":
        return None
    if len(if_match) > MAX_LENGTH:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"If-Match is longer than {MAX_LENGTH}.")
    versions: set[int] = set()
    position, end = 0, len(if_match)
    while position < end:
        match = ENTITY_TAG.match(if_match, position)
        if match is None or match.end() == position:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, MALFORMED)
        weak, opaque, _ = match.groups()
        if not weak and is_version(opaque):
            versions.add(int(opaque))
        position = match.end()
    if len(versions) > 1:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "If-Match names several versions.")
    return versions.pop() if versions else NO_VERSION


async def get_expected_version(
    settings: SettingsDep,
    if_match: Annotated[
        str,
        Header(
            json_schema_extra={"pattern": DOCUMENTED},
            description=(
                'The ETag you last read, e.g. "3": the change applies only if current. Weak '
                "tags never match (RFC 9110: If-Match compares strongly)."
            ),
        ),
    ] = "",
) -> int | None:
    """The version the client expects to change, or None when it sent no If-Match (or `*`)."""
    if not if_match.strip():
        if settings.require_if_match:
            raise HTTPException(
                status_code=status.HTTP_428_PRECONDITION_REQUIRED,
                detail="Send an If-Match header with the ETag you last read.",
            )
        return None
    return expected_version_of(if_match)


ExpectedVersionDep = Annotated[int | None, Depends(get_expected_version)]
