"""Domain errors. Services raise them; the web layer maps each to one HTTP status, the CLI to one line."""

from __future__ import annotations


class LuxServError(Exception):
    """Base of every error LuxServ raises on purpose. `str(error)` is the message shown to people."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(LuxServError):
    """The thing asked for does not exist, or the caller may not know it exists."""


class PermissionDenied(LuxServError):
    """The caller is known but may not do this."""


class NotAuthenticated(LuxServError):
    """No valid session or credentials."""


class InvalidInput(LuxServError):
    """The request is understood but its content is wrong; `field` names the culprit when there is one."""


class Conflict(LuxServError):
    """The change collides with the current state (a duplicate, a finished task, …)."""


class EventRejected(InvalidInput):
    """An inbound booking event cannot be applied as sent; it is kept in the inbox as `rejected`."""


class PayloadTooLarge(LuxServError):
    """A request body over the configured limit; it is not read further nor stored."""
