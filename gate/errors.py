"""The project's own exceptions. The CLI maps each kind to one exit code (see gate.cli)."""

from __future__ import annotations


class GateError(Exception):
    """An expected failure that ends the run with a one-line message (exit code 3)."""


class ConfigError(GateError):
    """A setting is missing, malformed or in the wrong place."""


class CredentialsRejected(GateError):
    """The API answered 401 or 403."""


class UnknownJob(GateError):
    """The API does not know the job id (404 or "No rows in result set")."""


class ApiError(GateError):
    """The API refused the request with a message of its own (a 4xx or an error body)."""


class TransientError(Exception):
    """A failure worth retrying: 408, 429, 5xx, connection trouble, a malformed body.

    ``retry_after`` is the server's own wait hint in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedResponse(TransientError):
    """The body is not a JSON object of the documented shape."""


class Cancelled(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class TimedOut(Exception):
    """The overall deadline passed before the job reached a final state."""


def shown(value: object, limit: int = 60) -> str:
    """A value for a message: its repr, cut short so one bad setting cannot flood a log."""
    text = repr(value) if not isinstance(value, str) or len(value) <= 4 * limit else repr(value[: 4 * limit])
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
