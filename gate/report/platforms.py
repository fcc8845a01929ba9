"""The one place where the CLI asks which CI platform reporters to add.

GitHub Actions (``GITHUB_ACTIONS=true``) and GitLab CI (``GITLAB_CI=true``) are recognised by the
variables their runners set; a JUnit report and a dotenv report are written on any platform when
their file is set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from gate.config import Settings
from gate.report import Reporter

JUNIT_FILE_ENV = "CLANFORGE_JUNIT_FILE"
DOTENV_FILE_ENV = "CLANFORGE_DOTENV_FILE"
# Every variable that makes a run write a gate outcome somewhere a pipeline reads it.
OUTCOME_VARIABLES = frozenset(
    {
        "GITHUB_ACTIONS",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITLAB_CI",
        JUNIT_FILE_ENV,
        DOTENV_FILE_ENV,
        "CLANFORGE_RESULT_FILE",
    }
)


def without_outcomes(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without what would make a run report a gate outcome to the pipeline: for the
    simulator's commands, which are no gate (a ``simulate`` that cannot listen must not set the
    step's ``outcome``, nor a demo's wait write the job summary)."""
    return {key: value for key, value in env.items() if key not in OUTCOME_VARIABLES}


def _is_true(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() == "true"


def _path(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def report_files(
    env: Mapping[str, str], settings: Settings | None, args: argparse.Namespace | None = None
) -> tuple[str | None, str | None]:
    """The JUnit and dotenv report paths. Without valid settings (a configuration error, which
    still deserves its reports) they come from the flags, if the command line parsed, or else
    the environment (as ``gate.config.result_file_hint`` finds the result file)."""
    if settings is not None:
        return settings.junit_file, settings.dotenv_file
    junit: str | None = getattr(args, "junit_file", None) or _path(env, JUNIT_FILE_ENV)
    dotenv: str | None = getattr(args, "dotenv_file", None) or _path(env, DOTENV_FILE_ENV)
    return junit, dotenv


def platform_reporters(
    env: Mapping[str, str],
    settings: Settings | None,
    *,
    stream: TextIO | None = None,
    args: argparse.Namespace | None = None,
) -> list[Reporter]:
    """Reporters for the platform this runs on, to go before the console reporter.

    ``stream`` is where workflow commands and section markers go (the CLI's stdout); ``args``
    are the parsed flags, read for the report paths only when ``settings`` did not validate.
    """
    out = stream if stream is not None else sys.stdout
    junit_file, dotenv_file = report_files(env, settings, args)
    reporters: list[Reporter] = []
    # Each reporter is imported only on its platform, or when its file is asked for.
    if _is_true(env, "GITHUB_ACTIONS"):
        from gate.report.github import GitHubReporter

        reporters.append(
            GitHubReporter(
                out,
                output_path=_path(env, "GITHUB_OUTPUT"),
                summary_path=_path(env, "GITHUB_STEP_SUMMARY"),
            )
        )
    if _is_true(env, "GITLAB_CI"):
        from gate.report.gitlab import DOTENV_DEFAULT_FILE, GitLabReporter

        reporters.append(GitLabReporter(out, dotenv_path=dotenv_file or DOTENV_DEFAULT_FILE))
    elif dotenv_file:
        from gate.report.dotenv import DotenvReporter

        reporters.append(DotenvReporter(dotenv_file))
    if junit_file:
        from gate.report.junit import JUnitReporter

        reporters.append(JUnitReporter(junit_file))
    return reporters
