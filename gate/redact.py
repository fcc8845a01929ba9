"""Masking secrets in every form they can take, before any output is cut or written.

One ``Masker`` serves every output: the console, the platform reports, the result file. A
credential is masked raw and in each encoding it can reach a log in (base64, the Basic pair's
base64, URL encoding with ``%XX`` and ``+``, HTML, JSON and ``repr()`` escapes), and so is any
piece of 8 characters or more of any of those forms, so a secret cut in half by a truncation or
split across an encoding boundary still does not show. A source URL (which may hold keys in its
userinfo or query) is masked whole, in the same encodings, and its secret parts like credentials.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
# A piece of a secret this long is masked wherever it appears; credentials shorter than this are
# refused (gate.config), so masking pieces never garbles ordinary words.
PIECE = 8
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def encodings(value: str) -> set[str]:
    """``value`` in each form a log or a report could carry it."""
    raw = value.encode("utf-8")
    forms = {
        value,
        quote(value, safe=""),
        quote(value, safe="/"),
        quote_plus(value, safe=""),
        quote_plus(value, safe="/"),
        html.escape(value, quote=True),
        html.escape(value, quote=False),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
    }
    forms |= {_PERCENT.sub(lambda m: m.group(0).lower(), form) for form in forms}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        # Inside a longer encoded text the value may start at any of three byte offsets; the
        # characters that also depend on the neighbouring bytes are dropped.
        for offset in range(3):
            text = encode(b"\0" * offset + raw).decode("ascii").rstrip("=")
            head = 4 if offset else 0
            full = len(raw) + offset
            tail = 0 if full % 3 == 0 else 4
            forms.add(text[head : len(text) - tail] if tail else text[head:])
            forms.add(encode(raw).decode("ascii"))
    return {form for form in forms if form}


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a URL that are secret: the userinfo's password and user, the query values."""
    try:
        parts = urlsplit(url)
        password, user = parts.password, parts.username
        values = [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    except ValueError:
        return ()
    return tuple(v for v in (password, user, *values) if v and len(v) >= 4)


class Masker:
    """Masks credentials (and their pieces) and whole values such as a source URL."""

    def __init__(self, secrets: Iterable[str] = (), whole: Iterable[str] = ()) -> None:
        exact: set[str] = set()
        self._pieces: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            for form in encodings(secret):
                exact.add(form)
                self._pieces.update(form[i : i + PIECE] for i in range(len(form) - PIECE + 1))
        for value in whole:
            if value:
                exact |= encodings(value)
        # Longest first, so a value that contains another is masked whole.
        self._exact = tuple(sorted((e for e in exact if len(e) >= 4), key=len, reverse=True))

    @property
    def empty(self) -> bool:
        return not self._exact and not self._pieces

    def mask(self, text: str) -> str:
        """``text`` with every secret form and every 8-character piece of one replaced by ***."""
        if self.empty or not text:
            return text
        hidden = bytearray(len(text))
        for form in self._exact:
            start = text.find(form)
            while start != -1:
                hidden[start : start + len(form)] = b"\1" * len(form)
                start = text.find(form, start + 1)
        if self._pieces:
            pieces = self._pieces
            for i in range(len(text) - PIECE + 1):
                if text[i : i + PIECE] in pieces:
                    hidden[i : i + PIECE] = b"\1" * PIECE
        if not any(hidden):
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            if hidden[i]:
                while i < len(text) and hidden[i]:
                    i += 1
                out.append(MASK)
            else:
                j = i
                while j < len(text) and not hidden[j]:
                    j += 1
                out.append(text[i:j])
                i = j
        return "".join(out)
