#!/usr/bin/env bash
# How the GitHub action runs the gate, and with which image: the `mode` input decides between the
# container and a native install (scripts/action-native.sh); in the container, the `image` input
# (a mirror) is run as it is, else the released image for a release ref, else one built from the
# Dockerfile at the action's ref. Called by action.yml; `action-image.sh decide` only prints the
# image decision (`source=...` and `image=...` lines), for the tests.
#
# In:  ACTION_PATH       the action's files (github.action_path)
#      ACTION_REF        the ref the workflow named (github.action_ref); may be empty
#      ACTION_REPOSITORY owner/name of the action (github.action_repository); may be empty
#      ACTION_MODE       the mode input: auto (default), container or native
#      ACTION_IMAGE      the image input: an image to run instead of pulling or building one
#      RUNNER_OS, GITHUB_OUTPUT
# Out: `mode` in GITHUB_OUTPUT (container or native) and, for the container, `image`: a registry
#      reference, or the id of the image built here.
#
# The mode:
# - native: never looks at docker.
# - container: a Linux runner whose `docker` answers (`docker version` reaches an engine), or exit 3.
# - auto: the container when the runner is Linux and `docker` answers, native otherwise (a notice
#   says why).
#
# The image, in the container: the `image` input when given (a mirror in a private registry):
# run as it is, nothing pulled from ghcr.io, nothing built; `docker run` fetches it from that
# registry if the runner does not have it yet. Otherwise:
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

output() {
  echo "$1" >>"${GITHUB_OUTPUT:?}"
}

# Whether this runner's docker reaches an engine (not merely whether the command exists).
docker_works() {
  command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

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
tag_warning=
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
    # Said only when the image is built: the native mode and a mirror need no released image.
    tag_warning="::warning title=clanforge-gate::the tag ${ref} does not agree with the action's version ${version}; building the image from the Dockerfile instead of pulling a released one"
  fi
fi

if [ "${1:-}" = decide ]; then
  printf 'source=%s\nimage=%s\n' "$source" "$image"
  exit 0
fi

runner_os=${RUNNER_OS:-Linux}
mode=${ACTION_MODE:-auto}
case $mode in
  native)
    output mode=native
    exit 0
    ;;
  auto)
    if [ "$runner_os" != Linux ]; then
      echo "::notice title=clanforge-gate::a ${runner_os} runner: the gate runs natively with the runner's Python (mode: native)"
      output mode=native
      exit 0
    fi
    if ! docker_works; then
      echo "::notice title=clanforge-gate::docker does not answer on this runner (no engine, or not in this job's container): the gate runs natively with the runner's Python (mode: native)"
      output mode=native
      exit 0
    fi
    ;;
  container)
    [ "$runner_os" = Linux ] ||
      die "mode: container runs a Linux container and needs a Linux runner with Docker (this is ${runner_os}); use mode: native or auto, which run the gate with the runner's Python"
    docker_works ||
      die "mode: container needs docker, and docker does not answer on this runner (not installed, no engine, or a job with container:); use mode: native or auto, which run the gate with the runner's Python"
    ;;
  *)
    die "the mode input is '${mode}'; use auto, container or native"
    ;;
esac
output mode=container

if [ -n "${ACTION_IMAGE:-}" ]; then
  # One reference, [registry/]name[:tag][@digest]: nothing that could reach GITHUB_OUTPUT as a line.
  [[ $ACTION_IMAGE =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]] ||
    die "the image input is not an image reference (registry/name:tag or name@sha256:...); check its spelling"
  echo "the gate's image: ${ACTION_IMAGE} (the image input; nothing is pulled from ghcr.io or built)"
  output "image=${ACTION_IMAGE}"
  exit 0
fi

if [ "$source" != build ]; then
  if docker pull --quiet "$image"; then
    output "image=$image"
    exit 0
  fi
  if [ "$source" = release ]; then
    echo "::warning title=clanforge-gate::cannot pull ${image}; building the image from the Dockerfile instead"
  else
    echo "::notice title=clanforge-gate::no released image for commit ${ref}; building the image from the Dockerfile at that commit"
  fi
fi

[ -z "$tag_warning" ] || echo "$tag_warning"
# Built by id, not by a tag another job on the same Docker could move in the meantime.
id_file=$(mktemp)
trap 'rm -f "$id_file"' EXIT
echo "::group::Build the gate's image from the Dockerfile at ${ref:-the working tree}"
docker build --iidfile "$id_file" "$action_path"
echo "::endgroup::"
output "image=$(cat "$id_file")"
