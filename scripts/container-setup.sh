#!/usr/bin/env bash
# Prepare this machine for the container test (tests/test_container.py):
#   1. install podman, buildah, runc and debootstrap when they are missing (Debian/Ubuntu, as root);
#   2. make a local Debian base image with Python, since no image can be pulled here.
# Idempotent: a second run finds the image (or the cached root filesystem tarball) and stops early.
#
# Settings (environment):
#   CLANFORGE_BASE_IMAGE   name of the base image        (default localhost/clanforge-gate-base:bookworm)
#   CLANFORGE_BASE_CACHE   folder for the rootfs tarball (default /var/tmp/clanforge-gate-base)
#   CLANFORGE_BASE_SUITE   Debian suite to bootstrap     (default bookworm)
set -euo pipefail

image="${CLANFORGE_BASE_IMAGE:-localhost/clanforge-gate-base:bookworm}"
cache="${CLANFORGE_BASE_CACHE:-/var/tmp/clanforge-gate-base}"
suite="${CLANFORGE_BASE_SUITE:-bookworm}"
tarball="${cache}/${suite}-rootfs.tar"

log() { printf 'container-setup: %s\n' "$*" >&2; }

install_tools() {
    local missing=()
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v buildah >/dev/null 2>&1 || missing+=(buildah)
    command -v runc >/dev/null 2>&1 || missing+=(runc)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing ${missing[*]} and cannot install them (needs root and apt-get)"
        return 1
    fi
    log "installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        podman buildah runc debootstrap uidmap fuse-overlayfs slirp4netns containernetworking-plugins
}

make_tarball() {
    local root
    mkdir -p "$cache"
    root="$(mktemp -d "${cache}/rootfs.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: the path is fixed once made
    trap "rm -rf '${root}'" EXIT
    log "bootstrapping Debian ${suite} into ${root} (takes a minute or two)"
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
        "$suite" "$root" >"${cache}/debootstrap.log" 2>&1 || {
        log "debootstrap failed; see ${cache}/debootstrap.log"
        return 1
    }
    # Package caches and lists are of no use in an image.
    rm -rf "${root}/var/cache/apt/archives/"*.deb "${root}/var/lib/apt/lists/"* "${root}/var/log/"*
    tar -C "$root" -cf "${tarball}.partial" .
    mv "${tarball}.partial" "$tarball"
    rm -rf "$root"
    trap - EXIT
}

main() {
    install_tools
    if podman image exists "$image"; then
        log "base image ${image} is present"
        return 0
    fi
    if [ ! -s "$tarball" ]; then
        make_tarball
    fi
    log "importing ${tarball} as ${image}"
    podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' \
        "$tarball" "$image" >/dev/null
    log "base image ${image} is ready"
}

main "$@"
