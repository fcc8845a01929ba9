"""One version everywhere, and a release workflow that makes the names the README promises.

The version lives in gate/__init__.py. The command, the installed package's metadata and the
image's version label (the Dockerfile's ARG VERSION default) must all say the same, and
scripts/release.py, which the release workflow runs on the tag, refuses a tag that does not.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import gate

ROOT = Path(__file__).resolve().parent.parent


def _load_release_script() -> Any:
    spec = importlib.util.spec_from_file_location("release_script", ROOT / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


release_script = _load_release_script()
Release = release_script.Release
ReleaseError = release_script.ReleaseError
check_tag = release_script.check_tag
dockerfile_version = release_script.dockerfile_version
notes = release_script.notes
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
INIT = (ROOT / "gate" / "__init__.py").read_text(encoding="utf-8")
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
WORKFLOW_PATH = ROOT / ".github" / "workflows" / "release.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _release_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release.py"), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


# --------------------------------------------------------------------------- one version


def test_command_prints_the_package_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "gate", "--version"], capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"clanforge-gate {gate.__version__}"


def test_installed_metadata_has_the_package_version() -> None:
    installed = importlib.metadata.version("clanforge-gate")
    assert installed == gate.__version__, (
        f"installed metadata says {installed}, gate/__init__.py says {gate.__version__}: "
        "reinstall (pip install -e .) after changing the version"
    )


def test_pyproject_takes_the_version_from_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.MULTILINE)
    assert re.search(r'^version = \{ attr = "gate.__version__" \}$', pyproject, re.MULTILINE)


def test_image_label_default_is_the_package_version() -> None:
    assert dockerfile_version(DOCKERFILE) == gate.__version__


def test_final_stage_labels_the_image_with_the_version() -> None:
    # A global ARG is invisible inside a stage unless the stage declares it again: without the
    # second ARG VERSION the label would be empty.
    final_stage = DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]
    assert re.search(r"^ARG VERSION$", final_stage, re.MULTILINE)
    assert 'org.opencontainers.image.version="${VERSION}"' in final_stage


def test_base_image_default_is_pinned_by_digest_with_its_tag_named() -> None:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert match is not None
    image, _, digest = match.group(1).partition("@")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), match.group(1)
    assert re.search(rf"^# {re.escape(image)} \(", DOCKERFILE, re.MULTILINE), "name the tag in a comment"


# --------------------------------------------------------------------------- scripts/release.py


def test_check_tag_accepts_the_packages_tag() -> None:
    release = check_tag(f"v{gate.__version__}", INIT, DOCKERFILE)
    assert release == Release(gate.__version__, gate.__version__.split(".")[0], prerelease=False)


@pytest.mark.parametrize("tag", ["0.2.0", "v0.2.1", "v0.2", "v0.2.0-rc1"])
def test_check_tag_refuses_a_tag_other_than_v_and_the_version(tag: str) -> None:
    init = '__version__ = "0.2.0"\n'
    with pytest.raises(ReleaseError, match=rf"tag {re.escape(tag)} does not match the package version 0.2.0"):
        check_tag(tag, init, "ARG VERSION=0.2.0\n")


def test_check_tag_refuses_a_dockerfile_label_behind_the_package() -> None:
    with pytest.raises(ReleaseError, match=r"Dockerfile ARG VERSION is 0.1.0.*set ARG VERSION=0.2.0"):
        check_tag("v0.2.0", '__version__ = "0.2.0"\n', "ARG VERSION=0.1.0\n")


@pytest.mark.parametrize(
    ("version", "prerelease"), [("1.4.2", False), ("1.0.0rc1", True), ("2.0.0b3", True), ("1.0.0.dev1", True)]
)
def test_check_tag_tells_a_prerelease(version: str, prerelease: bool) -> None:
    release = check_tag(f"v{version}", f'__version__ = "{version}"\n', f"ARG VERSION={version}\n")
    assert (release.major, release.prerelease) == (version.split(".")[0], prerelease)


def test_check_tag_from_the_command_line_prints_workflow_outputs() -> None:
    completed = _release_script("check-tag", f"v{gate.__version__}")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        f"version={gate.__version__}",
        f"major={gate.__version__.split('.')[0]}",
        "prerelease=false",
    ]


def test_a_wrong_tag_on_the_command_line_is_one_line_and_exit_3() -> None:
    completed = _release_script("check-tag", "v99.0.0")
    assert completed.returncode == 3
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert f"tag v99.0.0 does not match the package version {gate.__version__}" in completed.stderr


def test_bad_usage_is_one_line_and_exit_3() -> None:
    completed = _release_script("publish")
    assert completed.returncode == 3
    assert completed.stderr.strip() == "usage: release.py check-tag TAG | release.py notes VERSION"


# --------------------------------------------------------------------------- changelog


def test_changelog_has_notes_for_the_package_version() -> None:
    completed = _release_script("notes", gate.__version__)
    assert completed.returncode == 0, completed.stderr
    assert "### Added" in completed.stdout
    assert not [line for line in completed.stdout.splitlines() if line.startswith("## ")], "one section only"


def test_notes_stop_at_the_next_version_and_at_link_references() -> None:
    changelog = (
        "# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - 2026-12-01\n\n### Fixed\n\n- the thing\n\n"
        "## [1.0.0] - 2026-11-01\n\n### Added\n\n- everything\n\n[1.0.0]: https://example.invalid/v1.0.0\n"
    )
    assert notes(changelog, "1.1.0") == "### Fixed\n\n- the thing"
    assert notes(changelog, "1.0.0") == "### Added\n\n- everything"


def test_notes_refuse_a_missing_or_empty_section() -> None:
    changelog = "## [Unreleased]\n\n## [1.0.0] - 2026-11-01\n\n## [0.9.0] - 2026-10-01\n\n- old\n"
    with pytest.raises(ReleaseError, match=r"no '## \[2.0.0\] - YYYY-MM-DD' section"):
        notes(changelog, "2.0.0")
    with pytest.raises(ReleaseError, match=r"the section for 1\.0\.0 is empty"):
        notes(changelog, "1.0.0")
    # 1.0.0 must not match 1.0.0.1 or 11.0.0: the heading is matched whole.
    with pytest.raises(ReleaseError):
        notes("## [11.0.0] - 2026-11-01\n\n- x\n", "1.0.0")


# --------------------------------------------------------------------------- the release workflow


def test_workflow_runs_on_version_tags_only() -> None:
    workflow = _workflow()
    # PyYAML reads the key `on` as the boolean True.
    assert workflow[True] == {"push": {"tags": ["v*.*.*"]}}


def test_every_action_is_pinned_by_commit_with_its_release_named() -> None:
    lines = [line.strip() for line in WORKFLOW_PATH.read_text(encoding="utf-8").splitlines()]
    uses = [line.split("uses: ", 1)[1] for line in lines if line.startswith(("uses: ", "- uses: "))]
    assert len(uses) >= 10
    unpinned = [ref for ref in uses if not SHA_PIN.match(ref)]
    assert unpinned == []


def test_permissions_are_granted_per_job_and_nothing_by_default() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    granted = {name: job["permissions"] for name, job in workflow["jobs"].items()}
    assert granted == {
        "build": {"contents": "read"},
        "package-index": {"id-token": "write"},
        "image": {"contents": "read", "packages": "write"},
        "github-release": {"contents": "write"},
        "major-tag": {"contents": "write"},
    }


def test_the_package_is_built_once_and_published_by_trusted_publishing() -> None:
    workflow = _workflow()
    runs = "\n".join(step.get("run", "") for step in _steps(workflow))
    assert runs.count("python -m build") == 1
    publish = workflow["jobs"]["package-index"]["steps"]
    assert publish[0]["uses"].startswith("actions/download-artifact@")
    assert publish[1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publish[1], "no token: the index trusts the workflow"


def test_the_image_is_multi_arch_with_provenance_sbom_and_its_tags() -> None:
    steps = {step.get("uses", "").split("@")[0]: step for step in _workflow()["jobs"]["image"]["steps"]}
    meta = steps["docker/metadata-action"]["with"]
    assert meta["images"] == "ghcr.io/${{ github.repository_owner }}/clanforge-gate"
    assert meta["tags"].split() == [
        "type=semver,pattern={{version}}",
        "type=semver,pattern={{major}}.{{minor}}",
        "type=semver,pattern={{major}}",
        # The tag the action pinned by this commit pulls (scripts/action-image.sh).
        "type=sha,format=long",
    ]
    build = steps["docker/build-push-action"]["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["push"] is True and build["sbom"] is True and build["provenance"] == "mode=max"
    assert build["build-args"] == "VERSION=${{ needs.build.outputs.version }}"


def test_the_release_waits_for_both_publications_and_the_major_tag_for_the_release() -> None:
    jobs = _workflow()["jobs"]
    assert set(jobs["github-release"]["needs"]) == {"build", "package-index", "image"}
    assert "github-release" in jobs["major-tag"]["needs"]
    assert jobs["major-tag"]["if"] == "needs.build.outputs.prerelease == 'false'"


def test_the_releasing_doc_names_what_the_release_produces() -> None:
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    releasing = text[text.index("## Releasing") :]
    for name in ("vX.Y.Z", "`vX`", "ghcr.io/<owner>/clanforge-gate", "`clanforge-gate`"):
        assert name in releasing, name
    for tag in ("X.Y.Z", "X.Y", "X"):
        assert f"clanforge-gate:{tag}" in releasing


# A real build of the wheel by pip in another process, as a release makes it: end to end (seconds).
@pytest.mark.e2e
def test_the_wheel_ships_every_package_of_gate(tmp_path: Path) -> None:
    """A subpackage missing from the wheel breaks the installed command and the image, not the
    tests (they run from the checkout): build the wheel from a clean copy of the sources and look."""
    import shutil
    import zipfile

    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "gate", source / "gate", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("clanforge_gate-*.whl")
    shipped = {
        name.rsplit("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist() if name.endswith("/__init__.py")
    }
    packages = {init.parent.relative_to(ROOT).as_posix() for init in (ROOT / "gate").rglob("__init__.py")}
    assert packages and packages <= shipped, f"not in the wheel: {sorted(packages - shipped)}"
