"""Settings: read from flags, the environment and a YAML file, validated in one pass.

Pure apart from reading the YAML file and credential files named by the user. Precedence is
flag > environment > YAML > default; an empty environment variable counts as unset. A CI
wrapper's inputs are laid over the environment before this reads it (gate/inputs.py).
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gate.durations import format_duration
from gate.errors import ConfigError, shown
from gate.kinds import JobKind
from gate.options import (
    ACCESS_KEY_ENV,
    CONFIG_ENV,
    CREDENTIALS_HINT,
    DEFAULT_API_URL,
    DEPLOY_OPTIONS,
    JOB_KINDS,
    MAX_ID_DIGITS,
    MAX_JOB_IDS,
    OPTIONS,
    SECRET_KEY_ENV,
    TOKEN_ENV,
    YAML_KEYS,
    Option,
    ascii_digits,
    is_loopback,
    parse_account_service_id,
    parse_api_url,
    parse_bool,
    parse_job_id,
    parse_job_ids,
    parse_job_kind,
    summarise_ids,
    unexpanded_variable_hint,
)

# The option table and the value parsers live in gate.options; they are named here too, where
# the settings are read, for the modules that import them from here.
__all__ = [
    "ACCESS_KEY_ENV",
    "CONFIG_ENV",
    "CREDENTIALS_HINT",
    "DEFAULT_API_URL",
    "DEPLOY_OPTIONS",
    "JOB_KINDS",
    "MAX_ID_DIGITS",
    "MAX_JOB_IDS",
    "OPTIONS",
    "SECRET_KEY_ENV",
    "TOKEN_ENV",
    "YAML_KEYS",
    "Credentials",
    "Option",
    "Settings",
    "ascii_digits",
    "is_loopback",
    "load_credentials",
    "load_settings",
    "lookup",
    "parse_account_service_id",
    "parse_api_url",
    "parse_bool",
    "parse_job_id",
    "parse_job_ids",
    "parse_job_kind",
    "read_config_values",
    "read_options",
    "read_source_url",
    "result_file_hint",
    "shown",
    "summarise_ids",
    "unexpanded_variable_hint",
    "verbosity_of",
]

CREDENTIAL_WORDS = ("access_key", "secret_key", "token", "password", "secret", "auth", "credentials")


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
    credentials: Credentials = field(repr=False)
    junit_file: str | None = None
    dotenv_file: str | None = None
    job: JobKind = JobKind.IMAGE_UPDATE
    fail_fast: bool = False

    @property
    def update_id(self) -> int:
        """The first (often the only) job id."""
        return self.update_ids[0]

    def deadline(self, started: float, *, check: bool = False) -> float:
        """The run's one overall deadline on the monotonic clock: ``timeout`` after it started.

        Everything that waits is handed this value (the wait loop, each step of a deploy, check);
        ``check`` makes a few reads, so it also gives up after ``CHECK_REQUEST_TIMEOUTS`` request
        timeouts when that comes sooner.
        """
        budget = min(self.timeout, CHECK_REQUEST_TIMEOUTS * self.request_timeout) if check else self.timeout
        return started + budget


# ``check`` reads a few answers and no job: it gives up after this many request timeouts.
CHECK_REQUEST_TIMEOUTS = 4


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


def read_options(
    options: Sequence[Option],
    args: argparse.Namespace,
    env: Mapping[str, str],
    yaml_values: Mapping[str, Any],
) -> dict[str, Any]:
    """Each option's value by precedence, parsed by its own row of the table (None where it is
    neither given nor has a default)."""
    values: dict[str, Any] = {}
    for option in options:
        raw = lookup(args, env, yaml_values, option)
        values[option.key] = None if raw is None else option.parse(raw)
    return values


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
        values[option.key] = option.parse(raw)
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
