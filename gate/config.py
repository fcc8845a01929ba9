"""Settings: read from flags, the environment and a YAML file, validated in one pass.

Pure apart from reading the YAML file and credential files named by the user. Precedence is
flag > environment > YAML > default; an empty environment variable counts as unset. A CI
wrapper's inputs are laid over the environment before this reads it (gate/inputs.py).
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from gate.errors import ConfigError
from gate.kinds import WAITABLE, JobKind

DEFAULT_API_URL = "https://api.multiplay.co.uk"


@dataclass(frozen=True)
class Option:
    """One setting: where it can come from and how it is parsed."""

    key: str
    flag: str
    env: str
    default: Any = None


JOB_KINDS = tuple(kind.value for kind in WAITABLE)

OPTIONS: tuple[Option, ...] = (
    Option("update_ids", "--update-id", "CLANFORGE_UPDATE_ID"),
    Option("job", "--job", "CLANFORGE_JOB", "imageupdate"),
    Option("account_service_id", "--account-service-id", "CLANFORGE_ACCOUNT_SERVICE_ID"),
    Option("api_url", "--api-url", "CLANFORGE_API_URL", DEFAULT_API_URL),
    Option("timeout", "--timeout", "CLANFORGE_TIMEOUT", "30m"),
    Option("poll_interval", "--poll-interval", "CLANFORGE_POLL_INTERVAL", "10s"),
    Option("min_poll_interval", "--min-poll-interval", "CLANFORGE_MIN_POLL_INTERVAL", "1s"),
    Option("request_timeout", "--request-timeout", "CLANFORGE_REQUEST_TIMEOUT", "10s"),
    Option("result_file", "--result-file", "CLANFORGE_RESULT_FILE"),
    Option("junit_file", "--junit-file", "CLANFORGE_JUNIT_FILE"),
    Option("dotenv_file", "--dotenv-file", "CLANFORGE_DOTENV_FILE"),
    Option("fail_fast", "--fail-fast", "CLANFORGE_FAIL_FAST", False),
)
# Settings of ``clanforge-gate deploy`` only (see gate/deploy.py).
DEPLOY_OPTIONS: tuple[Option, ...] = (
    Option("image_id", "--image-id", "CLANFORGE_IMAGE_ID"),
    Option("machine_id", "--machine-id", "CLANFORGE_MACHINE_ID"),
    Option("desc", "--desc", "CLANFORGE_DESC"),
    Option("url", "--url", "CLANFORGE_URL"),
    Option("restart", "--restart", "CLANFORGE_RESTART"),
    Option("game_build", "--game-build", "CLANFORGE_GAME_BUILD"),
    Option("full", "--full", "CLANFORGE_FULL", False),
    Option("force", "--force", "CLANFORGE_FORCE", False),
    Option("max_failed_machines", "--max-failed-machines", "CLANFORGE_MAX_FAILED_MACHINES", 0),
    Option("diff_id", "--diff-id", "CLANFORGE_DIFF_ID"),
    Option("version_id", "--version-id", "CLANFORGE_VERSION_ID"),
    Option("skip_update", "--skip-update", "CLANFORGE_SKIP_UPDATE", False),
    Option("skip_diff", "--skip-diff", "CLANFORGE_SKIP_DIFF", False),
    Option("skip_version", "--skip-version", "CLANFORGE_SKIP_VERSION", False),
    Option("skip_install", "--skip-install", "CLANFORGE_SKIP_INSTALL", False),
    Option("install_at", "--install-at", "CLANFORGE_INSTALL_AT", "now"),
    Option("disable_timeout", "--disable-timeout", "CLANFORGE_DISABLE_TIMEOUT"),
    Option("disable_percentage", "--disable-percentage", "CLANFORGE_DISABLE_PERCENTAGE"),
    Option("game_id", "--game-id", "CLANFORGE_GAME_ID"),
    Option("on_empty_diff", "--on-empty-diff", "CLANFORGE_ON_EMPTY_DIFF", "reject"),
    Option("on_locked", "--on-locked", "CLANFORGE_ON_LOCKED", "fail"),
    Option("reject_on_abort", "--reject-on-abort", "CLANFORGE_REJECT_ON_ABORT", False),
)
# ``update_id`` (one) and ``update_ids`` (a list) are both accepted in YAML.
YAML_KEYS = frozenset({option.key for option in (*OPTIONS, *DEPLOY_OPTIONS)} | {"update_id"})
CONFIG_ENV = "CLANFORGE_CONFIG"

# Credentials are only ever read from the environment (or files it names).
ACCESS_KEY_ENV = "CLANFORGE_ACCESS_KEY"
SECRET_KEY_ENV = "CLANFORGE_SECRET_KEY"
TOKEN_ENV = "CLANFORGE_TOKEN"
CREDENTIAL_WORDS = ("access_key", "secret_key", "token", "password", "secret", "auth", "credentials")
CREDENTIALS_HINT = (
    f"set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} (Basic auth) or {TOKEN_ENV} (Bearer) in the "
    f"environment, or {ACCESS_KEY_ENV}_FILE/{SECRET_KEY_ENV}_FILE/{TOKEN_ENV}_FILE naming files "
    "that hold them"
)

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)")
_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Credentials:
    """Basic (access key + secret key) or Bearer (token). The secret never shows in a repr."""

    scheme: Literal["basic", "bearer"]
    user: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)

    def header(self) -> str:
        """The value of the Authorization header."""
        if self.scheme == "bearer":
            return f"Bearer {self.secret}"
        import base64

        token = base64.b64encode(f"{self.user}:{self.secret}".encode()).decode("ascii")
        return f"Basic {token}"

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never be shown: the keys and the header's encoding."""
        values = [self.secret, self.header().split(" ", 1)[1]]
        if self.user:
            values.append(self.user)
        return tuple(v for v in values if v)

    @property
    def env_hint(self) -> str:
        return TOKEN_ENV if self.scheme == "bearer" else f"{ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"


@dataclass(frozen=True)
class Settings:
    """Everything the wait needs, validated."""

    update_ids: tuple[int, ...]
    # None only with a Bearer token, which names its account (see load_settings).
    account_service_id: str | None
    api_url: str
    timeout: float
    poll_interval: float
    min_poll_interval: float
    request_timeout: float
    result_file: str | None
    verbosity: int
    credentials: Credentials = field(repr=False)
    junit_file: str | None = None
    dotenv_file: str | None = None
    job: JobKind = JobKind.IMAGE_UPDATE
    fail_fast: bool = False

    @property
    def update_id(self) -> int:
        """The first (often the only) job id."""
        return self.update_ids[0]


def parse_duration(value: object, setting: str) -> float:
    """A number of seconds, or a string like ``500ms``, ``90s``, ``15m``, ``1h30m``."""
    seconds: float | None = None
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if _PLAIN_NUMBER.fullmatch(text):
            seconds = float(text)
        elif text and _DURATION_PART.sub("", text) == "":
            seconds = sum(
                float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text)
            )
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(
            f"{setting}: {shown(value)} is not a duration; use seconds (e.g. 90 or 0.5) "
            "or a string like 500ms, 90s, 15m, 1h30m"
        )
    return seconds


def format_duration(seconds: float) -> str:
    """``3m10s``-style, for messages."""
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


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


def shown(value: object, limit: int = 60) -> str:
    """A value for a message: its repr, cut short so one bad setting cannot flood a log."""
    text = repr(value) if not isinstance(value, str) or len(value) <= 4 * limit else repr(value[: 4 * limit])
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


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


# A settings file is a few hundred bytes; a secret a few dozen. Anything far larger is a mistake
# (or /dev/zero) and is refused before it is read whole.
CONFIG_FILE_MAX_BYTES = 1024 * 1024
SECRET_FILE_MAX_BYTES = 64 * 1024


def read_capped_text(path: str, limit: int, what: str) -> str:
    """A UTF-8 text file of at most ``limit`` bytes; ``what`` names it in every error."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > limit:
        raise ConfigError(f"{what} {path}: larger than {limit // 1024} KiB; point it at the right file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} {path}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from exc


def read_yaml_config(path: str) -> dict[str, Any]:
    """Read and check a YAML settings file: a mapping of known keys, no credentials."""
    text = read_capped_text(path, CONFIG_FILE_MAX_BYTES, "config file")
    # Only runs that have a config file pay for importing YAML.
    from gate.yaml_settings import parse_settings_yaml

    data = parse_settings_yaml(text, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: must be a mapping of settings, e.g. 'update_id: 1234'")
    for key in data:
        name = str(key)
        lowered = name.lower().replace("-", "_")
        if any(word in lowered for word in CREDENTIAL_WORDS):
            raise ConfigError(
                f"config file {path}: {shown(name)} looks like a credential, which is never read from a "
                f"file of settings; remove it and {CREDENTIALS_HINT}"
            )
        if name not in YAML_KEYS:
            close = difflib.get_close_matches(name, sorted(YAML_KEYS), n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(YAML_KEYS))}"
            )
            raise ConfigError(f"config file {path}: unknown key {shown(name)}{hint}")
    return {str(k): v for k, v in data.items()}


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else None


# A credential must fit in an HTTP header as it is, and be long enough that masking it (and
# every 8-character piece of it) in the output does not garble ordinary words.
MIN_CREDENTIAL_LENGTH = 8
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


def _secret_from(env: Mapping[str, str], name: str) -> str | None:
    """A credential from ``NAME`` or from the file named by ``NAME_FILE`` (not both).

    The value is checked here and never shown: an error names the variable only.
    """
    direct = _env(env, name)
    file_name = _env(env, f"{name}_FILE")
    if direct is not None and file_name is not None:
        raise ConfigError(f"both {name} and {name}_FILE are set; set only one")
    if file_name is None:
        if direct is None:
            return None
        source, value = name, direct.strip()
    else:
        source = f"{name}_FILE"
        value = read_capped_text(file_name, SECRET_FILE_MAX_BYTES, source).strip()
        if not value:
            raise ConfigError(f"{source}: {file_name} is empty")
    if not _HEADER_SAFE.fullmatch(value):
        raise ConfigError(
            f"{source}: the credential holds a line break, a space, a control character or a "
            "character that cannot go in an HTTP header (the value is not shown); copy it again"
        )
    if len(value) < MIN_CREDENTIAL_LENGTH:
        raise ConfigError(
            f"{source}: the credential is shorter than {MIN_CREDENTIAL_LENGTH} characters (the value "
            "is not shown); check that the whole key was copied"
        )
    return value


def load_credentials(env: Mapping[str, str]) -> Credentials:
    """Basic from an access/secret key pair, or Bearer from a token; exactly one of them."""
    access = _secret_from(env, ACCESS_KEY_ENV)
    secret = _secret_from(env, SECRET_KEY_ENV)
    token = _secret_from(env, TOKEN_ENV)
    if token is not None and (access is not None or secret is not None):
        raise ConfigError(
            f"both {TOKEN_ENV} and {ACCESS_KEY_ENV}/{SECRET_KEY_ENV} are set; set the token for "
            "a Bearer host or the key pair for Basic auth, not both"
        )
    if token is not None:
        return Credentials("bearer", secret=token)
    if access is not None and secret is not None:
        if ":" in access:
            raise ConfigError(f"{ACCESS_KEY_ENV} must not contain ':'; check the value")
        return Credentials("basic", user=access, secret=secret)
    if access is not None or secret is not None:
        missing = SECRET_KEY_ENV if access is not None else ACCESS_KEY_ENV
        raise ConfigError(
            f"{missing} is not set; Basic auth needs both {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"
        )
    raise ConfigError(f"no Clanforge credentials found; {CREDENTIALS_HINT}")


def _bearer_token_given(env: Mapping[str, str]) -> bool:
    return _env(env, TOKEN_ENV) is not None or _env(env, f"{TOKEN_ENV}_FILE") is not None


def lookup(
    args: argparse.Namespace, env: Mapping[str, str], yaml_values: Mapping[str, Any], option: Option
) -> Any:
    """The raw value of one setting by precedence: flag > environment > YAML > default."""
    from_flag = getattr(args, option.key, None)
    if from_flag is not None:
        return from_flag
    from_env = _env(env, option.env)
    if from_env is not None:
        return from_env
    if option.key in yaml_values and yaml_values[option.key] is not None:
        return yaml_values[option.key]
    return option.default


def _is_set(
    args: argparse.Namespace, env: Mapping[str, str], yaml_values: Mapping[str, Any], option: Option
) -> bool:
    """Whether the user gave the setting at all (flag, environment or YAML), default aside."""
    return (
        getattr(args, option.key, None) is not None
        or _env(env, option.env) is not None
        or yaml_values.get(option.key) is not None
    )


_OPTION = {option.key: option for option in OPTIONS}


def config_path(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    path: str | None = getattr(args, "config", None) or _env(env, CONFIG_ENV)
    return path


def result_file_hint(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    """Where to write the result even when the settings do not validate (flag or env only)."""
    value: str | None = getattr(args, "result_file", None) or _env(env, "CLANFORGE_RESULT_FILE")
    return value


def verbosity_of(args: argparse.Namespace) -> int:
    if getattr(args, "quiet", False):
        return -1
    return 1 if getattr(args, "verbose", False) else 0


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "update_ids": lambda v: parse_job_ids(v, "update_id"),
    "job": parse_job_kind,
    "fail_fast": lambda v: parse_bool(v, "fail_fast"),
    "account_service_id": parse_account_service_id,
    "api_url": parse_api_url,
    "timeout": lambda v: parse_duration(v, "timeout"),
    "poll_interval": lambda v: parse_duration(v, "poll_interval"),
    "min_poll_interval": lambda v: parse_duration(v, "min_poll_interval"),
    "request_timeout": lambda v: parse_duration(v, "request_timeout"),
    "result_file": lambda v: str(v),
    "junit_file": lambda v: str(v),
    "dotenv_file": lambda v: str(v),
}


def read_config_values(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    """The YAML file's settings, if one is named (``update_id`` folded into ``update_ids``)."""
    path = config_path(args, env)
    yaml_values = read_yaml_config(path) if path else {}
    if "update_id" in yaml_values:
        if "update_ids" in yaml_values:
            raise ConfigError(f"config file {path}: give 'update_id' or 'update_ids', not both")
        yaml_values["update_ids"] = yaml_values.pop("update_id")
    return yaml_values


def load_settings(
    args: argparse.Namespace,
    env: Mapping[str, str],
    yaml_values: Mapping[str, Any] | None = None,
    *,
    require_ids: bool = True,
) -> Settings:
    """Gather every setting by precedence, validate it and return ``Settings``."""
    if yaml_values is None:
        yaml_values = read_config_values(args, env)
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = lookup(args, env, yaml_values, option)
        if raw is None:
            if option.key == "update_ids" and not require_ids:
                values[option.key] = ()
                continue
            if option.key == "account_service_id" and _bearer_token_given(env):
                # The new operator's host: a token names its account; the id is sent when given.
                values[option.key] = None
                continue
            if option.key in ("update_ids", "account_service_id"):
                name = "update_id" if option.key == "update_ids" else option.key
                raise ConfigError(
                    f"{name} is required; pass {option.flag}, set {option.env}, "
                    f"or put '{name}:' in the config file"
                )
            values[option.key] = None
            continue
        values[option.key] = _PARSERS[option.key](raw)
    # An unset minimum follows the interval down (``--poll-interval 0.5s`` alone works);
    # only two explicit values that contradict each other are an error.
    if values["min_poll_interval"] > values["poll_interval"] and not _is_set(
        args, env, yaml_values, _OPTION["min_poll_interval"]
    ):
        values["min_poll_interval"] = values["poll_interval"]
    if values["min_poll_interval"] > values["poll_interval"]:
        raise ConfigError(
            f"min_poll_interval ({format_duration(values['min_poll_interval'])}) is longer than "
            f"poll_interval ({format_duration(values['poll_interval'])}); lower it or raise poll_interval"
        )
    return Settings(
        verbosity=verbosity_of(args),
        credentials=load_credentials(env),
        **values,
    )


URL_ENV = "CLANFORGE_URL"


def read_source_url(
    args: argparse.Namespace, env: Mapping[str, str], yaml_values: Mapping[str, Any]
) -> str | None:
    """The deploy's source URL (``--url``), which may hold keys: from the flag, ``CLANFORGE_URL``,
    the file ``CLANFORGE_URL_FILE`` names (so it never needs to be on a command line) or YAML."""
    from_file = _env(env, f"{URL_ENV}_FILE")
    direct = getattr(args, "url", None) or _env(env, URL_ENV)
    if from_file is not None:
        if direct is not None:
            raise ConfigError(f"both {URL_ENV}_FILE and --url or {URL_ENV} are set; set only one")
        text = read_capped_text(from_file, SECRET_FILE_MAX_BYTES, f"{URL_ENV}_FILE").strip()
        if not text:
            raise ConfigError(f"{URL_ENV}_FILE: {from_file} is empty")
        return text
    if direct is not None:
        return str(direct)
    value = yaml_values.get("url")
    return str(value) if value is not None else None
