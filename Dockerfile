# clanforge-gate as a container image:
#   docker build -t clanforge-gate .
#   docker run --rm -e CLANFORGE_UPDATE_ID=... -e CLANFORGE_ACCOUNT_SERVICE_ID=... \
#       -e CLANFORGE_ACCESS_KEY -e CLANFORGE_SECRET_KEY clanforge-gate
# Dependencies come from hash-pinned lock files; regenerate them with scripts/update-locks.sh.
# BASE_IMAGE lets any Debian-like image with Python >= 3.10 and venv stand in for the default
# (the container test builds on a locally bootstrapped Debian). Both stages use the same base, so the
# virtual environment copied from the first stage finds its interpreter at the same path.
# The default is pinned by digest (the multi-arch index of the tag in the comment), so a build is
# repeatable; Renovate (.github/renovate.json) proposes the new digest when the tag moves.
# python:3.12-slim (Python 3.12.14, Debian trixie)
ARG BASE_IMAGE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea
# The version the image is labelled with: the package's (gate/__init__.py), kept equal by
# tests/test_release.py and by the release workflow (scripts/release.py check-tag), which passes it.
ARG VERSION=0.2.0

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
# The build backend lives in a throwaway environment of its own, pinned by hash like the rest.
COPY requirements-build.lock /src/requirements-build.lock
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --no-deps -r /src/requirements-build.lock
# The runtime environment has no pip of its own: the build environment's pip installs into it.
# Runtime dependencies get a layer of their own so that a change to the code alone reuses it.
COPY requirements.lock /src/requirements.lock
RUN python -m venv --without-pip /opt/clanforge-gate \
    && /opt/build/bin/pip --python /opt/clanforge-gate/bin/python install --no-cache-dir \
        --require-hashes --no-deps -r /src/requirements.lock
COPY pyproject.toml README.md LICENSE /src/
COPY gate /src/gate
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /src/dist /src \
    && /opt/build/bin/pip --python /opt/clanforge-gate/bin/python install --no-cache-dir --no-deps \
        /src/dist/clanforge_gate-*.whl

FROM ${BASE_IMAGE}
ARG VERSION
LABEL org.opencontainers.image.title="clanforge-gate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Wait for a Clanforge image update; exit 0 succeeded, 1 failed, 2 timed out" \
      org.opencontainers.image.licenses="MIT"
ENV PATH="/opt/clanforge-gate/bin:${PATH}" \
    VIRTUAL_ENV=/opt/clanforge-gate \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Files are root-owned and world-readable (pip's 0644/0755, modules byte-compiled at install), so any
# uid can run the gate, and it writes nothing under HOME.
COPY --from=build /opt/clanforge-gate /opt/clanforge-gate
# No USER line: the image runs as root unless the platform says otherwise, on purpose.
# - GitHub runs Docker actions as the image's user, with the workspace and the file-command files
#   (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) mounted from the runner and owned by the runner's user
#   (uid 1001); GitHub's documentation recommends running such actions as root, since a different
#   non-root uid could not write those files.
# - Jenkins `docker.image(...).inside` always passes its agent's `-u uid:gid`, and GitLab's
#   Kubernetes and Docker executors can set a user too: the image works for any uid (see above), so
#   those platforms, or a user, can run it unprivileged. The gate needs no privilege of its own.
ENTRYPOINT ["clanforge-gate"]
