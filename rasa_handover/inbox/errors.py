"""Errors of the inbox's business operations, mapped to HTTP statuses by the API."""

from typing import Optional


class InboxError(Exception):
    """Base class: an operation the inbox refuses, with a message for humans.

    Attributes:
        message: What went wrong and, where possible, how to fix it.
        field: The request field at fault, if one is.

    """

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(InboxError, LookupError):
    """The ticket, agent or conversation does not exist (HTTP 404)."""


class ConflictError(InboxError):
    """The ticket's state forbids the operation, e.g. someone else took it (409)."""


class ValidationError(InboxError, ValueError):
    """A value is malformed or not allowed, e.g. an unknown outcome label (400)."""


class AtCapacityError(ConflictError):
    """The agent already holds as many tickets as their capacity (409)."""
