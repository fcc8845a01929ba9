#!/usr/bin/env bash
# Runs the gate for the GitHub action (action.yml). Native mode (CLANFORGE_ACTION_MODE=native):
# the interpreter scripts/action-native.sh installed runs `python -m gate`, with this step's
# environment less every CLANFORGE_* variable that is not one of the action's inputs (as the
# container gets none of them). Container mode: the gate's image, run the way the runner runs a
# container action, with two differences that matter:
# - Only the action's own inputs go in, as CLANFORGE_INPUT_* variables passed by name (values
#   never on a command line); the gate lets them decide their settings (gate/inputs.py), so a
#   workflow-level CLANFORGE_* variable can neither reach nor override them.
# - The workspace, the runner's temporary folder and the file-command files are mounted at their
#   own paths, so any path an input names in them means the same inside the container.
# The container runs as the image's user (root); the gate hands what it writes in the workspace to
# the workspace's owner (gate/ownership.py). `exec` lets the job's cancel signals reach `docker
# run`, which passes them on to the gate (PID 1), so a cancelled run still writes its result.
#
# In: CLANFORGE_ACTION_MODE (container or native, from action-image.sh), CLANFORGE_ACTION_IMAGE
#     (container) or CLANFORGE_ACTION_PYTHON (native), CLANFORGE_ACTION_NETWORK (the job's container
#     network, may be empty), CLANFORGE_INPUT_*, and the runner's GITHUB_* and RUNNER_* variables.
set -euo pipefail

mode=${CLANFORGE_ACTION_MODE:-container}
command=${CLANFORGE_INPUT_COMMAND:-wait}
case $command in
  wait | deploy | check) ;;
  *)
    echo "::error title=clanforge-gate::the command input is not a command of this action; use wait, deploy or check"
    exit 3
    ;;
esac
workspace=${GITHUB_WORKSPACE:?GITHUB_WORKSPACE is not set}

if [ "$mode" = native ]; then
  python=${CLANFORGE_ACTION_PYTHON:?CLANFORGE_ACTION_PYTHON is not set}
  # Only the inputs speak: a workflow's stray CLANFORGE_* or REQUESTS_CA_BUNDLE is dropped.
  unset REQUESTS_CA_BUNDLE
  while IFS= read -r name; do
    case $name in CLANFORGE_INPUT_*) ;; CLANFORGE_*) unset "$name" ;; esac
  done < <(compgen -e)
  if [ -n "${CLANFORGE_INPUT_CA_BUNDLE:-}" ]; then
    export REQUESTS_CA_BUNDLE=$CLANFORGE_INPUT_CA_BUNDLE
  fi
  cd "$workspace"
  # exec: the job's cancel signal reaches the gate itself, which still writes its result.
  exec "$python" -I -m gate "$command"
fi
image=${CLANFORGE_ACTION_IMAGE:?CLANFORGE_ACTION_IMAGE is not set}

mounts=()
add_mount() {
  local dir=$1 seen
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  for seen in "${mounts[@]}"; do
    case "$dir/" in "$seen"/*) return 0 ;; esac
  done
  mounts+=("$dir")
}
add_mount "$workspace"
add_mount "${RUNNER_TEMP:-}"
[ -z "${GITHUB_OUTPUT:-}" ] || add_mount "$(dirname "$GITHUB_OUTPUT")"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || add_mount "$(dirname "$GITHUB_STEP_SUMMARY")"

args=(run --rm --workdir "$workspace")
for dir in "${mounts[@]}"; do
  args+=(--volume "$dir:$dir")
done
if [ -n "${CLANFORGE_ACTION_NETWORK:-}" ]; then
  args+=(--network "$CLANFORGE_ACTION_NETWORK")
fi

names=(GITHUB_ACTIONS CI GITHUB_WORKSPACE GITHUB_OUTPUT GITHUB_STEP_SUMMARY RUNNER_TEMP)
while IFS= read -r name; do
  case $name in CLANFORGE_INPUT_*) names+=("$name") ;; esac
done < <(compgen -e)
if [ -n "${CLANFORGE_INPUT_CA_BUNDLE:-}" ]; then
  export REQUESTS_CA_BUNDLE=$CLANFORGE_INPUT_CA_BUNDLE
  names+=(REQUESTS_CA_BUNDLE)
fi
for name in "${names[@]}"; do
  # By name: docker takes the value from this environment. Unset names are left out.
  if [ -n "${!name+set}" ]; then
    args+=(--env "$name")
  fi
done

exec docker "${args[@]}" "$image" "$command"
