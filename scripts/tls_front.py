#!/usr/bin/env python3
"""A TLS front for a plain-HTTP server on loopback, for the GitHub Actions self-test.

The action's container runs on a Docker network, so it cannot reach the runner's loopback, and
the gate rightly refuses plain http to any other host. This terminates TLS on an address the
container can reach (the Docker bridge gateway) with a throwaway certificate, and passes the bytes
to the simulator, which stays on 127.0.0.1. It serves for --lifetime seconds, then stops.
Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import ssl
import threading
import time


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _serve(client: socket.socket, context: ssl.SSLContext, upstream: tuple[str, int]) -> None:
    try:
        with (
            context.wrap_socket(client, server_side=True) as tls,
            socket.create_connection(upstream, timeout=30) as plain,
        ):
            back = threading.Thread(target=_pipe, args=(plain, tls), daemon=True)
            back.start()
            _pipe(tls, plain)
            back.join(timeout=60)
    except (OSError, ssl.SSLError) as exc:
        print(f"tls-front: connection ended: {exc}", flush=True)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT to accept TLS on")
    parser.add_argument("--upstream", type=_address, default=("127.0.0.1", 8080), help="plain HOST:PORT")
    parser.add_argument("--cert", required=True, help="PEM certificate chain of the server")
    parser.add_argument("--key", required=True, help="PEM private key of the server")
    parser.add_argument("--lifetime", type=float, default=600.0, help="seconds to serve (default 600)")
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    deadline = time.monotonic() + args.lifetime
    with socket.create_server(args.listen) as server:
        server.settimeout(1.0)
        print(f"tls-front: https://{args.listen[0]}:{args.listen[1]} -> {args.upstream}", flush=True)
        while time.monotonic() < deadline:
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            client.settimeout(60)
            threading.Thread(target=_serve, args=(client, context, args.upstream), daemon=True).start()
    print("tls-front: lifetime over, stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
