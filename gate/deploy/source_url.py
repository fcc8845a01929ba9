"""The update source URL: credentials in it encoded as the API needs them, and masked for display."""

from __future__ import annotations

from urllib.parse import quote

from gate.redact import MASK


def _split(url: str) -> tuple[str, str | None, str]:
    """(``scheme://``, userinfo or None, the rest) of a source URL such as ``s3://key:secret@bucket/p``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", None, url
    # Credentials may hold '/' (cloud secret keys often do): the userinfo ends at the last '@'
    # before the first '?' of the query.
    query_at = rest.find("?")
    head = rest if query_at < 0 else rest[:query_at]
    at = head.rfind("@")
    if at < 0:
        return scheme + sep, None, rest
    return scheme + sep, rest[:at], rest[at + 1 :]


def encode_source_url(url: str) -> str:
    """Percent-encode each credential of the URL once (``safe=''``); the query string encodes it again.

    The API wants credentials inside the source URL percent-encoded twice on the wire: once here,
    once by the ordinary encoding of the ``url`` query parameter. Credentials are written as they
    are (not pre-encoded).
    """
    prefix, userinfo, rest = _split(url)
    if userinfo is None:
        return url
    user, colon, password = userinfo.partition(":")
    encoded = quote(user, safe="") + (colon + quote(password, safe="") if colon else "")
    return f"{prefix}{encoded}@{rest}"


def mask_source_url(url: str) -> str:
    """The URL with its credentials replaced by ``***``, for plans and messages."""
    prefix, userinfo, rest = _split(url)
    if userinfo is None:
        return url
    return f"{prefix}{MASK}@{rest}"


def source_url_secrets(url: str | None) -> tuple[str, ...]:
    """Every form of the URL's credentials that must never be shown (raw and encoded)."""
    if not url:
        return ()
    _, userinfo, _ = _split(url)
    if userinfo is None:
        return ()
    user, _, password = userinfo.partition(":")
    values = {userinfo}
    for part in (user, password):
        if part:
            once = quote(part, safe="")
            values |= {part, once, quote(once, safe="")}
    return tuple(v for v in values if v)
