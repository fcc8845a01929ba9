"""Container entrypoint: a thin call of the CLI."""

import sys

from gate.entry import main

if __name__ == "__main__":
    sys.exit(main())
