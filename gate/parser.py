"""The command line's grammar: every command, flag and help text, built from the option table."""

from __future__ import annotations

import argparse
from typing import NoReturn

from gate import __version__
from gate.errors import ConfigError
from gate.options import (
    CHECK,
    CONFIG_ENV,
    CREDENTIALS_HINT,
    DEPLOY,
    DEPLOY_OPTIONS,
    OPTIONS,
    WAIT,
    Form,
    Option,
)
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


def _add_options(parser: argparse.ArgumentParser, options: tuple[Option, ...], command: str) -> None:
    """The flags of the options that ``command`` takes, with the table's help and variable."""
    for option in options:
        if command not in option.commands:
            continue
        text = f"{option.help} [env {option.env}]"
        if option.form is Form.REPEAT:
            parser.add_argument(option.flag, dest=option.key, metavar="ID", action="append", help=text)
        elif option.form is Form.SWITCH:
            parser.add_argument(option.flag, dest=option.key, action="store_true", default=None, help=text)
        elif option.form is Form.YES_NO:
            parser.add_argument(
                option.flag, dest=option.key, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            parser.add_argument(option.flag, dest=option.key, metavar=option.metavar, help=text)


def _add_run_options(parser: argparse.ArgumentParser, command: str) -> None:
    """What ``wait``, ``deploy`` and ``check`` share beyond their settings."""
    _add_options(parser, OPTIONS, command)
    parser.add_argument("--config", metavar="FILE", help=f"YAML file of settings [env {CONFIG_ENV}]")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", "-q", action="store_true", help="print only the final line")
    loudness.add_argument("--verbose", "-v", action="store_true", help="print each request and answer")
    for flag in ("--access-key", "--secret-key", "--token", "--password"):
        parser.add_argument(flag, action=_RefuseCredential, help=argparse.SUPPRESS)
    _add_options(parser, DEPLOY_OPTIONS, command)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Wait for a Clanforge image update; exit 0 succeeded, 1 failed, 2 timed out, "
        "3 gate error, 130/143 cancelled.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    helps = {
        WAIT: "wait for an image update to end (the default)",
        DEPLOY: "run the whole deploy: image update, diff, version and fleet install",
        CHECK: "prove the setup read-only: host, credentials, account; with --image-id the deploy plan",
    }
    for command, text in helps.items():
        _add_run_options(commands.add_parser(command, help=text), command)
    add_simulator_commands(commands)
    return parser
