#!/usr/bin/env bash
# The image the GitHub action runs: the released image for a release ref, else one built from the
# Dockerfile at the action's ref. Called by action.yml; `action-image.sh decide` only prints the
# decision (`source=...` and `image=...` lines), for the tests.
#
# In:  ACTION_PATH       the action's files (github.action_path)
#      ACTION_REF        the ref the workflow named (github.action_ref); may be empty
#      ACTION_REPOSITORY owner/name of the action (github.action_repository); may be empty
#      RUNNER_OS, GITHUB_OUTPUT
# Out: `image` in GITHUB_OUTPUT: a registry reference, or the id of the image built here.
#
# The decision:
# - A release ref is a tag vX, vX.Y or vX.Y.Z that agrees with the version in the action's own
#   gate/__init__.py (v0 and v0.2 agree with 0.2.0). The release workflow pushes the image built
#   from that tag as ghcr.io/<owner>/clanforge-gate:X.Y.Z, so that image is the code at the ref:
#   it is pulled, nothing is built. Should the pull fail, the image is built after a warning.
# - A full commit SHA may be a release commit: the release workflow also tags each image with
#   the commit it was built from (sha-<40 hex digits>). That image is pulled if there is one;
#   otherwise (not a release commit) the image is built, after a notice.
# - Anything else (a branch, `uses: ./`, a tag that does not agree with the version) gets the
#   image built from the Dockerfile at that ref: always the code the workflow named, never a
#   released image of other code.
# - When the runner leaves the ref or the repository empty, as it does in some contexts, they are
#   read from where the runner unpacked the action (.../_actions/<owner>/<name>/<ref>); if that
#   fails too, the image is built.
set -euo pipefail

die() {
  echo "::error title=clanforge-gate::$1"
  exit 3
}

if [ "${RUNNER_OS:-Linux}" != Linux ]; then
  die "this action runs a Linux container and needs a Linux runner with Docker (this is ${RUNNER_OS}); on macOS or Windows run the gate in a step instead: pipx run clanforge-gate (see the README)"
fi

action_path=${ACTION_PATH:?ACTION_PATH is not set}
ref=${ACTION_REF:-}
repository=${ACTION_REPOSITORY:-}

if [ -z "$ref" ] || [ -z "$repository" ]; then
  case $action_path in
    */_actions/*/*/*)
      rest=${action_path#*/_actions/}
      IFS=/ read -r path_owner path_name path_ref _ <<<"$rest"
      ref=${ref:-$path_ref}
      repository=${repository:-$path_owner/$path_name}
      ;;
  esac
fi

version=$(sed -n 's/^__version__ = "\([^"]*\)"$/\1/p' "$action_path/gate/__init__.py")
[ -n "$version" ] || die "no __version__ in $action_path/gate/__init__.py"

source=build
image=
owner=$(printf '%s' "${repository%%/*}" | tr '[:upper:]' '[:lower:]')
if [[ $ref =~ ^[0-9a-f]{40}$ ]] && [ -n "$owner" ]; then
  source=commit
  image="ghcr.io/${owner}/clanforge-gate:sha-${ref}"
elif [[ $ref =~ ^v[0-9]+(\.[0-9]+){0,2}$ ]] && [ -n "$owner" ]; then
  tag_version=${ref#v}
  if [ "$version" = "$tag_version" ] || [[ $version == "$tag_version".* ]]; then
    source=release
    image="ghcr.io/${owner}/clanforge-gate:${version}"
  else
    echo "::warning title=clanforge-gate::the tag ${ref} does not agree with the action's version ${version}; building the image from the Dockerfile instead of pulling a released one"
  fi
fi

if [ "${1:-}" = decide ]; then
  printf 'source=%s\nimage=%s\n' "$source" "$image"
  exit 0
fi

command -v docker >/dev/null 2>&1 ||
  die "docker is not on this runner, or not in this job's container; the action needs a Linux runner with Docker and a job without container:, or run the gate in a step instead: pipx run clanforge-gate (see the README)"

if [ "$source" != build ]; then
  if docker pull --quiet "$image"; then
    echo "image=$image" >>"${GITHUB_OUTPUT:?}"
    exit 0
  fi
  if [ "$source" = release ]; then
    echo "::warning title=clanforge-gate::cannot pull ${image}; building the image from the Dockerfile instead"
  else
    echo "::notice title=clanforge-gate::no released image for commit ${ref}; building the image from the Dockerfile at that commit"
  fi
fi

# Built by id, not by a tag another job on the same Docker could move in the meantime.
id_file=$(mktemp)
trap 'rm -f "$id_file"' EXIT
echo "::group::Build the gate's image from the Dockerfile at ${ref:-the working tree}"
docker build --iidfile "$id_file" "$action_path"
echo "::endgroup::"
echo "image=$(cat "$id_file")" >>"${GITHUB_OUTPUT:?}"
