"""The project's own .gitlab-ci.yml: it tests the component at this commit against the simulator,
and its release job refuses a tag that disagrees with the version or with the component's
default image (the checks are run here with sh, as the job runs them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import __version__

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "registry.example"


def pipeline() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    return data


def test_the_component_is_included_at_this_commit_and_run_against_the_simulator() -> None:
    config = pipeline()
    includes = [item for item in config["include"] if "component" in item]
    assert {item["component"] for item in includes} == {
        "$CI_SERVER_FQDN/$CI_PROJECT_PATH/clanforge-gate@$CI_COMMIT_SHA"
    }
    by_name = {item["inputs"]["job-name"]: item["inputs"] for item in includes}
    assert by_name["component-wait"]["update-id"] == "$UPDATE_ID"
    assert by_name["component-deploy"]["command"] == "deploy"
    for name, inputs in by_name.items():
        assert inputs["image"] == "$COMMIT_IMAGE", name
        assert inputs["api-url"].startswith("http://127.0.0.1:"), name
        assert config[name]["extends"] == ".simulator"
    assert any("clanforge-gate simulate" in line for line in config[".simulator"]["before_script"])
    ids = config["simulated-ids"]
    assert ids["artifacts"]["reports"]["dotenv"] == "ids.env"
    assert "simulated-ids" in config[".simulator"]["needs"]


def release_checks() -> str:
    """The release job's script up to the build: the version and image checks."""
    script = pipeline()["release-image"]["script"]
    lines = []
    for line in script:
        if line.startswith("minor="):
            break
        lines.append(line)
    return "\n".join(lines)


def run_checks(
    tmp_path: Path, tag: str, image: str, template_image: str | None = None
) -> subprocess.CompletedProcess[str]:
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh")
    (tmp_path / "gate").mkdir(parents=True)
    shutil.copy(ROOT / "gate" / "__init__.py", tmp_path / "gate" / "__init__.py")
    (tmp_path / "templates").mkdir()
    template = (ROOT / "templates" / "clanforge-gate.yml").read_text(encoding="utf-8")
    if template_image is not None:
        template = template.replace(
            f"default: $CI_REGISTRY/clanforge/clanforge-gate:{__version__}", f"default: {template_image}"
        )
    (tmp_path / "templates" / "clanforge-gate.yml").write_text(template, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CI_COMMIT_TAG": tag,
        "CI_REGISTRY": REGISTRY,
        "CI_REGISTRY_IMAGE": image,
    }
    return subprocess.run(
        [sh, "-ec", release_checks()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )


def test_the_release_checks_pass_for_the_version_tag_of_this_project(tmp_path: Path) -> None:
    done = run_checks(tmp_path, f"v{__version__}", f"{REGISTRY}/clanforge/clanforge-gate")
    assert done.returncode == 0, done.stderr


def test_a_tag_that_is_not_the_version_is_refused(tmp_path: Path) -> None:
    done = run_checks(tmp_path, "v9.9.9", f"{REGISTRY}/clanforge/clanforge-gate")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"release: tag v9.9.9 but gate/__init__.py says {__version__}; tag v{__version__} or bump the version"
    )


def test_a_project_whose_image_the_component_does_not_name_is_refused(tmp_path: Path) -> None:
    done = run_checks(tmp_path, f"v{__version__}", f"{REGISTRY}/someone/fork")
    assert done.returncode == 1
    assert "is not $CI_REGISTRY/someone/fork:" in done.stderr
    stale = run_checks(
        tmp_path / "stale",
        f"v{__version__}",
        f"{REGISTRY}/clanforge/clanforge-gate",
        "$CI_REGISTRY/clanforge/clanforge-gate:0.0.1",
    )
    assert stale.returncode == 1


def test_the_release_publishes_the_component_from_the_tag() -> None:
    job = pipeline()["release-component"]
    # the catalog takes X.Y.Z, not the repository's vX.Y.Z: the version release-image checked
    assert job["release"]["tag_name"] == "$RELEASE_VERSION"
    assert job["release"]["ref"] == "$CI_COMMIT_SHA"
    image_job = pipeline()["release-image"]
    assert image_job["artifacts"]["reports"]["dotenv"] == "release.env"
    assert 'echo "RELEASE_VERSION=$version" > release.env' in image_job["script"]
    assert job["needs"] == ["release-image"]
    assert pipeline()[".release"]["rules"] == [{"if": r"$CI_COMMIT_TAG =~ /^v[0-9]+\.[0-9]+\.[0-9]+$/"}]


def test_every_job_in_the_commit_image_clears_its_entrypoint() -> None:
    """The image's entrypoint is the gate; GitLab needs a shell to run a job's script in it."""
    config = pipeline()
    in_image = [
        name
        for name, job in config.items()
        if isinstance(job, dict) and "script" in job and job.get("extends") == ".in-commit-image"
    ]
    assert {"simulated-ids", "component-wait-outputs", "component-deploy-outputs"} <= set(in_image)
    assert config[".in-commit-image"]["image"] == {"name": "$COMMIT_IMAGE", "entrypoint": [""]}
    plain = [
        name
        for name, job in config.items()
        if isinstance(job, dict)
        and "$COMMIT_IMAGE" in str(job.get("image", ""))
        and name != ".in-commit-image"
    ]
    assert not plain, f"jobs naming the commit image without clearing its entrypoint: {plain}"


def test_the_release_notes_are_the_changelogs_section_of_the_version(tmp_path: Path) -> None:
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh")
    (tmp_path / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [Unreleased]\n\n- next\n\n## [0.2.0] - 2026-11-27\n\n### Added\n\n- the gate\n\n"
        "## [0.1.0] - 2026-10-01\n\n- before\n",
        encoding="utf-8",
    )
    script = "\n".join(pipeline()["release-component"]["script"])
    env = {"PATH": os.environ.get("PATH", ""), "RELEASE_VERSION": "0.2.0"}
    subprocess.run([sh, "-ec", script], cwd=tmp_path, env=env, check=True, timeout=30)
    assert (tmp_path / "release-notes.md").read_text(encoding="utf-8") == "\n### Added\n\n- the gate\n\n"
    (tmp_path / "release-notes.md").unlink()
    subprocess.run([sh, "-ec", script], cwd=tmp_path, env={**env, "RELEASE_VERSION": "9.9.9"}, check=True)
    assert (tmp_path / "release-notes.md").read_text(encoding="utf-8") == "clanforge-gate 9.9.9\n"
