"""The scopes the service knows, and what each grants: the one list the schemas validate against,
the sign-in form offers (Swagger UI's Authorize dialog shows it) and `app.security` checks.
Adding one: docs/template/auth.md, "Adding a scope"."""

from typing import Literal

Scope = Literal["admin"]
ADMIN_SCOPE: Scope = "admin"
SCOPES: dict[str, str] = {ADMIN_SCOPE: "See and change every record, and manage users."}
