"""The HTTP shell: one session, the status request, error mapping and retries."""

from __future__ import annotations

import collections
import dataclasses
import email.utils
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode, urlsplit

import requests
import tenacity

from gate import __version__
from gate.apitext import api_text
from gate.clock import Clock
from gate.config import Credentials, Settings
from gate.durations import format_duration
from gate.errors import (
    ApiError,
    CredentialsRejected,
    GateError,
    MalformedResponse,
    TimedOut,
    TransientError,
    UnknownJob,
)
from gate.exchange import ACCEPT_ENCODING, Answer, exchange
from gate.job import NO_ROWS, IgnoredField, JobStatus, check_api_error, check_job_id, parse_status
from gate.kinds import JobKind
from gate.redact import Masker
from gate.report import Reporter

USER_AGENT = f"clanforge-gate/{__version__}"
T = TypeVar("T")
FIRST_RETRY_WAIT = 1.0
# A retry is only worth making if this much time is left after its wait.
LAST_TRY_MARGIN = 0.25
# However a server asks (Retry-After: 0, a negative value, a date in the past), the retries of
# one request never send more than this many requests in any minute.
MAX_ATTEMPTS_PER_MINUTE = 30
STATE_NAME_LIMIT = 60
JOB_ERROR_LIMIT = 500


class _HostBoundAuth(requests.auth.AuthBase):
    """Adds the Authorization header only for the configured host.

    requests itself drops the header when a redirect leaves the host; this makes sure no
    other path (a proxy-built URL, a future redirect rule) sends it elsewhere either.
    """

    def __init__(self, credentials: Credentials, netloc: str) -> None:
        self._credentials = credentials
        self._netloc = netloc.lower()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if urlsplit(request.url or "").netloc.lower() == self._netloc:
            request.headers["Authorization"] = self._credentials.header()
        else:
            request.headers.pop("Authorization", None)
        return request


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def http_date_seconds(value: str | None) -> float | None:
    """An HTTP date (the ``Date`` header) as unix seconds; None when absent or not a date."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp()


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object with a key given twice is malformed: which value counts is anyone's guess."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json(body: bytes) -> Any:
    """The JSON value of a body; ``ValueError`` for anything but strict JSON with unique keys."""
    try:
        return json.loads(body, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _server_message(answer: Answer) -> str:
    """The API's own error message when the body has one, else a short reason."""
    try:
        body = decode_json(answer.body)
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("error_message") or body.get("message") or body.get("error")
        if isinstance(message, str) and message.strip():
            return message.strip()
    if answer.reason:
        return answer.reason
    try:
        return HTTPStatus(answer.status_code).phrase
    except ValueError:
        return f"HTTP {answer.status_code}"


def _describe_body(answer: Answer) -> str:
    kind = answer.headers.get("Content-Type", "no content type").split(";")[0].strip()[:60]
    return f"{kind}, {len(answer.body)} bytes"


@dataclass(frozen=True)
class JobRef:
    """Which job to ask about: its kind and its id."""

    kind: JobKind
    job_id: int

    def __post_init__(self) -> None:
        # A kind given by its API name (``"imagediff"``) is the same kind.
        object.__setattr__(self, "kind", JobKind.of(self.kind))

    @property
    def label(self) -> str:
        return self.kind.label(self.job_id)

    @property
    def status_path(self) -> str:
        return self.kind.status_path(self.job_id)


class StatusClient:
    """Fetches a job's status; retries transient failures under a deadline the caller gives."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        reporter: Reporter,
        *,
        session: requests.Session | None = None,
        first_retry_wait: float = FIRST_RETRY_WAIT,
        masker: Masker | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.reporter = reporter
        self.requests_made = 0
        # The last answer's request left at ``last_sent`` (our clock); its Date header said
        # ``last_date`` (the server's): together they show how far the server's clock is from ours.
        self.last_sent: float | None = None
        self.last_date: float | None = None
        self.first_retry_wait = first_retry_wait
        # The informing fields already said to be ignored, per job: each is said once.
        self._noted: set[tuple[str, str]] = set()
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING, "User-Agent": USER_AGENT}
        )
        self.masker = masker or Masker(settings.credentials.secrets())
        self.session.auth = _HostBoundAuth(settings.credentials, urlsplit(settings.api_url).netloc)
        self.session.verify = True

    # -- one request ---------------------------------------------------------------------------

    def request_json(self, label: str, path: str, params: Mapping[str, str], timeout: float) -> Any:
        """One GET; HTTP errors mapped to the project's exceptions; the decoded JSON body."""
        url = f"{self.settings.api_url}{path}"
        asid = self.settings.account_service_id
        query = {**({"accountserviceid": asid} if asid is not None else {}), **params}
        self.reporter.debug(f"{label}: GET {url}?{urlencode(query)}")
        self.requests_made += 1
        started, sent = self.clock.monotonic(), self.clock.time()
        try:
            answer = exchange(self.session, url, query, budget=timeout)
        except requests.exceptions.SSLError as exc:
            raise GateError(
                f"{label}: TLS verification failed for {self.settings.api_url}; check the URL, "
                "or point REQUESTS_CA_BUNDLE at your proxy's CA bundle"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise TransientError(f"no answer within {format_duration(timeout)}") from exc
        except requests.exceptions.ConnectionError as exc:
            raise TransientError(f"cannot connect to {self.settings.api_url}") from exc
        except requests.exceptions.TooManyRedirects as exc:
            raise ApiError(f"{label}: too many redirects from {self.settings.api_url}") from exc
        except ApiError as exc:
            raise ApiError(f"{label}: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"request failed ({type(exc).__name__})") from exc
        took = self.clock.monotonic() - started
        self.last_sent, self.last_date = sent, http_date_seconds(answer.headers.get("Date"))
        self.reporter.debug(f"{label}: HTTP {answer.status_code} ({_describe_body(answer)}) in {took:.2f}s")
        return self._interpret(label, answer)

    def _api_text(self, text: str, limit: int = 300) -> str:
        """Text from the API, safe to show: masked, cleaned of control characters, then cut."""
        return api_text(text, self.masker, limit)

    def _interpret(self, label: str, answer: Answer) -> Any:
        code = answer.status_code
        host = self.settings.api_url
        said = self._api_text(_server_message(answer))
        if code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            raise CredentialsRejected(
                f"{label}: credentials rejected by {host} (HTTP {code}: {said}); "
                f"check {self.settings.credentials.env_hint} and that they have access to account "
                f"service id {self.settings.account_service_id or '(none given: the token names it)'}"
            )
        if code == HTTPStatus.NOT_FOUND or (code >= 400 and NO_ROWS in said.lower()):
            raise UnknownJob(
                f"{label}: not found at {host} (HTTP {code}); check the id and the account "
                f"service id {self.settings.account_service_id or '(none given: the token names it)'}"
            )
        if code in (HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS) or code >= 500:
            raise TransientError(
                f"HTTP {code} ({said})",
                retry_after=retry_after_seconds(answer.headers.get("Retry-After"), self.clock.time()),
            )
        if code >= 400:
            raise ApiError(f"{label}: {host} refused the request (HTTP {code}): {said}")
        if code >= 300:
            raise ApiError(f"{label}: unexpected redirect (HTTP {code}) from {host}")
        try:
            return decode_json(answer.body)
        except ValueError as exc:
            reason = self._api_text(str(exc), 80) if "duplicate" in str(exc) or "nested" in str(exc) else ""
            detail = f": {reason}" if reason else ""
            raise MalformedResponse(f"the answer is not JSON ({_describe_body(answer)}){detail}") from exc

    def _checked(self, label: str, body: Any) -> Mapping[str, Any]:
        """The body as a mapping, with API error bodies raised as errors naming ``label``."""
        try:
            return check_api_error(body)
        except UnknownJob as exc:
            raise UnknownJob(
                f"{label}: not found at {self.settings.api_url} ({self._api_text(str(exc))}); check "
                f"the id and the account service id "
                f"{self.settings.account_service_id or '(none given: the token names it)'}"
            ) from exc
        except ApiError as exc:
            raise ApiError(f"{label}: the API reported an error: {self._api_text(str(exc))}") from exc
        except MalformedResponse as exc:
            raise MalformedResponse(f"malformed answer: {self._api_text(str(exc))}") from exc

    def _timeout_until(self, deadline: float) -> float:
        remaining = deadline - self.clock.monotonic()
        if remaining <= 0:
            raise TimedOut("the deadline passed")
        return max(0.05, min(self.settings.request_timeout, remaining))

    def _get_once(self, job: JobRef, deadline: float) -> JobStatus:
        body = self.request_json(job.label, job.status_path, {}, self._timeout_until(deadline))
        checked = self._checked(job.label, body)
        try:
            check_job_id(checked, job.kind, job.job_id)
            status = parse_status(checked)
        except MalformedResponse as exc:
            raise MalformedResponse(f"malformed answer: {self._api_text(str(exc))}") from exc
        # The API's own words go on into messages and reports: cleaned here, where they enter.
        status = dataclasses.replace(
            status,
            state_name=self._api_text(status.state_name, STATE_NAME_LIMIT),
            error=self._api_text(status.error, JOB_ERROR_LIMIT) if status.error is not None else None,
        )
        self.reporter.debug(
            f"{job.label}: state={status.state_id}/{status.state_name!r} progress={status.progress} "
            f"eta={status.eta} failed={status.failed} error={status.error!r}"
        )
        self._note_ignored(job.label, status.ignored)
        return status

    def _note_ignored(self, label: str, ignored: tuple[IgnoredField, ...]) -> None:
        """Say once per job, in verbose output, which informing field could not be read."""
        for field in ignored:
            if (label, field.name) not in self._noted:
                self._noted.add((label, field.name))
                self.reporter.debug(f"{label}: {self._api_text(str(field))}")

    def read(
        self,
        label: str,
        path: str,
        params: Mapping[str, str],
        deadline: float,
        parse: Callable[[Mapping[str, Any]], T],
    ) -> T:
        """A read-only GET of any endpoint, parsed by ``parse``, retried like a status poll."""

        def once() -> T:
            return parse(
                self._checked(label, self.request_json(label, path, params, self._timeout_until(deadline)))
            )

        result: T = self._retrying(label, deadline)(once)
        return result

    def create(
        self, label: str, path: str, params: Mapping[str, str], deadline: float | None = None
    ) -> Mapping[str, Any]:
        """A GET that starts a job: sent once, never retried (a retry could start a second job).

        Bounded like any exchange, by the request timeout and the overall ``deadline``."""
        timeout = self._timeout_until(deadline) if deadline is not None else self.settings.request_timeout
        return self._checked(label, self.request_json(label, path, params, timeout))

    # -- with retries ------------------------------------------------------------------------

    def _wait_strategy(self, deadline: float) -> Callable[[tenacity.RetryCallState], float]:
        cap = max(self.first_retry_wait, self.settings.poll_interval)
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.first_retry_wait, max=cap, jitter=self.first_retry_wait
        )

        attempts: collections.deque[float] = collections.deque(maxlen=MAX_ATTEMPTS_PER_MINUTE)

        def wait(state: tenacity.RetryCallState) -> float:
            return max(pace(), hinted_or_backoff(state))

        def pace() -> float:
            # The attempt just made; if the last minute already holds the most allowed, wait
            # until the oldest of them is a minute old.
            now = self.clock.monotonic()
            attempts.append(now)
            if len(attempts) < MAX_ATTEMPTS_PER_MINUTE:
                return 0.0
            return max(0.0, attempts[0] + 60.0 - now)

        def hinted_or_backoff(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientError) and exc.retry_after is not None:
                # The server's hint is honoured, but never below the first backoff step: a
                # Retry-After of 0, negative or in the past must not make the gate hammer the API.
                # If the hint passes the deadline, the stop fires.
                return max(self.first_retry_wait, exc.retry_after)
            delay = float(backoff(state))
            room = deadline - self.clock.monotonic() - 2 * LAST_TRY_MARGIN
            # Squeeze our own backoff so one last try still fits before the deadline, unless
            # there is too little room left for it to be worth anything (then the stop fires).
            if delay > room >= min(delay, self.first_retry_wait) / 2:
                return room
            return delay

        return wait

    def _retrying(self, label: str, deadline: float) -> tenacity.Retrying:
        def past_deadline(state: tenacity.RetryCallState) -> bool:
            return self.clock.monotonic() + state.upcoming_sleep > deadline - LAST_TRY_MARGIN

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.reporter.progress(
                f"{label}: {exc}; retrying in {format_duration(state.upcoming_sleep)} "
                f"(attempt {state.attempt_number + 1})"
            )

        def give_up(state: tenacity.RetryCallState) -> NoReturn:
            exc = state.outcome.exception() if state.outcome else None
            raise TimedOut(f"last error: {exc}")

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientError),
            stop=past_deadline,
            wait=self._wait_strategy(deadline),
            sleep=self.clock.sleep,
            before_sleep=log_retry,
            retry_error_callback=give_up,
        )

    def fetch(self, job: JobRef, deadline: float) -> JobStatus:
        """The job's status, retrying transient failures; ``TimedOut`` when the deadline stops it."""
        status: JobStatus = self._retrying(job.label, deadline)(self._get_once, job, deadline)
        return status
