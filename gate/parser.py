"""The command line's grammar: every command, flag and help text, built from the option table."""

from __future__ import annotations

import argparse
from typing import NoReturn

from gate import __version__
from gate.config import CREDENTIALS_HINT, DEPLOY_OPTIONS, OPTIONS
from gate.errors import ConfigError
from gate.sim.commands import add_commands as add_simulator_commands

PROG = "clanforge-gate"
DEFAULT_COMMAND = "wait"


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, which is our "timed out": make it a gate error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; see '{PROG} {DEFAULT_COMMAND} --help'")


class _RefuseCredential(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        # The value is deliberately not echoed.
        raise ConfigError(
            f"{option_string} is refused: a credential on the command line leaks into process "
            f"lists and logs; {CREDENTIALS_HINT}"
        )


DEPLOY_HELP = {
    "image_id": "image to update",
    "machine_id": "machine that builds the update and the diff",
    "desc": "description of the image update",
    "url": "where the update's files come from (s3://, gs://, steam://...), if not the image's default",
    "game_build": "game build label of the new image version",
    "max_failed_machines": "machines allowed to fail the install (default 0)",
    "diff_id": "wait on this image diff instead of creating one (resume)",
    "version_id": "wait on this image version instead of creating one (resume)",
    "full": "publish a full version rather than a diff",
    "force": "force the image version",
    "skip_update": "do not create an image update",
    "skip_diff": "do not create an image diff",
    "skip_version": "do not create an image version",
    "skip_install": "do not watch the fleet install",
    "install_at": "when the fleet install starts: now (default), manual (left to the dashboard; the "
    "fleet is not watched) or a unix time",
    "disable_timeout": "disable a machine that has not installed after this long, e.g. 4h (sent in minutes)",
    "disable_percentage": "disable_percentage of the version create (0-100)",
    "game_id": "game of the image: lets the image's lock be read before anything is created",
    "on_empty_diff": "a diff that changes nothing: reject (default: exit 0, nothing changed) or publish "
    "(a full version)",
    "on_locked": "image locked by another diff: fail (default) or reject that diff, then go on",
    "reject_on_abort": "reject the diff made by a deploy cancelled or timed out before its version",
}


def _add_deploy_options(parser: argparse.ArgumentParser) -> None:
    for option in DEPLOY_OPTIONS:
        text = DEPLOY_HELP.get(option.key, "") + f" [env {option.env}]"
        if option.key == "restart":
            parser.add_argument(
                "--restart",
                dest="restart",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"restart servers on the new version (required for the version step) [env {option.env}]",
            )
        elif option.default is False:
            parser.add_argument(option.flag, dest=option.key, action="store_true", default=None, help=text)
        else:
            parser.add_argument(option.flag, dest=option.key, metavar=option.key.upper(), help=text)


def _add_wait_options(parser: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> None:
    helps = {
        "update_ids": "job id to wait for (digits); repeat it or use commas to wait for several",
        "job": "job kind: imageupdate (default), imagediff or imageversion",
        "fail_fast": "with several jobs, stop as soon as one fails",
        "account_service_id": "account service id (ASID) of the update (optional with CLANFORGE_TOKEN)",
        "api_url": "API base URL (default https://api.multiplay.co.uk)",
        "timeout": "overall deadline, e.g. 30m (default 30m)",
        "poll_interval": "longest wait between polls, e.g. 10s (default 10s)",
        "min_poll_interval": "shortest wait between polls (default 1s)",
        "request_timeout": "timeout of one request (default 10s)",
        "result_file": "write a JSON result here, whatever the outcome",
        "junit_file": "write a JUnit XML report here, whatever the outcome",
        "dotenv_file": "write a dotenv report here (default clanforge-gate.env under GitLab CI)",
    }
    for option in OPTIONS:
        if option.key in exclude:
            continue
        text = helps.get(option.key, "") + f" [env {option.env}]"
        if option.key == "update_ids":
            parser.add_argument(option.flag, dest=option.key, metavar="ID", action="append", help=text)
        elif option.key == "fail_fast":
            parser.add_argument(option.flag, dest=option.key, action="store_true", default=None, help=text)
        else:
            parser.add_argument(option.flag, dest=option.key, metavar=option.key.upper(), help=text)
    parser.add_argument("--config", metavar="FILE", help="YAML file of settings [env CLANFORGE_CONFIG]")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", "-q", action="store_true", help="print only the final line")
    loudness.add_argument("--verbose", "-v", action="store_true", help="print each request and answer")
    for flag in ("--access-key", "--secret-key", "--token", "--password"):
        parser.add_argument(flag, action=_RefuseCredential, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Wait for a Clanforge image update; exit 0 succeeded, 1 failed, 2 timed out, "
        "3 gate error, 130/143 cancelled.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wait = commands.add_parser("wait", help="wait for an image update to end (the default)")
    _add_wait_options(wait)
    deploy = commands.add_parser(
        "deploy", help="run the whole deploy: image update, diff, version and fleet install"
    )
    _add_wait_options(deploy, exclude=("job", "fail_fast"))
    _add_deploy_options(deploy)
    check = commands.add_parser(
        "check", help="prove the setup read-only: host, credentials, account; with --image-id the deploy plan"
    )
    _add_wait_options(check, exclude=("job", "fail_fast"))
    _add_deploy_options(check)
    add_simulator_commands(commands)
    return parser
