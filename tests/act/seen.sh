#!/usr/bin/env bash
# The last step of each job of tests/act/runner.yml: keeps what the runner saw for
# tests/test_act.py, in TEST_SEEN/<job>/: the steps context (STEPS), the job summary so far and
# the result file the gate wrote in the workspace.
set -euo pipefail
seen=${TEST_SEEN:?TEST_SEEN is not set}/${GITHUB_JOB:?}
mkdir -p "$seen"
printf '%s' "${STEPS:?STEPS is not set}" >"$seen/steps.json"
if [ -f reports/result.json ]; then
  cp reports/result.json "$seen/result.json"
fi
