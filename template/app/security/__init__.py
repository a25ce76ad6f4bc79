"""Credentials: password hashing, access tokens, opaque tokens, and who a request acts for."""
