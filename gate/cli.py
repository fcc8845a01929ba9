"""The command line: parse, run, and map every ending to one exit code (here and only here)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn, Protocol, TextIO

import requests

from gate import __version__
from gate.ci import platform_reporters
from gate.client import StatusClient
from gate.clock import Clock, SystemClock
from gate.config import (
    CREDENTIALS_HINT,
    DEPLOY_OPTIONS,
    OPTIONS,
    Settings,
    load_settings,
    read_config_values,
    read_source_url,
    result_file_hint,
    verbosity_of,
)
from gate.durations import format_duration
from gate.ending import Outcome
from gate.errors import Cancelled, ConfigError, GateError, TimedOut
from gate.inputs import apply_inputs
from gate.ownership import files_owned_by, workspace_owner
from gate.redact import Masker, url_secrets
from gate.report import ConsoleReporter, FanOut, Redactor, Reporter
from gate.result import EXIT_CODES, EXIT_SIGINT, EXIT_SIGTERM, Result, write_result_file
from gate.sim.commands import GateHooks, demo_command, simulate_command
from gate.sim.commands import add_commands as add_simulator_commands
from gate.source_url import source_url_secrets
from gate.waiter import Waiter

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


# -- signals ---------------------------------------------------------------------------------


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    # Ignore repeats so the result file and outputs can still be written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Cancelled(signum)


@contextmanager
def cancellable() -> Iterator[None]:
    """SIGINT and SIGTERM interrupt a sleep or a request at once, as ``Cancelled``."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in previous:
            signal.signal(sig, _raise_cancelled)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- exit codes ------------------------------------------------------------------------------


def exit_code_for(exc: BaseException) -> int:
    """The one mapping from an ending to an exit code."""
    if isinstance(exc, Cancelled):
        return EXIT_SIGTERM if exc.signum == signal.SIGTERM else EXIT_SIGINT
    if isinstance(exc, TimedOut):
        return EXIT_CODES[Outcome.TIMED_OUT]
    return EXIT_CODES[Outcome.ERROR]


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# -- the wait command ------------------------------------------------------------------------


class Runner(Protocol):
    """What the CLI drives: the wait on jobs, or the whole deploy."""

    @property
    def label(self) -> str: ...

    def last_seen(self) -> str: ...

    def run(self) -> Result: ...

    def cut_short(self, outcome: Outcome, message: str, exit_code: int) -> Result: ...


@dataclass(frozen=True)
class RunInputs:
    """What a runner is built from, once the settings are valid."""

    args: argparse.Namespace
    env: Mapping[str, str]
    yaml_values: Mapping[str, Any]
    settings: Settings
    client: StatusClient
    clock: Clock
    reporter: Reporter


MakeRunner = Callable[[RunInputs], Runner]


def _make_waiter(run: RunInputs) -> Runner:
    return Waiter(run.client, run.settings, run.clock, run.reporter)


def _make_deployer(run: RunInputs) -> Runner:
    from gate.deploy import Deployer, load_deploy_settings

    deploy = load_deploy_settings(run.args, run.env, run.yaml_values, run.settings)
    return Deployer(run.client, run.settings, deploy, run.clock, run.reporter)


def _make_checker(run: RunInputs) -> Runner:
    from gate.check import Checker
    from gate.deploy import load_deploy_settings

    deploy = load_deploy_settings(run.args, run.env, run.yaml_values, run.settings, check_chain=False)
    chain_error: str | None = None
    if deploy.image_id is not None:
        try:
            load_deploy_settings(run.args, run.env, run.yaml_values, run.settings)
        except ConfigError as exc:
            chain_error = str(exc)
    return Checker(run.client, run.settings, deploy, chain_error, run.clock, run.reporter)


def run_gate(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    stdout: TextIO,
    stderr: TextIO,
    clock: Clock | None = None,
    session: requests.Session | None = None,
    make_runner: MakeRunner = _make_waiter,
    require_ids: bool = True,
) -> int:
    """Load the settings, run, and end every way with a result, its outputs and its exit code."""
    clock = clock or SystemClock()
    console = ConsoleReporter(stdout, verbosity_of(args), stderr)
    reporter: Reporter = console
    result_path = result_file_hint(args, env)
    settings: Settings | None = None
    runner: Runner | None = None
    started = clock.monotonic()
    try:
        try:
            yaml_values = read_config_values(args, env)
            settings = load_settings(args, env, yaml_values, require_ids=require_ids)
            result_path = settings.result_file
            source_url = read_source_url(args, env, yaml_values)
            masker = Masker(
                settings.credentials.secrets(),
                # The URL whole, its parts, and its credentials as the create sends them (encoded twice).
                whole=(source_url, *url_secrets(source_url), *source_url_secrets(source_url))
                if source_url
                else (),
            )
            reporter = Redactor(FanOut([*platform_reporters(env, settings, stream=stdout), console]), masker)
            if env.get("GITLAB_CI"):  # the GitLab module is loaded only on GitLab
                from gate.gitlab import job_limit_problem

                limit_problem = job_limit_problem(env, settings.timeout)
                if limit_problem is not None:
                    raise ConfigError(limit_problem)
            client = StatusClient(settings, clock, reporter, session=session, masker=masker)
            runner = make_runner(RunInputs(args, env, yaml_values, settings, client, clock, reporter))
            result = runner.run()
        except Cancelled as exc:
            label = runner.label if runner else PROG
            last = f" ({runner.last_seen()})" if runner else ""
            elapsed = clock.monotonic() - started
            message = (
                f"{label}: cancelled by {_signal_name(exc.signum)} after {format_duration(elapsed)}"
                f"{last}; what was started may still be running on Clanforge"
            )
            result = _error_result(runner, settings, Outcome.CANCELLED, message, exit_code_for(exc), elapsed)
        except GateError as exc:
            elapsed = clock.monotonic() - started
            message = str(exc) if ": " in str(exc) else f"{PROG}: {exc}"
            if isinstance(exc, ConfigError):
                message = f"{PROG}: {exc}"
            result = _error_result(runner, settings, Outcome.ERROR, message, exit_code_for(exc), elapsed)
        except Exception as exc:  # a bug: still end cleanly, with the documented exit code
            if verbosity_of(args) > 0:
                traceback.print_exc(file=stderr)
            elapsed = clock.monotonic() - started
            message = (
                f"{PROG}: internal error ({type(exc).__name__}: {exc}); please report it, with the "
                "output of --verbose"
            )
            result = _error_result(runner, settings, Outcome.ERROR, message, exit_code_for(exc), elapsed)
        if settings is None:
            # The settings did not validate: the platform still hears of the error.
            reporter = Redactor(FanOut([*platform_reporters(env, None, stream=stdout, args=args), console]))
        return _finish(result, reporter, console, result_path)
    except Cancelled as exc:  # a second signal while finishing: exit at once
        return exit_code_for(exc)


def run_wait(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    stdout: TextIO,
    stderr: TextIO,
    clock: Clock | None = None,
    session: requests.Session | None = None,
) -> int:
    """The ``wait`` command."""
    return run_gate(args, env, stdout=stdout, stderr=stderr, clock=clock, session=session)


def _error_result(
    runner: Runner | None,
    settings: Settings | None,
    outcome: Outcome,
    message: str,
    exit_code: int,
    elapsed: float,
) -> Result:
    if runner is not None:
        return runner.cut_short(outcome, message, exit_code)
    return Result(
        update_id=settings.update_id if settings and len(settings.update_ids) == 1 else None,
        outcome=outcome,
        exit_code=exit_code,
        message=message,
        elapsed_seconds=elapsed,
    )


def _finish(result: Result, reporter: Reporter, console: ConsoleReporter, result_path: str | None) -> int:
    """Tell everyone the result and write the result file, each on its own: one output that
    cannot be written does not stop the others. A run that would have exited 0 exits 3 then
    (a later step would read a missing or stale output); any other run keeps its own code."""
    if isinstance(reporter, Redactor):
        result = reporter.redact_result(result)
    failed: list[str] = []
    try:
        reporter.end(result)
    except OSError as exc:
        failed.append(f"a CI output file ({exc.strerror or type(exc).__name__}: {exc.filename or ''})")
    if result_path:
        try:
            write_result_file(result_path, result)
        except OSError as exc:
            failed.append(f"the result file {result_path} ({exc.strerror or type(exc).__name__})")
    if not failed:
        return result.exit_code
    code = EXIT_CODES[Outcome.ERROR] if result.exit_code == 0 else result.exit_code
    print(
        f"{PROG}: cannot write {' and '.join(failed)}; check the path and its permissions "
        f"(the outcome above stands: {result.outcome.value}; exit code {code})",
        file=console.error_stream,
        flush=True,
    )
    return code


@dataclass(frozen=True)
class Context:
    """What a command gets from outside: injected so tests drive it without a process."""

    env: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    clock: Clock | None = None


Handler = Callable[[argparse.Namespace, Context], int]


def _wait_command(args: argparse.Namespace, ctx: Context) -> int:
    return run_wait(args, ctx.env, stdout=ctx.stdout, stderr=ctx.stderr, clock=ctx.clock)


def _deploy_command(args: argparse.Namespace, ctx: Context) -> int:
    return run_gate(
        args,
        ctx.env,
        stdout=ctx.stdout,
        stderr=ctx.stderr,
        clock=ctx.clock,
        make_runner=_make_deployer,
        require_ids=False,
    )


def _check_command(args: argparse.Namespace, ctx: Context) -> int:
    return run_gate(
        args,
        ctx.env,
        stdout=ctx.stdout,
        stderr=ctx.stderr,
        clock=ctx.clock,
        make_runner=_make_checker,
        require_ids=False,
    )


# What the simulator's commands borrow from here: they never import this module.
SIM_HOOKS = GateHooks(
    prog=PROG,
    parse_args=lambda argv: build_parser().parse_args(argv),
    run_wait=run_wait,
    exit_code_for=exit_code_for,
)


def _simulate_command(args: argparse.Namespace, ctx: Context) -> int:
    return simulate_command(args, ctx, SIM_HOOKS)


def _demo_command(args: argparse.Namespace, ctx: Context) -> int:
    return demo_command(args, ctx, SIM_HOOKS)


COMMANDS: dict[str, Handler] = {
    "wait": _wait_command,
    "deploy": _deploy_command,
    "check": _check_command,
    "simulate": _simulate_command,
    "demo": _demo_command,
}


def _with_default_command(argv: Sequence[str]) -> list[str]:
    """Bare ``clanforge-gate [options]`` means ``clanforge-gate wait [options]``."""
    args = list(argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        return [DEFAULT_COMMAND, *args]
    return args


def _euid() -> int:
    # Windows has no uids: never root there.
    geteuid = getattr(os, "geteuid", None)
    return int(geteuid()) if geteuid is not None else -1


def _cancelled_before_the_run(exc: Cancelled, args: argparse.Namespace | None, ctx: Context) -> int:
    """A signal before the command could start: still a cancelled result, in every output."""
    console = ConsoleReporter(ctx.stdout, 0, ctx.stderr)
    message = f"{PROG}: cancelled by {_signal_name(exc.signum)} before anything was started"
    result = Result(None, Outcome.CANCELLED, exit_code_for(exc), message)
    reporter = Redactor(FanOut([*platform_reporters(ctx.env, None, stream=ctx.stdout, args=args), console]))
    try:
        return _finish(result, reporter, console, result_file_hint(args or argparse.Namespace(), ctx.env))
    except Cancelled:
        return exit_code_for(exc)


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Clock | None = None,
    pending: list[int] | None = None,
) -> int:
    """Run the command line; return the exit code.

    ``pending`` holds signals that arrived before this could install its own handlers
    (see gate.entry); the run ends as cancelled by the first of them.
    """
    ctx = Context(
        env=apply_inputs(os.environ if env is None else env),
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        clock=clock,
    )
    args: argparse.Namespace | None = None
    with cancellable(), files_owned_by(workspace_owner(ctx.env, euid=_euid())):
        try:
            try:
                args = build_parser().parse_args(
                    _with_default_command(sys.argv[1:] if argv is None else argv)
                )
            except ConfigError as exc:
                console = ConsoleReporter(ctx.stdout, 0, ctx.stderr)
                result = Result(None, Outcome.ERROR, exit_code_for(exc), f"{PROG}: {exc}")
                reporter = FanOut([*platform_reporters(ctx.env, None, stream=ctx.stdout), console])
                return _finish(result, reporter, console, result_file_hint(argparse.Namespace(), ctx.env))
            if pending:
                raise Cancelled(pending[0])
            return COMMANDS[args.command or DEFAULT_COMMAND](args, ctx)
        except Cancelled as exc:
            return _cancelled_before_the_run(exc, args, ctx)
