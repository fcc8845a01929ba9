"""The simulator's HTTP server: a loopback ``ThreadingHTTPServer``, its credential checks and routing.

``Simulator`` serves the routes of ``gate.sim.status_api``, ``gate.sim.create_api`` and
``gate.sim.image_api`` over one shared ``Account``; more can be added with ``add_route``.
"""

from __future__ import annotations

import email.utils
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from gate.kinds import WAITABLE, JobKind
from gate.sim.account import Account, AccountRules, JobPlan
from gate.sim.bodies import error_body
from gate.sim.create_api import create_routes
from gate.sim.credentials import (
    SimulatorCredentials,
    account_service_id_from_env,
    credentials_from_env,
    is_loopback,
)
from gate.sim.image_api import image_routes
from gate.sim.routing import Handler, MissingParameter, Request, Response, Route
from gate.sim.scenarios import DEFAULT_DURATION, DEFAULT_SLOW_SECONDS, Scenario
from gate.sim.status_api import status_routes

# How often the serving loop looks for a stop, in seconds: a test that starts and stops a
# simulator waits about this long, and an idle simulator wakes this often.
STOP_NOTICED_WITHIN = 0.02


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Simulator


class _Server6(_Server):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "clanforge-simulator"
    sys_version = ""

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells the simulator's own time, which may be set off from this machine's.
        return email.utils.formatdate(
            self.server.simulator.clock() if timestamp is None else timestamp, usegmt=True
        )

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        simulator = self.server.simulator
        response = simulator.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        if response.delay > 0:
            simulator.wait_or_stop(response.delay)
        if response.drop:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (the slow scenario): nothing left to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        log = self.server.simulator.log
        if log is not None:
            log(f"{self.address_string()} {format % args}")


class Simulator:
    """A Clanforge job API on a loopback port.

    ``start()`` serves in a daemon thread and returns the base URL; ``stop()`` ends it;
    ``serve_forever()`` serves in the calling thread. ``request_count(id)`` and ``stats()`` (also
    ``GET /_sim/stats``) tell how many requests each job id and each endpoint received;
    ``create_count(kind)`` how many create calls of a kind arrived, ``created(kind)`` the ids of
    the jobs they started.

    Besides the status of image update, diff and version jobs it serves their create calls and the
    image status that follows a fleet installing a published version (``DEPLOY_SCENARIOS``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        duration: float = DEFAULT_DURATION,
        default_scenario: Scenario = Scenario.SUCCESS,
        credentials: SimulatorCredentials | None = None,
        account_service_id: str | None = None,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        clock: Callable[[], float] = time.time,
        clock_offset: float = 0.0,
        allow_non_loopback: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not is_loopback(host) and not allow_non_loopback:
            raise ValueError(
                f"refusing to listen on {host}: the simulator is meant for this machine only (it may "
                "accept demo credentials and shows its request counts to anyone); use 127.0.0.1"
            )
        if duration <= 0:
            raise ValueError(f"duration must be positive, got {duration!r}")
        self.host = host
        self.port = port
        self.credentials = credentials if credentials is not None else credentials_from_env(os.environ)
        self.rules = AccountRules(
            duration=duration,
            default_scenario=default_scenario,
            account_service_id=(
                account_service_id
                if account_service_id is not None
                else account_service_id_from_env(os.environ)
            ),
            slow_seconds=slow_seconds,
        )
        # The server's clock: ``clock_offset`` seconds ahead of ``clock`` (behind: negative). Every
        # time it tells (jobeta, jobupdated, jobcreated, jobstart, the Date header) is on it.
        self.clock = clock if not clock_offset else (lambda: clock() + clock_offset)
        self.log = log
        self.account = Account(self.rules, self.clock)
        self.routes: list[Route] = [
            *status_routes(self.account),
            *create_routes(self.account),
            *image_routes(self.account),
        ]
        self.add_route("GET", r"/_sim/stats", lambda request: Response.json(200, self.stats()), api=False)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- routes

    def add_route(
        self, method: str, pattern: str, handler: Handler, *, api: bool = True, name: str | None = None
    ) -> None:
        """Serve ``method`` requests whose path fully matches ``pattern`` with ``handler``.

        ``name`` keys the route's request count in ``stats()`` (default: the pattern).
        """
        self.routes.append(Route.of(method, pattern, handler, name, api=api))

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """Answer one request (the HTTP handler's only entry point)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        matched = [(route, m) for route in self.routes if (m := route.pattern.fullmatch(path))]
        if not matched:
            return Response.json(404, error_body(f"no such endpoint: {path}"))
        for route, match in matched:
            if route.method == method.upper():
                request = Request(method.upper(), path, query, headers, match.groupdict())
                if route.api:
                    self.account.count_endpoint(route.name)
                    refusal = self._check_access(request)
                    if refusal is not None:
                        return refusal
                try:
                    return route.handler(request)
                except MissingParameter as exc:
                    return Response.json(400, error_body(str(exc)))
        return Response.json(405, error_body(f"method {method} not allowed on {path}"))

    def _check_access(self, request: Request) -> Response | None:
        for key in (kind.id_field for kind in WAITABLE):
            if key in request.params:
                self.account.count_request(int(request.params[key]))
        authorization = request.headers.get("authorization")
        if not self.credentials.accepts(authorization):
            return Response.json(401, error_body("forbidden"), headers=(("WWW-Authenticate", "Basic"),))
        asid = request.query.get("accountserviceid")
        bearer = (authorization or "").strip().lower().startswith("bearer ")
        if not asid and bearer:
            # The new operator's host: a token names its account; an id, when given, must match.
            return None
        if not asid:
            return Response.json(400, error_body("accountserviceid is required"))
        if asid != self.rules.account_service_id:
            return Response.json(403, error_body("forbidden"))
        return None

    # -- the account

    def plan_job(
        self,
        job_id: int,
        *,
        kind: str = JobKind.IMAGE_UPDATE,
        scenario: Scenario | None = None,
        duration: float | None = None,
        origin: float | None = None,
    ) -> None:
        """Give one job its own scenario, duration and start, leaving every other job as it was.

        ``origin`` is the unix time (on the simulator's clock) at which the job began; without it
        the job's clock starts on its first request, as for any other job. A known origin and
        duration give the job a known end: ``origin + final_offset(scenario, duration)``.
        Plans outlive ``reset()``.
        """
        self.account.plan(kind, job_id, JobPlan(scenario, duration, origin))

    def lock_of(self, image_id: int) -> tuple[str, int] | None:
        """What holds the image (``("diffid", n)`` or ``("updateid", n)``), or None.

        A diff holds its image from its creation until it is published or rejected; the
        update-locked scenario's image is held by an update that never ends.
        """
        return self.account.lock_of(image_id)

    def request_count(self, update_id: int) -> int:
        """How many requests named ``update_id`` (rejected ones included)."""
        return self.account.request_count(update_id)

    def endpoint_count(self, name: str) -> int:
        """How many requests reached the endpoint ``name`` (``imagediff/status``...), rejected ones too."""
        return self.account.endpoint_count(name)

    def create_count(self, kind: str) -> int:
        """How many ``/cfp/v1/<kind>/create`` calls arrived (whatever their answer)."""
        return self.endpoint_count(f"{kind}/create")

    def created(self, kind: str) -> list[int]:
        """The ids of the jobs of ``kind`` that create calls started, in order."""
        return self.account.created(kind)

    def rejected(self) -> list[int]:
        """The ids of the diffs rejected, in order."""
        return self.account.rejected()

    def stats(self) -> dict[str, object]:
        """Requests per job id and per endpoint, create calls and the jobs they started.

        Served as ``GET /_sim/stats``.
        """
        return self.account.stats()

    def reset(self) -> None:
        """Forget all jobs and counts: the next request for an id starts its clock again.

        Planned jobs keep their plan (a planned origin stays where it was).
        """
        self.account.reset()

    # -- lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        port = self._server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def bind(self) -> str:
        """Open the listening socket (port 0 picks a free one); return the base URL."""
        if self._server is None:
            server_class = _Server6 if ":" in self.host else _Server
            server = server_class((self.host.strip("[]"), self.port), _RequestHandler)
            server.simulator = self
            self._server = server
            self._stopping.clear()
        return self.base_url

    def start(self) -> str:
        """Serve in a daemon thread; return the base URL."""
        url = self.bind()
        if self._thread is None:
            assert self._server is not None
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": STOP_NOTICED_WITHIN}, daemon=True
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` (from another thread) or KeyboardInterrupt."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=STOP_NOTICED_WITHIN)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving and release the port. Held-back answers are released at once."""
        self._stopping.set()
        server = self._server
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.server_close()
            self._server = None

    def wait_or_stop(self, seconds: float) -> None:
        """Hold an answer back for ``seconds``, or less if the simulator is stopping."""
        self._stopping.wait(seconds)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
