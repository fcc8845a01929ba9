#!/usr/bin/env bash
# Regenerate the hash-pinned lock files that the Dockerfile installs from:
#   requirements.lock        runtime dependencies of pyproject.toml ([project] dependencies)
#   requirements-build.lock  the build backend (pyproject.toml [build-system] requires)
# Needs pip-tools (pip install pip-tools). The local pip configuration is ignored so that only the
# public package index decides the pins and hashes, whatever machine runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

compile() {
    env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
        pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
        "$@" pyproject.toml
}

compile --output-file=requirements.lock
compile --allow-unsafe --all-build-deps --only-build-deps --output-file=requirements-build.lock
