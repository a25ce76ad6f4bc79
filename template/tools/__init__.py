"""Developer tooling; not part of the service."""
