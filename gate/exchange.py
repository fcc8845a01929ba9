"""One bounded HTTP exchange: whole within a wall-clock budget, body capped, redirects checked.

requests' ``timeout`` bounds each socket read, not the exchange: a server that trickles a byte a
second keeps a read alive for ever. Here the exchange (connect, headers, body, every redirect)
runs in a worker thread and the caller waits for it at most ``budget`` seconds of real time;
past that the exchange is abandoned (its connection shut) and the caller gets a transient error.
The body is read streamed and decompressed here, under a cap on the bytes kept, so neither a
huge answer nor a gzip or deflate bomb can take the memory.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from gate.config import is_loopback
from gate.durations import format_duration
from gate.errors import ApiError, MalformedResponse, TransientError
from gate.system import wait_slice

# A status answer is under 2 KB; anything past this is not one.
MAX_BODY_BYTES = 1024 * 1024
MAX_REDIRECTS = 5
CHUNK_BYTES = 16 * 1024
ACCEPT_ENCODING = "gzip, deflate"
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Answer:
    """A whole HTTP answer: status, headers, the decoded body (at most ``MAX_BODY_BYTES``)."""

    status_code: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    url: str


class ExchangeTimedOut(TransientError):
    """The whole exchange did not end within its budget."""


class _Abandoned(Exception):
    """The caller stopped waiting; the worker stops at its next chunk."""


def check_redirect(source: str, target: str) -> None:
    """A redirect never downgrades: not from https to http, and plain http only to loopback."""
    before, after = urlsplit(source), urlsplit(target)
    if after.scheme not in ("http", "https") or not after.hostname:
        raise ApiError(f"the API redirected to a URL that is not http(s) ({after.scheme or 'no'} scheme)")
    if before.scheme == "https" and after.scheme == "http":
        raise ApiError(
            f"the API redirected from https to plain http (host {after.hostname}); refused, as it "
            "would send the request unencrypted; check api_url"
        )
    if after.scheme == "http" and not is_loopback(after.hostname):
        raise ApiError(
            f"the API redirected to plain http on {after.hostname}; refused (only loopback may be http)"
        )


class _Decoder:
    """Content-Encoding undone chunk by chunk, never producing more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise MalformedResponse(f"the answer uses an unsupported content encoding {encoding[:40]!r}")
        self.encoding = encoding
        self.limit = limit
        self.out = bytearray()
        self._zlib: Any = None

    def _grow(self, piece: bytes) -> None:
        self.out += piece
        if len(self.out) > self.limit:
            raise MalformedResponse(
                f"the answer is larger than {self.limit // 1024} KiB"
                + (" once decompressed" if self.encoding not in ("", "identity") else "")
                + "; a status answer is a few hundred bytes"
            )

    def feed(self, data: bytes) -> None:
        if self.encoding in ("", "identity"):
            self._grow(data)
            return
        if self._zlib is None:
            if self.encoding == "deflate":
                # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
                wrapped = len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
                self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            else:
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while data:
                self._grow(self._zlib.decompress(data, self.limit + 1 - len(self.out)))
                data = self._zlib.unconsumed_tail
        except zlib.error as exc:
            raise MalformedResponse(f"the answer's {self.encoding} body is corrupt") from exc

    def finish(self) -> bytes:
        if self._zlib is not None:
            with contextlib.suppress(zlib.error):
                self._grow(self._zlib.flush())
        return bytes(self.out)


def _read_body(response: requests.Response, limit: int, abandoned: threading.Event) -> bytes:
    length = response.headers.get("Content-Length", "").strip()
    if length.isascii() and length.isdigit() and int(length) > limit:
        raise MalformedResponse(f"the answer announces {int(length)} bytes; a status answer is far smaller")
    decoder = _Decoder(response.headers.get("Content-Encoding", ""), limit)
    received = 0
    for chunk in response.raw.stream(CHUNK_BYTES, decode_content=False):
        if abandoned.is_set():
            raise _Abandoned()
        received += len(chunk)
        if received > limit:
            raise MalformedResponse(f"the answer is larger than {limit // 1024} KiB")
        decoder.feed(chunk)
    return decoder.finish()


# The sockets each worker thread connects, seen through the interpreter's audit events, so an
# abandoned exchange can be shut down even before it has a response (a server trickling its
# headers would otherwise keep the worker, and its socket, alive for hours).
_current = threading.local()
_audit_lock = threading.Lock()
_audit_installed = False


def _note_socket(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        worker = getattr(_current, "worker", None)
        if worker is not None:
            worker.sockets.append(args[0])


def wait_for(done: threading.Event, budget: float, *, system: str | None = None) -> bool:
    """Whether ``done`` was set within ``budget`` seconds, waited in slices a signal can cut."""
    deadline = time.monotonic() + budget
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return done.is_set()
        step = wait_slice(left) if system is None else wait_slice(left, system)
        if done.wait(step):
            return True


def _watch_sockets() -> None:
    global _audit_installed
    with _audit_lock:
        if not _audit_installed:
            sys.addaudithook(_note_socket)
            _audit_installed = True


class _Worker:
    """Runs one exchange in a daemon thread and hands back its answer or its exception."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.abandoned = threading.Event()
        self.answer: Answer | None = None
        self.error: BaseException | None = None
        self.response: requests.Response | None = None
        self.sockets: list[socket.socket] = []

    def run(
        self, session: requests.Session, url: str, params: Mapping[str, str] | None, budget: float, limit: int
    ) -> None:
        _current.worker = self
        try:
            self.answer = self._exchange(session, url, params, budget, limit)
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self.error = exc
        finally:
            self.done.set()

    def _exchange(
        self, session: requests.Session, url: str, params: Mapping[str, str] | None, budget: float, limit: int
    ) -> Answer:
        current, query = url, params
        for _ in range(MAX_REDIRECTS + 1):
            response = session.get(
                current, params=query, timeout=(budget, budget), allow_redirects=False, stream=True
            )
            self.response = response
            if self.abandoned.is_set():
                response.close()
                raise _Abandoned()
            location = response.headers.get("Location")
            if response.status_code in _REDIRECT_CODES and location:
                target = urljoin(response.url, location)
                response.close()
                check_redirect(response.url, target)
                current, query = target, None
                continue
            try:
                body = _read_body(response, limit, self.abandoned)
            finally:
                response.close()
            return Answer(response.status_code, response.reason or "", response.headers, body, response.url)
        raise ApiError(f"more than {MAX_REDIRECTS} redirects; check api_url")

    def abandon(self) -> None:
        """Stop waiting; shut the connection so the worker's blocked read ends now."""
        self.abandoned.set()
        for sock in list(self.sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self.response is not None:
            with contextlib.suppress(Exception):
                self.response.close()


def exchange(
    session: requests.Session,
    url: str,
    params: Mapping[str, str] | None,
    *,
    budget: float,
    limit: int = MAX_BODY_BYTES,
) -> Answer:
    """One GET, whole within ``budget`` seconds of real time, the body capped at ``limit`` bytes.

    Raises ``ExchangeTimedOut`` (transient) past the budget, ``MalformedResponse`` for a body
    too large or corrupt, ``ApiError`` for a refused redirect, and requests' own exceptions
    for connection trouble.
    """
    _watch_sockets()
    worker = _Worker()
    thread = threading.Thread(
        target=worker.run, args=(session, url, params, budget, limit), name="clanforge-gate-http", daemon=True
    )
    thread.start()
    try:
        finished = wait_for(worker.done, budget)
    except BaseException:
        # A signal while waiting: leave the exchange behind, at once.
        worker.abandon()
        raise
    if not finished:
        worker.abandon()
        raise ExchangeTimedOut(f"no answer within {format_duration(budget)} (the whole exchange)")
    if worker.error is not None:
        raise worker.error
    assert worker.answer is not None
    return worker.answer
