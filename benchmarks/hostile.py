"""The gate against hostile servers on 127.0.0.1: the worst deadline overshoot and peak memory.

    python benchmarks/hostile.py               # every case, about a minute
    python benchmarks/hostile.py --timeout 2   # a shorter deadline per case

Each case is a local server that misbehaves in one way (trickles its headers or its body a byte
at a time, sends a gzip or deflate bomb, an endless body, ``Retry-After: 0`` for ever, an answer
about another job, a stuck job among several, a create call that never ends). The gate runs
against it as a real process (``python -m gate``) with ``--timeout`` T and a request timeout
longer than T, so only the overall deadline can stop it. Measured per case: the exit code, the
overshoot (the process's wall-clock run time minus T: how far past its promise it ran), the
requests the server saw, and the process's peak resident memory (``ru_maxrss``).

The servers are plain sockets so they can misbehave below HTTP; the tests reuse them
(tests/test_hostile_servers.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY = "hostile-access-key"
SECRET_KEY = "hostile-secret-key-5f2a"
ASID = "4242"
BOMB_BYTES = 512 * 1024 * 1024
TRICKLE_GAP = 0.2


def complete_body(job_id: int, **extra: object) -> bytes:
    body = {
        "jobstateid": 5,
        "jobstatename": "Complete",
        "jobprogress": 100,
        "jobfailed": 0,
        "joberror": None,
        "jobcreated": 1,
        "jobupdated": 2,
        "success": True,
        "updateid": job_id,
        **extra,
    }
    return json.dumps(body).encode()


def _bomb(wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
    return b"".join(parts) + packer.flush()


_BOMBS: dict[str, bytes] = {}


def bomb(encoding: str) -> bytes:
    """``BOMB_BYTES`` of zeros, gzip- or deflate-compressed (made once, about 0.5 MB each)."""
    if encoding not in _BOMBS:
        _BOMBS[encoding] = _bomb(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    return _BOMBS[encoding]


@dataclass
class Request:
    """What a handler gets: the path (query stripped) and the raw request head."""

    path: str
    head: bytes

    @property
    def job_id(self) -> int:
        parts = self.path.split("/")
        return int(parts[4]) if len(parts) > 4 and parts[4].isdigit() else 0


Handler = Callable[[socket.socket, Request, "HostileServer"], None]


@dataclass
class HostileServer:
    """A loopback TCP server; each connection is read up to the end of its head and handed to
    ``handler``, which writes whatever it likes. Counts requests; stops when closed."""

    handler: Handler
    requests: int = 0
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        with conn:
            try:
                while not self.stopped.is_set():
                    head = b""
                    while b"\r\n\r\n" not in head:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        head += chunk
                    line = head.split(b"\r\n", 1)[0].decode("latin-1")
                    path = line.split(" ")[1].split("?")[0] if " " in line else "/"
                    with self.lock:
                        self.requests += 1
                    self.handler(conn, Request(path, head), self)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send(
    conn: socket.socket, body: bytes, status: str = "200 OK", headers: dict[str, str] | None = None
) -> None:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _trickle(conn: socket.socket, server: HostileServer, data: bytes) -> None:
    for byte in data:
        if server.stopped.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(TRICKLE_GAP)


# -- the hostile behaviours -------------------------------------------------------------------------


def trickle_headers(conn: socket.socket, request: Request, server: HostileServer) -> None:
    _trickle(conn, server, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000)


def trickle_body(conn: socket.socket, request: Request, server: HostileServer) -> None:
    body = complete_body(request.job_id)
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body) + 100_000}\r\n\r\n".encode())
    _trickle(conn, server, b" " * 100_000 + body)


def gzip_bomb(conn: socket.socket, request: Request, server: HostileServer) -> None:
    send(conn, bomb("gzip"), headers={"Content-Encoding": "gzip"})


def deflate_bomb(conn: socket.socket, request: Request, server: HostileServer) -> None:
    send(conn, bomb("deflate"), headers={"Content-Encoding": "deflate"})


def endless_body(conn: socket.socket, request: Request, server: HostileServer) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    sent = 0
    while not server.stopped.is_set() and sent < 2 * 1024**3:
        conn.sendall(chunk)
        sent += 65536


def retry_after_zero(conn: socket.socket, request: Request, server: HostileServer) -> None:
    send(conn, b'{"error_message": "busy"}', "503 Service Unavailable", {"Retry-After": "0"})


def retry_after_past(conn: socket.socket, request: Request, server: HostileServer) -> None:
    send(conn, b"{}", "429 Too Many Requests", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})


def another_job(conn: socket.socket, request: Request, server: HostileServer) -> None:
    send(conn, complete_body(request.job_id + 1))


def gzip_complete(conn: socket.socket, request: Request, server: HostileServer) -> None:
    send(conn, gzip.compress(complete_body(request.job_id)), headers={"Content-Encoding": "gzip"})


STUCK_ID = 13


def one_stuck(conn: socket.socket, request: Request, server: HostileServer) -> None:
    """Every job answers Complete at once, except ``STUCK_ID``, which trickles its headers."""
    if request.job_id == STUCK_ID:
        trickle_headers(conn, request, server)
    else:
        send(conn, complete_body(request.job_id))


def stuck_create(conn: socket.socket, request: Request, server: HostileServer) -> None:
    trickle_headers(conn, request, server)


@dataclass(frozen=True)
class Case:
    name: str
    handler: Handler
    args: tuple[str, ...]
    expect: int
    deploy: bool = False


CASES = (
    Case("trickled headers", trickle_headers, ("--update-id", "1"), 2),
    Case("trickled body", trickle_body, ("--update-id", "1"), 2),
    Case("gzip bomb (512 MiB)", gzip_bomb, ("--update-id", "1"), 2),
    Case("deflate bomb (512 MiB)", deflate_bomb, ("--update-id", "1"), 2),
    Case("endless chunked body", endless_body, ("--update-id", "1"), 2),
    Case("Retry-After: 0", retry_after_zero, ("--update-id", "1"), 2),
    Case("Retry-After in the past", retry_after_past, ("--update-id", "1"), 2),
    Case("answer about another job", another_job, ("--update-id", "1"), 2),
    Case("one stuck job of three", one_stuck, ("--update-id", f"11,12,{STUCK_ID}"), 2),
    Case(
        "create that never answers",
        stuck_create,
        ("--image-id", "5", "--machine-id", "9", "--desc", "d"),
        3,
        True,
    ),
    Case("gzip answer (control)", gzip_complete, ("--update-id", "1"), 0),
)


@dataclass(frozen=True)
class Measure:
    case: str
    code: int
    expected: int
    seconds: float
    overshoot: float
    requests: int
    peak_mib: float
    outcome: str


def gate_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLANFORGE_", "GITHUB_", "GITLAB_"))}
    env.update(
        {
            "CLANFORGE_API_URL": url,
            "CLANFORGE_ACCOUNT_SERVICE_ID": ASID,
            "CLANFORGE_ACCESS_KEY": ACCESS_KEY,
            "CLANFORGE_SECRET_KEY": SECRET_KEY,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run_case(case: Case, timeout: float) -> Measure:
    with HostileServer(case.handler) as server, tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "gate", "deploy" if case.deploy else "wait", *case.args]
        command += ["--timeout", f"{timeout}s", "--request-timeout", f"{timeout * 5}s", "--quiet"]
        command += ["--result-file", str(result_file)]
        if case.deploy:
            command += ["--skip-diff", "--skip-version", "--skip-install"]
        started = time.monotonic()
        process = subprocess.Popen(
            command, env=gate_env(server.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        took = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        outcome = json.loads(result_file.read_text())["outcome"] if result_file.exists() else "-"
        return Measure(
            case.name,
            process.returncode,
            case.expect,
            took,
            took - timeout,
            server.requests,
            usage.ru_maxrss / 1024,
            outcome,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--timeout", type=float, default=3.0, help="the gate's --timeout per case (s)")
    args = parser.parse_args(argv)
    bomb("gzip"), bomb("deflate")
    rows = [run_case(case, args.timeout) for case in CASES]
    width = max(len(row.case) for row in rows)
    print(f"--timeout {args.timeout:g}s, --request-timeout {args.timeout * 5:g}s, one process per case")
    print(f"{'case':<{width}}  exit  outcome    run (s)  overshoot (s)  requests  peak RSS (MiB)")
    for row in rows:
        mark = "" if row.code == row.expected else f"  (expected {row.expected})"
        print(
            f"{row.case:<{width}}  {row.code:>4}  {row.outcome:<9}  {row.seconds:>7.2f}"
            f"  {row.overshoot:>13.2f}  {row.requests:>8}  {row.peak_mib:>14.1f}{mark}"
        )
    timed = [row for row in rows if row.expected == 2 or row.expected == 3]
    worst = max(timed, key=lambda row: row.overshoot)
    heaviest = max(rows, key=lambda row: row.peak_mib)
    control = next(row for row in rows if row.expected == 0)
    print(f"worst overshoot of --timeout: {worst.overshoot:.2f} s ({worst.case})")
    print(
        f"peak memory: {heaviest.peak_mib:.1f} MiB ({heaviest.case}); a plain gzip answer: "
        f"{control.peak_mib:.1f} MiB (ratio {heaviest.peak_mib / control.peak_mib:.2f})"
    )
    wrong = [row for row in rows if row.code != row.expected]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
