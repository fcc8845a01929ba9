#!/usr/bin/env bash
# Offline Groovy syntax check of the Jenkins files and of the Groovy snippets in the docs, then
# the Jenkins step's tests under plain Groovy (tests/jenkins/, pipeline steps stubbed).
# Installs Debian's groovy when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v groovy >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "check-groovy: groovy is missing and cannot be installed here (needs root and apt-get)" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends groovy
fi
# Debian's groovy looks for /usr/lib/jvm/default-java, which not every Java install provides.
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "${JAVA_HOME}/bin/java" ]; then
    JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    export JAVA_HOME
fi

snippets="$(mktemp -d)"
trap 'rm -rf "$snippets"' EXIT
# Each ```groovy block of README.md and docs/*.md becomes a file of its own.
awk -v dir="$snippets" '
    /^```groovy/ { inside = 1; n++; next }
    /^```/       { inside = 0; next }
    inside       { print > (dir "/snippet-" n ".groovy") }
' README.md docs/*.md

groovy scripts/check-groovy.groovy examples/jenkins/Jenkinsfile vars/*.groovy tests/jenkins/*.groovy "$snippets"/*.groovy

echo "== the Jenkins step under plain Groovy, pipeline steps stubbed"
groovy tests/jenkins/clanforgeGateTest.groovy vars/clanforgeGate.groovy
