"""Who a request acts for: a user, with the scopes that grant more than their own records."""

from dataclasses import dataclass

from app.core.scopes import ADMIN_SCOPE


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user (or one of their API keys, with the key's scopes)."""

    user_id: int
    scopes: frozenset[str]
    api_key_id: int | None = None  # the API key the request came with, if it came with one

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    def owner_filter(self) -> int | None:
        """The owner whose records this principal sees: its own, or None (all) for an admin."""
        return None if self.is_admin else self.user_id
