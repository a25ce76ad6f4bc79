"""Conditional requests: a resource's version goes out as an ETag and comes back in If-Match."""

from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from app.api.deps import SettingsDep

IF_MATCH = r'^(\*|"\d{1,10}")?$'  # empty counts as absent


def etag(version: int) -> str:
    return f'"{version}"'


async def get_expected_version(
    settings: SettingsDep,
    if_match: Annotated[
        str,
        Header(
            pattern=IF_MATCH,
            description='The ETag you last read, e.g. "3": the change applies only if current.',
        ),
    ] = "",
) -> int | None:
    """The version the client expects to change, or None when it sent no If-Match (or `*`)."""
    if not if_match:
        if settings.require_if_match:
            raise HTTPException(
                status_code=status.HTTP_428_PRECONDITION_REQUIRED,
                detail="Send an If-Match header with the ETag you last read.",
            )
        return None
    return None if if_match == "*" else int(if_match.strip('"'))


ExpectedVersionDep = Annotated[int | None, Depends(get_expected_version)]
