"""What an API handler sees and returns, a route to it, and the checks on its query parameters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """What a route handler sees."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    params: Mapping[str, str]


@dataclass(frozen=True)
class Response:
    """What a route handler returns. ``delay`` holds the answer back; ``drop`` closes without one."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: object, **kwargs: object) -> Response:
        return cls(status, json.dumps(payload).encode(), **kwargs)  # type: ignore[arg-type]


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """``pattern`` is a regular expression on the path; its named groups become ``Request.params``.

    ``api`` routes require credentials and the expected ``accountserviceid``.
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    api: bool = True
    name: str = ""

    @classmethod
    def of(
        cls, method: str, pattern: str, handler: Handler, name: str | None = None, *, api: bool = True
    ) -> Route:
        """A route from a pattern's text; ``name`` (default: the pattern) keys its request count."""
        return cls(method.upper(), re.compile(pattern), handler, api, name or pattern)


class MissingParameter(ValueError):
    """A parameter is missing or malformed: a handler raises it, the server answers HTTP 400."""


def required_id(query: Mapping[str, str], name: str) -> int:
    """A required positive whole-number parameter; ``MissingParameter`` otherwise."""
    value = query.get(name, "").strip()
    if not value:
        raise MissingParameter(f"missing required parameter: {name}")
    if not value.isdigit() or int(value) <= 0:
        raise MissingParameter(f"parameter {name} must be a positive whole number, got {value!r}")
    return int(value)


def flag_value(query: Mapping[str, str], name: str, *, required: bool = False) -> bool | None:
    """A 0/1 (or true/false) parameter."""
    value = query.get(name, "").strip().lower()
    if not value:
        if required:
            raise MissingParameter(f"missing required parameter: {name}")
        return None
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise MissingParameter(f"parameter {name} must be 0 or 1, got {value!r}")
