#!/usr/bin/env bash
# Validate the CI files offline: the GitHub action and workflows, the GitLab pipeline and CI/CD
# component and the Renovate configuration (against the schemas bundled with check-jsonschema), the
# workflows' static check (actionlint) and security (zizmor, no findings) and the shell scripts
# (shellcheck).
#
# Needs the `ci` extra installed (pip install -e '.[ci]') and its tools on PATH, e.g.
#   PATH="$PWD/.venv/bin:$PATH" bash scripts/validate-ci-files.sh
# Run from anywhere; it works on the repository that holds it. Exit status: 0 if all pass.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

step() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    echo "FAILED: $name" >&2
    failed=1
  fi
}

step "action.yml (GitHub action schema)" \
  check-jsonschema --builtin-schema vendor.github-actions action.yml

mapfile -t workflows < <(find .github/workflows -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
# The workflows tests/test_act.py runs under act are workflows too, checked the same way.
mapfile -t test_workflows < <(find tests/act -maxdepth 1 -type f -name '*.yml' 2>/dev/null | sort)
step "workflows (GitHub workflow schema)" \
  check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}" "${test_workflows[@]}"

step ".gitlab-ci.yml (GitLab CI schema)" \
  check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml

# A component is a spec header, '---', then a body using $[[ inputs.* ]]: check both halves.
check_component() {
  local template=$1 name
  name=$(basename "$template" .yml)
  "$python" scripts/gitlab_component.py "$template" "$work/gitlab" &&
    check-jsonschema --builtin-schema vendor.gitlab-ci \
      "$work/gitlab/$name.header.yml" "$work/gitlab/$name.body.yml"
}
for template in templates/*.yml; do
  step "$template (spec header and body with input defaults, GitLab CI schema)" \
    check_component "$template"
done

step "renovate.json (Renovate schema)" \
  check-jsonschema --builtin-schema vendor.renovate .github/renovate.json

# actionlint also checks each `uses: ./` step's inputs against action.yml, and runs shellcheck on
# every `run:` script.
step "actionlint (workflows, and their use of the action)" actionlint "${workflows[@]}" "${test_workflows[@]}"

step "zizmor (offline, no findings)" \
  zizmor --offline --config .github/zizmor.yml --no-progress . "${test_workflows[@]}"

# Every tracked shell script: *.sh, .ci/run, and anything else with a sh or bash shebang.
mapfile -t scripts < <(
  git ls-files 2>/dev/null | while IFS= read -r file; do
    [ -f "$file" ] || continue
    case $file in
      *.sh | .ci/run) echo "$file" ;;
      *) head -n1 "$file" 2>/dev/null | grep -Eq '^#!.*[/ ](ba)?sh( |$)' && echo "$file" ;;
    esac
  done | sort -u
)
if [ "${#scripts[@]}" -eq 0 ]; then
  mapfile -t scripts < <(find scripts .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null | sort)
fi
step "shellcheck (${#scripts[@]} scripts)" shellcheck "${scripts[@]}"

if [ "$failed" -ne 0 ]; then
  echo "CI file validation failed" >&2
  exit 1
fi
echo "CI files valid"
