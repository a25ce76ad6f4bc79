"""What a job may use, handed to every job by the worker (`JobContext.additional_context`)."""

from dataclasses import dataclass

from procrastinate import JobContext

from app.core.config import Settings
from app.core.mail import MailSender
from app.db.session import Database

RESOURCES_KEY = "resources"


@dataclass(frozen=True)
class WorkerResources:
    settings: Settings
    database: Database
    mail: MailSender


def resources_of(context: JobContext) -> WorkerResources:
    """The worker's resources, for a task declared with `pass_context=True`."""
    resources = context.additional_context.get(RESOURCES_KEY)
    if not isinstance(resources, WorkerResources):
        raise RuntimeError("Run jobs with `app.jobs.worker`, which provides their resources.")
    return resources
