"""Email: the message, and the sender that delivers it.

`LogMailSender` only logs (the recipient and subject, never the body: it may hold a token).
Replace it with a real sender (SMTP, an email API) where the app builds its sender; with
jobs on, that is `app.jobs.worker.run` (its `mail=`, `LogMailSender()` by default), and
whatever queues an email (`JobQueue.defer(SendEmail(...))`) goes through the `send_email` job
and this interface.
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
        """Deliver `email`, or raise (a job sending it is then retried)."""


class LogMailSender:
    """Logs each email instead of sending it: the default until a real sender is set up."""

    async def send(self, email: Email) -> None:
        logger.info("Email to %s: %s", email.to, email.subject)
