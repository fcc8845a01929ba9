"""The program's entry: the cancel signals (SIGINT, SIGTERM; SIGBREAK on Windows) are caught
from the first moment.

Importing the CLI (and requests with it) takes a while; a signal that arrives meanwhile is
noted here and turned into a cancelled run (exit 130/143, result file ``cancelled``) as soon as
the CLI can write one, instead of killing the process with nothing written.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from gate.system import cancel_signals, tolerant_streams

PENDING: list[int] = []


def _note(signum: int, frame: FrameType | None) -> None:
    PENDING.append(signum)


def main() -> int:
    """Install the early handlers, then run the command line."""
    for sig in cancel_signals():
        signal.signal(sig, _note)
    tolerant_streams(sys.stdout, sys.stderr)
    from gate.cli import main as cli_main

    return cli_main(pending=PENDING)


def run() -> None:
    """For ``python -m gate`` and the container: exit with the command's code."""
    sys.exit(main())
