#!/usr/bin/env bash
# Installs the gate for the GitHub action's native mode (action.yml, mode: native or auto without
# Docker): finds the runner's Python 3.10 or newer and hands it scripts/action_native.py, which
# makes (or reuses) a virtual environment of the action's own files and hash-pinned
# requirements.lock under RUNNER_TOOL_CACHE (RUNNER_TEMP when that is unset).
#
# In:  ACTION_PATH (github.action_path), RUNNER_TOOL_CACHE and/or RUNNER_TEMP, GITHUB_OUTPUT
# Out: `python` in GITHUB_OUTPUT: that environment's interpreter, which runs `python -m gate`.
set -euo pipefail

die() {
  echo "::error title=clanforge-gate::$1"
  exit 3
}

action_path=${ACTION_PATH:?ACTION_PATH is not set}
[ -n "${RUNNER_TOOL_CACHE:-}${RUNNER_TEMP:-}" ] ||
  die "neither RUNNER_TOOL_CACHE nor RUNNER_TEMP is set; the native mode installs the gate under one of them"

# python3 first (Linux, macOS), then python and the py launcher (Windows; actions/setup-python puts
# both on PATH). Each is asked for its version: a Windows 'python3' may be a store placeholder.
check='import sys; print("%d.%d.%d" % sys.version_info[:3]); sys.exit(0 if sys.version_info >= (3, 10) else 1)'
found=()
python=()
for candidate in python3 python py; do
  command -v "$candidate" >/dev/null 2>&1 || continue
  args=("$candidate")
  [ "$candidate" != py ] || args+=(-3)
  if version=$("${args[@]}" -c "$check" 2>/dev/null); then
    python=("${args[@]}")
    break
  fi
  [ -z "$version" ] || found+=("$candidate $version")
done
if [ "${#python[@]}" -eq 0 ]; then
  seen="no python3, python or py on PATH"
  [ "${#found[@]}" -eq 0 ] || seen="found only $(printf '%s, ' "${found[@]}" | sed 's/, $//')"
  die "the native mode needs Python 3.10 or newer on the runner (${seen}); install it, or add actions/setup-python (python-version: '3.12') before this step"
fi

# The tool cache first; RUNNER_TEMP where the cache is missing or not writable by the runner's user.
"${python[@]}" "$action_path/scripts/action_native.py" "$action_path" "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}" \
  "${RUNNER_TOOL_CACHE:-}" "${RUNNER_TEMP:-}"
