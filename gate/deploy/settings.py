"""What ``deploy`` needs on top of the common settings: read, and checked before anything starts."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.config import DEPLOY_OPTIONS, Settings, read_options, read_source_url
from gate.deploy.choices import InstallAt, InstallMode, OnEmptyDiff, OnLocked
from gate.errors import ConfigError


@dataclass(frozen=True)
class DeploySettings:
    """What ``deploy`` needs on top of the common settings."""

    image_id: int | None
    machine_id: int | None
    desc: str | None
    url: str | None
    restart: bool | None
    game_build: str | None
    full: bool
    force: bool
    max_failed_machines: int
    update_id: int | None
    diff_id: int | None
    version_id: int | None
    skip_update: bool
    skip_diff: bool
    skip_version: bool
    skip_install: bool
    install_at: InstallAt = field(default_factory=InstallAt)
    disable_timeout_minutes: int | None = None
    disable_percentage: int | None = None
    game_id: int | None = None
    on_empty_diff: OnEmptyDiff = OnEmptyDiff.REJECT
    on_locked: OnLocked = OnLocked.FAIL
    reject_on_abort: bool = False

    @property
    def watches_install(self) -> bool:
        """Whether the fleet install is watched (not skipped, not left manual)."""
        return not self.skip_install and self.install_at.mode is not InstallMode.MANUAL


def load_deploy_settings(
    args: argparse.Namespace,
    env: Mapping[str, str],
    yaml_values: Mapping[str, Any],
    settings: Settings,
    *,
    check_chain: bool = True,
) -> DeploySettings:
    """Read the deploy settings by the usual precedence, each parsed by its row of the option
    table, and check that the chain can run."""
    if len(settings.update_ids) > 1:
        raise ConfigError("deploy follows one image update; give at most one --update-id")
    # The source URL has a reader of its own (it may come from a file, and holds keys).
    values = read_options([o for o in DEPLOY_OPTIONS if o.key != "url"], args, env, yaml_values)
    deploy = DeploySettings(
        url=read_source_url(args, env, yaml_values),
        update_id=settings.update_ids[0] if settings.update_ids else None,
        disable_timeout_minutes=values.pop("disable_timeout"),
        **values,
    )
    if check_chain:
        _check_chain(deploy)
        _check_install_and_lock(deploy, settings)
    return deploy


def _check_chain(d: DeploySettings) -> None:
    """Refuse, before any job starts, a chain that would stop half-way for want of a setting."""
    needs: list[str] = []
    creates_update = d.update_id is None and not d.skip_update
    creates_diff = d.diff_id is None and not d.skip_diff
    creates_version = d.version_id is None and not d.skip_version
    if creates_update:
        needs += ["image_id", "machine_id", "desc"]
    if creates_diff:
        needs += ["image_id", "machine_id"]
    if d.watches_install:
        needs += ["image_id"]
    missing = [name for name in dict.fromkeys(needs) if getattr(d, name) is None]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise ConfigError(f"deploy needs {flags} (or the matching CLANFORGE_* variables or YAML keys)")
    if creates_version:
        if d.restart is None:
            raise ConfigError("the image version step needs --restart or --no-restart (CLANFORGE_RESTART)")
        if d.diff_id is None and d.skip_diff:
            raise ConfigError("the image version step needs a diff: give --diff-id or do not skip the diff")


def _check_install_and_lock(d: DeploySettings, settings: Settings) -> None:
    """Refuse, before anything starts, a watch or a lock rule that could not be kept."""
    creates_version = d.version_id is None and not d.skip_version
    if d.watches_install:
        if settings.account_service_id is None:
            raise ConfigError(
                "watching the fleet install needs --account-service-id (CLANFORGE_ACCOUNT_SERVICE_ID): "
                "the image status names it in its path even with a token; give it, or use "
                "--install-at manual or --skip-install"
            )
        if not creates_version and d.version_id is None:
            raise ConfigError(
                "watching the fleet install needs the version whose install it proves: give "
                "--version-id (install jobs are told apart by it), or --skip-install"
            )
    if d.on_locked is OnLocked.REJECT and d.game_id is None:
        raise ConfigError(
            "--on-locked reject needs --game-id (CLANFORGE_GAME_ID): the image's lock is read from "
            "/cfp/v1/image/options, which takes the game id with the image id"
        )
