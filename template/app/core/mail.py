"""Emails the service sends (e.g. password reset links), and the interface that sends them.

`LogMailSender` only logs who gets what subject, never the body (it may hold a token): replace
it with a real sender (SMTP, an email API) where the app is built (`app.main`).
"""

import logging
from typing import Protocol

from pydantic import BaseModel

logger = logging.getLogger(__name__)


class Email(BaseModel):
    to: str
    subject: str
    body: str


class MailSender(Protocol):
    async def send(self, email: Email) -> None:
        """Deliver `email`, or raise."""


class LogMailSender:
    """Logs each email instead of sending it: the default until a real sender is set up."""

    async def send(self, email: Email) -> None:
        logger.info("Email to %s: %s", email.to, email.subject)
