"""The option table: each setting's flag, environment variable, YAML key, parser, default, help
text and commands, in one place. The parser, the YAML key check, the lookups and the CI
wrappers' drift tests all read it. Pure.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gate.deploy import choices as deploy
from gate.durations import parse_duration
from gate.errors import ConfigError, shown
from gate.kinds import WAITABLE, JobKind


class Form(str, enum.Enum):
    """How a setting is written on the command line."""

    VALUE = "value"  # --flag VALUE
    SWITCH = "switch"  # --flag (true when given)
    YES_NO = "yes_no"  # --flag / --no-flag
    REPEAT = "repeat"  # --flag VALUE, given again for more


WAIT, DEPLOY, CHECK = "wait", "deploy", "check"


@dataclass(frozen=True)
class Option:
    """One setting: where it can come from, how it is parsed, and what ``--help`` says of it.

    The YAML key is ``key``; ``parse`` turns a raw value (flag, variable or YAML) into the
    setting, raising ``ConfigError`` with a one-line message.
    """

    key: str
    flag: str
    env: str
    default: Any = None
    help: str = ""
    parse: Callable[[Any], Any] = str
    form: Form = Form.VALUE
    commands: frozenset[str] = frozenset({WAIT, DEPLOY, CHECK})

    @property
    def metavar(self) -> str:
        return "ID" if self.form is Form.REPEAT else self.key.upper()


DEFAULT_API_URL = "https://api.multiplay.co.uk"


JOB_KINDS = tuple(kind.value for kind in WAITABLE)

CONFIG_ENV = "CLANFORGE_CONFIG"

# Credentials are only ever read from the environment (or files it names).
ACCESS_KEY_ENV = "CLANFORGE_ACCESS_KEY"
SECRET_KEY_ENV = "CLANFORGE_SECRET_KEY"
TOKEN_ENV = "CLANFORGE_TOKEN"
CREDENTIALS_HINT = (
    f"set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} (Basic auth) or {TOKEN_ENV} (Bearer) in the "
    f"environment, or {ACCESS_KEY_ENV}_FILE/{SECRET_KEY_ENV}_FILE/{TOKEN_ENV}_FILE naming files "
    "that hold them"
)


_CI_VARIABLE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def unexpanded_variable_hint(value: object) -> str:
    """For a value that is still a ``$NAME`` reference: what to check, else nothing.

    GitLab and Jenkins leave a reference to an undefined variable as it is, so a ``$UPDATE_ID``
    whose job did not hand it on reaches the gate verbatim.
    """
    if isinstance(value, str) and _CI_VARIABLE.search(value):
        return (
            "; it looks like a CI variable that was not set: check that the job that makes it runs "
            "in an earlier stage (or is in needs:) and hands it on in its dotenv report"
        )
    return ""


# An id is at most this many ASCII digits (``str.isdigit`` also takes superscripts and the
# digits of other scripts, which ``int`` would read as another number or refuse).
MAX_ID_DIGITS = 20
MAX_JOB_IDS = 1000
_ID_TEXT = re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}")


def ascii_digits(value: object) -> str | None:
    """The text of a whole number given as an int or a string of ASCII digits, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).strip()
    return text if _ID_TEXT.fullmatch(text) else None


def parse_job_id(value: object, setting: str) -> int:
    """A positive whole number of at most 20 ASCII digits, given as a number or a string."""
    text = ascii_digits(value)
    if text is None or int(text) <= 0:
        raise ConfigError(
            f"{setting}: {shown(value)} is not a job id; it must be a positive whole number "
            f"(ASCII digits, at most {MAX_ID_DIGITS})" + unexpanded_variable_hint(value)
        )
    return int(text)


def summarise_ids(ids: Sequence[int], limit: int = 5) -> str:
    """Ids for a message: all of them when few, else the first few and how many more."""
    if len(ids) <= limit:
        return ",".join(str(i) for i in ids)
    return ",".join(str(i) for i in ids[:limit]) + f",... ({len(ids) - limit} more)"


def parse_job_ids(value: object, setting: str = "update_id") -> tuple[int, ...]:
    """One id, a comma-separated string of ids, or a list of them; duplicates dropped."""
    items: list[object] = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, str):
            items.extend(part for part in item.split(",") if part.strip())
        else:
            items.append(item)
        if len(items) > MAX_JOB_IDS:
            break
    if not items:
        raise ConfigError(f"{setting}: no job id given")
    ids = tuple(dict.fromkeys(parse_job_id(item, setting) for item in items))
    if len(ids) > MAX_JOB_IDS:
        raise ConfigError(f"{setting}: more than {MAX_JOB_IDS} job ids; split them over several runs")
    return ids


def parse_bool(value: object, setting: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{setting}: {shown(value)} is not true or false")


def parse_job_kind(value: object) -> JobKind:
    try:
        return JobKind.parse(str(value))
    except ValueError:
        raise ConfigError(
            f"job: {shown(value)} is not a job kind; use one of {', '.join(JOB_KINDS)}"
        ) from None


def parse_account_service_id(value: object) -> str:
    text = ascii_digits(value)
    if text is None:
        raise ConfigError(
            f"account_service_id: {shown(value)} is not an account service id (ASID); it must be a "
            "whole number, as shown on the Clanforge dashboard" + unexpanded_variable_hint(value)
        )
    return text


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (localhost or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _has_userinfo(text: str) -> bool:
    """Whether a URL-like text holds ``user[:password]@`` before its host, whatever its scheme."""
    rest = text.split("://", 1)[1] if "://" in text else text
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return "@" in authority


def parse_api_url(value: object) -> str:
    """https, or http on a loopback host (a local simulator); path prefix kept, no trailing slash."""
    text = str(value).strip() if isinstance(value, str) else ""
    # Checked before anything echoes the value: the password must not reach a log.
    if _has_userinfo(text):
        raise ConfigError(
            "api_url: must not hold credentials (user:password@ before the host); the value is not "
            f"shown; {CREDENTIALS_HINT}"
        )
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"api_url: {shown(value)} is not an http(s) URL; e.g. {DEFAULT_API_URL}")
    if parts.query or parts.fragment:
        raise ConfigError(f"api_url: {shown(text)} must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"api_url: {shown(text)} is plain http; use https (http is allowed only for loopback hosts "
            "such as 127.0.0.1 or localhost)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"api_url: {shown(text)} has a bad port") from exc
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _duration(setting: str) -> Callable[[Any], float]:
    return lambda value: parse_duration(value, setting)


def _flag(setting: str) -> Callable[[Any], bool]:
    return lambda value: parse_bool(value, setting)


def _job_id(setting: str) -> Callable[[Any], int]:
    return lambda value: parse_job_id(value, setting)


def _machines(setting: str) -> Callable[[Any], int]:
    def parse(value: object) -> int:
        text = ascii_digits(value)
        if text is None:
            raise ConfigError(f"{setting}: {shown(value)} is not a whole number of machines (0 or more)")
        return int(text)

    return parse


def _choice(setting: str, choices: type[deploy.OnEmptyDiff] | type[deploy.OnLocked]) -> Callable[[Any], Any]:
    return lambda value: choices(deploy.parse_choice(value, setting, choices))


_WAIT_ONLY = frozenset({WAIT})
_DEPLOY_AND_CHECK = frozenset({DEPLOY, CHECK})

OPTIONS: tuple[Option, ...] = (
    Option("update_ids", "--update-id", "CLANFORGE_UPDATE_ID",
           help="job id to wait for (digits); repeat it or use commas to wait for several",
           parse=lambda value: parse_job_ids(value, "update_id"), form=Form.REPEAT),
    Option("job", "--job", "CLANFORGE_JOB", JobKind.IMAGE_UPDATE.value,
           help="job kind: imageupdate (default), imagediff or imageversion",
           parse=lambda value: parse_job_kind(value), commands=_WAIT_ONLY),
    Option("account_service_id", "--account-service-id", "CLANFORGE_ACCOUNT_SERVICE_ID",
           help="account service id (ASID) of the update (optional with CLANFORGE_TOKEN)",
           parse=lambda value: parse_account_service_id(value)),
    Option("api_url", "--api-url", "CLANFORGE_API_URL", DEFAULT_API_URL,
           help="API base URL (default https://api.multiplay.co.uk)",
           parse=lambda value: parse_api_url(value)),
    Option("timeout", "--timeout", "CLANFORGE_TIMEOUT", "30m",
           help="overall deadline, e.g. 30m (default 30m)", parse=_duration("timeout")),
    Option("poll_interval", "--poll-interval", "CLANFORGE_POLL_INTERVAL", "10s",
           help="longest wait between polls, e.g. 10s (default 10s)", parse=_duration("poll_interval")),
    Option("min_poll_interval", "--min-poll-interval", "CLANFORGE_MIN_POLL_INTERVAL", "1s",
           help="shortest wait between polls (default 1s)", parse=_duration("min_poll_interval")),
    Option("request_timeout", "--request-timeout", "CLANFORGE_REQUEST_TIMEOUT", "10s",
           help="timeout of one request (default 10s)", parse=_duration("request_timeout")),
    Option("result_file", "--result-file", "CLANFORGE_RESULT_FILE",
           help="write a JSON result here, whatever the outcome"),
    Option("junit_file", "--junit-file", "CLANFORGE_JUNIT_FILE",
           help="write a JUnit XML report here, whatever the outcome"),
    Option("dotenv_file", "--dotenv-file", "CLANFORGE_DOTENV_FILE",
           help="write a dotenv report here (default clanforge-gate.env under GitLab CI)"),
    Option("fail_fast", "--fail-fast", "CLANFORGE_FAIL_FAST", False,
           help="with several jobs, stop as soon as one fails",
           parse=_flag("fail_fast"), form=Form.SWITCH, commands=_WAIT_ONLY),
)  # fmt: skip

# Settings of ``clanforge-gate deploy`` (and ``check``, which proves a deploy's plan).
DEPLOY_OPTIONS: tuple[Option, ...] = tuple(
    Option(key, flag, env, default, help=text, parse=parse, form=form, commands=_DEPLOY_AND_CHECK)
    for key, flag, env, default, text, parse, form in (
        ("image_id", "--image-id", "CLANFORGE_IMAGE_ID", None, "image to update",
         _job_id("image_id"), Form.VALUE),
        ("machine_id", "--machine-id", "CLANFORGE_MACHINE_ID", None,
         "machine that builds the update and the diff", _job_id("machine_id"), Form.VALUE),
        ("desc", "--desc", "CLANFORGE_DESC", None, "description of the image update", str, Form.VALUE),
        ("url", "--url", "CLANFORGE_URL", None,
         "where the update's files come from (s3://, gs://, steam://...), if not the image's default",
         str, Form.VALUE),
        ("restart", "--restart", "CLANFORGE_RESTART", None,
         "restart servers on the new version (required for the version step)", _flag("restart"),
         Form.YES_NO),
        ("game_build", "--game-build", "CLANFORGE_GAME_BUILD", None,
         "game build label of the new image version", str, Form.VALUE),
        ("full", "--full", "CLANFORGE_FULL", False, "publish a full version rather than a diff",
         _flag("full"), Form.SWITCH),
        ("force", "--force", "CLANFORGE_FORCE", False, "force the image version", _flag("force"),
         Form.SWITCH),
        ("max_failed_machines", "--max-failed-machines", "CLANFORGE_MAX_FAILED_MACHINES", 0,
         "machines allowed to fail the install (default 0)", _machines("max_failed_machines"), Form.VALUE),
        ("diff_id", "--diff-id", "CLANFORGE_DIFF_ID", None,
         "wait on this image diff instead of creating one (resume)", _job_id("diff_id"), Form.VALUE),
        ("version_id", "--version-id", "CLANFORGE_VERSION_ID", None,
         "wait on this image version instead of creating one (resume)", _job_id("version_id"), Form.VALUE),
        ("skip_update", "--skip-update", "CLANFORGE_SKIP_UPDATE", False, "do not create an image update",
         _flag("skip_update"), Form.SWITCH),
        ("skip_diff", "--skip-diff", "CLANFORGE_SKIP_DIFF", False, "do not create an image diff",
         _flag("skip_diff"), Form.SWITCH),
        ("skip_version", "--skip-version", "CLANFORGE_SKIP_VERSION", False, "do not create an image version",
         _flag("skip_version"), Form.SWITCH),
        ("skip_install", "--skip-install", "CLANFORGE_SKIP_INSTALL", False, "do not watch the fleet install",
         _flag("skip_install"), Form.SWITCH),
        ("install_at", "--install-at", "CLANFORGE_INSTALL_AT", "now",
         "when the fleet install starts: now (default), manual (left to the dashboard; the fleet is not "
         "watched) or a unix time", deploy.parse_install_at, Form.VALUE),
        ("disable_timeout", "--disable-timeout", "CLANFORGE_DISABLE_TIMEOUT", None,
         "disable a machine that has not installed after this long, e.g. 4h (sent in minutes)",
         deploy.parse_disable_timeout, Form.VALUE),
        ("disable_percentage", "--disable-percentage", "CLANFORGE_DISABLE_PERCENTAGE", None,
         "disable_percentage of the version create (0-100)",
         lambda value: deploy.parse_percentage(value, "disable_percentage"), Form.VALUE),
        ("game_id", "--game-id", "CLANFORGE_GAME_ID", None,
         "game of the image: lets the image's lock be read before anything is created", _job_id("game_id"),
         Form.VALUE),
        ("on_empty_diff", "--on-empty-diff", "CLANFORGE_ON_EMPTY_DIFF", "reject",
         "a diff that changes nothing: reject (default: exit 0, nothing changed) or publish (a full version)",
         _choice("on_empty_diff", deploy.OnEmptyDiff), Form.VALUE),
        ("on_locked", "--on-locked", "CLANFORGE_ON_LOCKED", "fail",
         "image locked by another diff: fail (default) or reject that diff, then go on",
         _choice("on_locked", deploy.OnLocked), Form.VALUE),
        ("reject_on_abort", "--reject-on-abort", "CLANFORGE_REJECT_ON_ABORT", False,
         "reject the diff made by a deploy cancelled or timed out before its version",
         _flag("reject_on_abort"), Form.SWITCH),
    )
)  # fmt: skip
# ``update_id`` (one) and ``update_ids`` (a list) are both accepted in YAML.
YAML_KEYS = frozenset({option.key for option in (*OPTIONS, *DEPLOY_OPTIONS)} | {"update_id"})
