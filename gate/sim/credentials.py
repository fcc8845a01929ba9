"""What the simulator accepts as credentials, read from the gate's own variables, and where it may listen."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

ACCESS_KEY_ENV = "CLANFORGE_ACCESS_KEY"
SECRET_KEY_ENV = "CLANFORGE_SECRET_KEY"
TOKEN_ENV = "CLANFORGE_TOKEN"
ACCOUNT_SERVICE_ID_ENV = "CLANFORGE_ACCOUNT_SERVICE_ID"

DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"
DEMO_TOKEN = "demo-token"
DEMO_ACCOUNT_SERVICE_ID = "12345"


@dataclass(frozen=True)
class SimulatorCredentials:
    """What the simulator accepts: a Basic pair, a Bearer token, or both. The repr hides them."""

    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "demo"

    @classmethod
    def demo(cls) -> SimulatorCredentials:
        return cls(DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_TOKEN, source="demo")

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries one of these credentials."""
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token is not None:
            return hmac.compare_digest(value.encode(), self.token.encode())
        if scheme.lower() == "basic" and self.access_key is not None and self.secret_key is not None:
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            expected = f"{self.access_key}:{self.secret_key}".encode()
            return hmac.compare_digest(decoded, expected)
        return False

    def describe(self) -> list[str]:
        """How to authenticate, for a terminal: demo values in full, others only by variable name."""
        if self.is_demo:
            return [
                f"{ACCESS_KEY_ENV}={self.access_key} {SECRET_KEY_ENV}={self.secret_key}  (Basic)",
                f"or {TOKEN_ENV}={self.token}  (Bearer)",
            ]
        lines = []
        if self.access_key is not None:
            lines.append(f"the values of {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} (Basic)")
        if self.token is not None:
            lines.append(f"the value of {TOKEN_ENV} (Bearer)")
        return lines


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value:
        return value
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            with open(file_name, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError:
            return None
    return None


def credentials_from_env(env: Mapping[str, str]) -> SimulatorCredentials:
    """The gate's credential variables (or their ``_FILE`` forms) when set, else the demo ones."""
    access = _env_value(env, ACCESS_KEY_ENV)
    secret = _env_value(env, SECRET_KEY_ENV)
    token = _env_value(env, TOKEN_ENV)
    if access is None or secret is None:
        access = secret = None
    if access is None and token is None:
        return SimulatorCredentials.demo()
    return SimulatorCredentials(access, secret, token, source="environment")


def account_service_id_from_env(env: Mapping[str, str]) -> str:
    return env.get(ACCOUNT_SERVICE_ID_ENV) or DEMO_ACCOUNT_SERVICE_ID


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
