"""The commands that run the local simulator: ``simulate`` (foreground server) and ``demo``.

``demo`` starts the simulator in this process on a free loopback port and runs the real wait
path against it over HTTP, so what it shows is exactly what a pipeline would see.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from gate.config import ACCESS_KEY_ENV, SECRET_KEY_ENV, TOKEN_ENV
from gate.durations import format_duration, parse_duration
from gate.errors import Cancelled, ConfigError
from gate.sim.credentials import (
    DEMO_ACCOUNT_SERVICE_ID,
    SimulatorCredentials,
    account_service_id_from_env,
    credentials_from_env,
)
from gate.sim.scenarios import (
    DEFAULT_DURATION,
    GAME_ID,
    ID_BY_SCENARIO,
    SCENARIOS,
    Scenario,
    deploy_table_text,
    parse_scenario,
    scenario_table_text,
)

if TYPE_CHECKING:  # the server is imported only by the commands that run it
    from gate.sim.server import Simulator

SIMULATE_DEFAULT_DURATION = "20s"
DEMO_POLL_INTERVAL = "1s"
DEMO_MIN_POLL_INTERVAL = 0.5
DEMO_REQUEST_TIMEOUT = 3.0
# Long enough past the demo's job for the stuck scenario to show a timeout, short enough to watch.
DEMO_SPARE_SECONDS = 8.0


class CommandContext(Protocol):
    """What the CLI hands a command (``gate.cli.Context`` satisfies it)."""

    @property
    def env(self) -> Mapping[str, str]: ...

    @property
    def stdout(self) -> TextIO: ...

    @property
    def stderr(self) -> TextIO: ...


class WaitRunner(Protocol):
    """Runs the ``wait`` command (``gate.cli.run_gate``); returns its exit code."""

    def __call__(
        self, args: argparse.Namespace, env: Mapping[str, str], *, stdout: TextIO, stderr: TextIO
    ) -> int: ...


@dataclass(frozen=True)
class GateHooks:
    """What the CLI lends these commands, so that nothing here imports ``gate.cli``."""

    prog: str
    parse_args: Callable[[list[str]], argparse.Namespace]
    run_wait: WaitRunner


def _scenario(text: str) -> Scenario:
    try:
        return parse_scenario(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    """A TCP port, 0 to 65535, in ASCII digits."""
    value = text.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 5 and int(value) <= 65535):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port; use 0 to 65535 (0 picks a free one)")
    return int(value)


def _simulate_arguments(simulate: argparse.ArgumentParser, names: str) -> None:
    """The options of ``simulate`` (but --quiet)."""
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    simulate.add_argument("--port", type=_port, default=8080, help="port to listen on; 0 picks a free one")
    simulate.add_argument(
        "--duration", default=SIMULATE_DEFAULT_DURATION, help="how long a job takes (default 20s)"
    )
    simulate.add_argument(
        "--scenario", type=_scenario, default="success", help=f"scenario for other ids: {names}"
    )
    simulate.add_argument(
        "--slow-delay", default="15s", help="how long the slow scenario holds its answer (default 15s)"
    )
    simulate.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a --host other than loopback (the simulator is unauthenticated for its stats "
        "and may accept demo credentials: expose it only on purpose)",
    )
    simulate.add_argument(
        "--clock-offset",
        default=None,
        help="set the server's clock this far ahead of this machine's, or behind with a minus "
        "(--clock-offset=-5m); every time it answers with is on it (default: this machine's clock)",
    )


def add_commands(commands: Any) -> None:
    """Add ``simulate`` and ``demo`` to the CLI's subcommands (an argparse subparsers action)."""
    names = ", ".join(s.value for s in Scenario)
    simulate = commands.add_parser(
        "simulate",
        help="run a local Clanforge simulator in the foreground, to rehearse a pipeline",
        description="Serve the image update status endpoint on a loopback port. Each scenario "
        "has a well-known update id; other ids follow --scenario.",
    )
    _simulate_arguments(simulate, names)
    simulate.add_argument("--quiet", "-q", action="store_true", help="do not log each request")

    demo = commands.add_parser(
        "demo",
        help="watch the gate wait for a simulated image update (no account needed)",
        description="Start a simulator in this process and run the real gate against it over HTTP.",
    )
    demo.add_argument("--scenario", type=_scenario, default="success", help=f"one of: {names}")
    demo.add_argument(
        "--duration",
        default=f"{DEFAULT_DURATION:g}s",
        help=f"how long the simulated job takes (default {DEFAULT_DURATION:g}s)",
    )
    demo.add_argument("--poll-interval", default=DEMO_POLL_INTERVAL, help="(default 1s)")
    demo.add_argument("--timeout", help="overall deadline (default: the duration plus 8s)")
    demo.add_argument("--result-file", help="write the JSON result here")
    loudness = demo.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", "-q", action="store_true", help="print only the final line")
    loudness.add_argument("--verbose", "-v", action="store_true", help="print each request and answer")


def _gate_environment(env: Mapping[str, str], credentials: SimulatorCredentials) -> dict[str, str]:
    """The caller's environment without its Clanforge settings, plus the simulator's credentials."""
    clean = {key: value for key, value in env.items() if not key.startswith("CLANFORGE_")}
    assert credentials.access_key is not None and credentials.secret_key is not None
    clean[ACCESS_KEY_ENV] = credentials.access_key
    clean[SECRET_KEY_ENV] = credentials.secret_key
    return clean


def demo_command(args: argparse.Namespace, ctx: CommandContext, gate: GateHooks) -> int:
    """Run the gate against an in-process simulator; return the gate's own exit code."""
    from gate.sim.server import Simulator

    env, stdout, stderr = ctx.env, ctx.stdout, ctx.stderr

    scenario: Scenario = args.scenario
    # A setting that does not parse raises ConfigError: the CLI ends the command with it.
    duration = parse_duration(args.duration, "--duration")
    poll_interval = parse_duration(args.poll_interval, "--poll-interval")
    timeout = parse_duration(args.timeout, "--timeout") if args.timeout else duration + DEMO_SPARE_SECONDS
    credentials = SimulatorCredentials.demo()
    simulator = Simulator(
        duration=duration,
        default_scenario=scenario,
        credentials=credentials,
        account_service_id=DEMO_ACCOUNT_SERVICE_ID,
        slow_seconds=DEMO_REQUEST_TIMEOUT + 2,
    )
    update_id = ID_BY_SCENARIO[scenario]
    try:
        url = simulator.start()
        if not args.quiet:
            print(
                f"demo: a simulated Clanforge at {url}, scenario '{scenario.value}' on update "
                f"{update_id}; the job takes about {format_duration(duration)}, the gate gives it "
                f"{format_duration(timeout)}",
                file=stdout,
                flush=True,
            )
        # The wait command's own parser, so the demo gets exactly the defaults a pipeline gets.
        wait_args = gate.parse_args(_demo_wait_argv(args, update_id, url, timeout, poll_interval))
        code = gate.run_wait(wait_args, _gate_environment(env, credentials), stdout=stdout, stderr=stderr)
        if not args.quiet:
            expected = next(spec.gate_exit for spec in SCENARIOS if spec.scenario is scenario)
            verdict = "as this scenario should" if code == expected else f"this scenario expects {expected}"
            count = simulator.request_count(update_id)
            print(
                f"demo: the gate exited {code} ({verdict}) after {count} "
                f"request{'' if count == 1 else 's'}; try another with --scenario NAME",
                file=stdout,
                flush=True,
            )
        return code
    finally:
        simulator.stop()


def _demo_wait_argv(
    args: argparse.Namespace, update_id: int, url: str, timeout: float, poll_interval: float
) -> list[str]:
    """The ``wait`` command line the demo runs against its simulator."""
    return [
        "wait",
        "--update-id", str(update_id),
        "--account-service-id", DEMO_ACCOUNT_SERVICE_ID,
        "--api-url", url,
        "--timeout", f"{timeout}s",
        "--poll-interval", f"{poll_interval}s",
        "--min-poll-interval", f"{min(DEMO_MIN_POLL_INTERVAL, poll_interval)}s",
        "--request-timeout", f"{DEMO_REQUEST_TIMEOUT}s",
        *(["--result-file", args.result_file] if args.result_file else []),
        *(["--quiet"] if args.quiet else []),
        *(["--verbose"] if args.verbose else []),
    ]  # fmt: skip


def _print_banner(simulator: Simulator, url: str, stdout: TextIO) -> None:
    credentials = simulator.credentials
    lines = [
        f"Clanforge simulator listening on {url}",
        f"  jobs take {format_duration(simulator.rules.duration)}; ids not in the table follow "
        f"'{simulator.rules.default_scenario.value}'",
        f"  account service id: {simulator.rules.account_service_id}",
        "  credentials: " + "\n               ".join(credentials.describe()),
        "",
        scenario_table_text(),
        "",
        "Deploy scenarios, by image id (other images deploy normally):",
        deploy_table_text(),
        "",
        "Point the gate at it, in another terminal:",
    ]
    exports = (
        f"  export CLANFORGE_API_URL={url} CLANFORGE_ACCOUNT_SERVICE_ID={simulator.rules.account_service_id}"
    )
    if credentials.is_demo:
        pair = f"{ACCESS_KEY_ENV}={credentials.access_key} {SECRET_KEY_ENV}={credentials.secret_key}"
        exports += f" \\\n         {pair}"
    else:
        exports += "\n  (the credentials are already in this environment)"
    lines += [
        exports,
        f"  clanforge-gate --update-id {ID_BY_SCENARIO[Scenario.FAILURE]} --poll-interval 2s",
        "  clanforge-gate deploy --image-id 2001 --machine-id 1 --desc try --restart --poll-interval 2s",
        f"  clanforge-gate check --image-id 2002 --game-id {GAME_ID}   # read-only: the lock and the plan",
        f"Request counts: {url}/_sim/stats. Stop with Ctrl-C.",
    ]
    print("\n".join(lines), file=stdout, flush=True)


def _signed_duration(value: str, setting: str) -> float:
    """A duration that may be negative: ``-5m`` is five minutes behind."""
    text = str(value).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    return sign * parse_duration(text.lstrip("+-"), setting)


def simulate_command(args: argparse.Namespace, ctx: CommandContext, gate: GateHooks) -> int:
    """Serve the simulator in the foreground until interrupted."""
    from gate.sim.server import Simulator

    env, stdout, stderr = ctx.env, ctx.stdout, ctx.stderr
    duration = parse_duration(args.duration, "--duration")
    slow = parse_duration(args.slow_delay, "--slow-delay")
    offset = _signed_duration(args.clock_offset, "--clock-offset") if args.clock_offset else 0.0

    def log(line: str) -> None:
        print(line, file=stdout, flush=True)

    try:
        simulator = Simulator(
            host=args.host,
            port=args.port,
            duration=duration,
            default_scenario=args.scenario,
            credentials=credentials_from_env(env),
            account_service_id=account_service_id_from_env(env),
            slow_seconds=slow,
            clock_offset=offset,
            allow_non_loopback=args.allow_non_loopback,
            log=None if args.quiet else log,
        )
    except ValueError as exc:
        raise ConfigError(f"{exc}; pass --allow-non-loopback to listen there anyway") from None
    credentials = simulator.credentials
    if not credentials.is_demo and credentials.token is not None and credentials.access_key is not None:
        print(
            f"note: both {TOKEN_ENV} and {ACCESS_KEY_ENV}/{SECRET_KEY_ENV} are set; the simulator "
            "accepts either, the gate refuses both",
            file=stderr,
            flush=True,
        )
    try:
        url = simulator.bind()
    except (OSError, OverflowError) as exc:
        raise ConfigError(
            f"cannot listen on {args.host} port {args.port} ({getattr(exc, 'strerror', None) or exc}); "
            "choose another --port (0 picks a free one)"
        ) from None
    _print_banner(simulator, url, stdout)
    try:
        simulator.serve_forever()
    except (Cancelled, KeyboardInterrupt):
        print("simulator stopped", file=stdout, flush=True)
    return 0
