"""The command line: parse, run each command, and end it through gate.finish (its one ending)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from gate.clock import Clock, SystemClock
from gate.config import Settings, load_settings, read_config_values, read_source_url, verbosity_of
from gate.deploy.source_url import source_url_secrets
from gate.errors import Cancelled, ConfigError
from gate.finish import Ending, Runner, ending
from gate.inputs import apply_inputs
from gate.ownership import files_owned_by, workspace_owner
from gate.parser import DEFAULT_COMMAND, PROG, build_parser
from gate.redact import Masker, url_secrets
from gate.report import FanOut, Redactor, Reporter
from gate.report.platforms import platform_reporters, without_outcomes
from gate.sim.commands import GateHooks, demo_command, simulate_command
from gate.system import cancel_signals, effective_uid

if TYPE_CHECKING:
    # The HTTP client (and requests with it) is imported only by a command that sends a request:
    # --version and --help start faster than importing requests takes.
    import requests

    from gate.client import StatusClient

__all__ = ["COMMANDS", "PROG", "Context", "build_parser", "main", "run_gate"]

# -- signals ---------------------------------------------------------------------------------


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    # Ignore repeats so the result file and outputs can still be written.
    for sig in _CANCEL_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Cancelled(signum)


_CANCEL_SIGNALS: list[int] = list(cancel_signals())


@contextmanager
def cancellable(system: str = os.name) -> Iterator[None]:
    """The cancel signals (SIGINT and SIGTERM; on Windows SIGBREAK too) interrupt a sleep or a
    request at once, as ``Cancelled``."""
    _CANCEL_SIGNALS[:] = cancel_signals(system)
    previous = {sig: signal.getsignal(sig) for sig in _CANCEL_SIGNALS}
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


# -- the wait command ------------------------------------------------------------------------


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
    # When the runner starts (monotonic): the run's deadline counts from here.
    started: float


MakeRunner = Callable[[RunInputs], Runner]


def _make_waiter(run: RunInputs) -> Runner:
    from gate.waiter import Waiter

    return Waiter(
        run.client, run.settings, run.clock, run.reporter, deadline=run.settings.deadline(run.started)
    )


def _make_deployer(run: RunInputs) -> Runner:
    from gate.deploy.chain import Deployer
    from gate.deploy.settings import load_deploy_settings

    deploy = load_deploy_settings(run.args, run.env, run.yaml_values, run.settings)
    deadline = run.settings.deadline(run.started)
    return Deployer(run.client, run.settings, deploy, run.clock, run.reporter, deadline)


def _make_checker(run: RunInputs) -> Runner:
    from gate.check import Checker
    from gate.deploy.settings import load_deploy_settings

    deploy = load_deploy_settings(run.args, run.env, run.yaml_values, run.settings, check_chain=False)
    chain_error: str | None = None
    if deploy.image_id is not None:
        try:
            load_deploy_settings(run.args, run.env, run.yaml_values, run.settings)
        except ConfigError as exc:
            chain_error = str(exc)
    deadline = run.settings.deadline(run.started, check=True)
    return Checker(run.client, run.settings, deploy, chain_error, run.clock, run.reporter, deadline)


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
    """Load the settings, run, and end every way with a result, its outputs and its exit code.

    With the defaults, the ``wait`` command; ``deploy`` and ``check`` pass their own runner."""
    clock = clock or SystemClock()
    end = Ending(env, stdout, stderr, clock, args, started=clock.monotonic(), verbosity=verbosity_of(args))
    with ending(end):
        yaml_values = read_config_values(args, env)
        settings = end.settings = load_settings(args, env, yaml_values, require_ids=require_ids)
        source_url = read_source_url(args, env, yaml_values)
        masker = Masker(
            settings.credentials.secrets(),
            # The URL whole, its parts, and its credentials as the create sends them (encoded twice).
            whole=(source_url, *url_secrets(source_url), *source_url_secrets(source_url))
            if source_url
            else (),
        )
        reporter = end.reporter = Redactor(
            FanOut([*platform_reporters(env, settings, stream=stdout), end.console]), masker
        )
        if env.get("GITLAB_CI"):  # the GitLab module is loaded only on GitLab
            from gate.report.gitlab import job_limit_problem

            limit_problem = job_limit_problem(env, settings.timeout)
            if limit_problem is not None:
                raise ConfigError(limit_problem)
        from gate.client import StatusClient

        client = StatusClient(settings, clock, reporter, session=session, masker=masker)
        inputs = RunInputs(args, env, yaml_values, settings, client, clock, reporter, clock.monotonic())
        end.runner = make_runner(inputs)
        end.result = end.runner.run()
    return end.finish()


@dataclass(frozen=True)
class Context:
    """What a command gets from outside: injected so tests drive it without a process."""

    env: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    clock: Clock | None = None


Handler = Callable[[argparse.Namespace, Context], int]


def _wait_command(args: argparse.Namespace, ctx: Context) -> int:
    return run_gate(args, ctx.env, stdout=ctx.stdout, stderr=ctx.stderr, clock=ctx.clock)


def _runner_command(make_runner: MakeRunner) -> Handler:
    """A command that runs a runner of its own (``deploy``, ``check``); no job id is required."""

    def command(args: argparse.Namespace, ctx: Context) -> int:
        return run_gate(
            args,
            ctx.env,
            stdout=ctx.stdout,
            stderr=ctx.stderr,
            clock=ctx.clock,
            make_runner=make_runner,
            require_ids=False,
        )

    return command


# What the simulator's commands borrow from here: they never import this module.
SIM_HOOKS = GateHooks(
    prog=PROG,
    parse_args=lambda argv: build_parser().parse_args(argv),
    run_wait=run_gate,  # its defaults are the wait command's
)


def _simulate_command(args: argparse.Namespace, ctx: Context) -> int:
    return simulate_command(args, ctx, SIM_HOOKS)


def _demo_command(args: argparse.Namespace, ctx: Context) -> int:
    return demo_command(args, ctx, SIM_HOOKS)


# The commands that serve or drive the local simulator: they are no gate and report no outcome.
SIMULATOR_COMMANDS = frozenset({"simulate", "demo"})
COMMANDS: dict[str, Handler] = {
    "wait": _wait_command,
    "deploy": _runner_command(_make_deployer),
    "check": _runner_command(_make_checker),
    "simulate": _simulate_command,
    "demo": _demo_command,
}


def _with_default_command(argv: Sequence[str]) -> list[str]:
    """Bare ``clanforge-gate [options]`` means ``clanforge-gate wait [options]``."""
    args = list(argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        return [DEFAULT_COMMAND, *args]
    return args


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Clock | None = None,
    pending: list[int] | None = None,
    system: str = os.name,
) -> int:
    """Run the command line; return the exit code.

    ``pending`` holds signals that arrived before this could install its own handlers
    (see gate.entry); the run ends as cancelled by the first of them.
    """
    argv = _with_default_command(sys.argv[1:] if argv is None else argv)
    env = apply_inputs(os.environ if env is None else env)
    ctx = Context(
        env=without_outcomes(env) if argv[0] in SIMULATOR_COMMANDS else env,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        clock=clock,
    )
    end = Ending(ctx.env, ctx.stdout, ctx.stderr)
    with cancellable(system), files_owned_by(workspace_owner(ctx.env, euid=effective_uid(system))):
        with ending(end):
            args = end.args = build_parser().parse_args(argv)
            if pending:
                raise Cancelled(pending[0])
            command = args.command or DEFAULT_COMMAND
            # wait, deploy and check end inside their own ending; the simulator's commands end here.
            end.name, end.verbosity = f"{PROG} {command}", verbosity_of(args)
            return COMMANDS[command](args, ctx)
        return end.finish()
