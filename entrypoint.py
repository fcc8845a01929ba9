"""Run clanforge-gate from a checkout without installing it: ``python entrypoint.py --help``.

Python puts this file's directory first on the import path, so ``gate`` is the package beside
it; only the runtime dependencies (requests, tenacity, PyYAML) need to be importable.
"""

import sys

from gate.entry import main

if __name__ == "__main__":
    sys.exit(main())
