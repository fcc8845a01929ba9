"""``python entrypoint.py`` runs the gate from a checkout, without installing it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from gate import __version__

ROOT = Path(__file__).resolve().parent.parent


def _run_entrypoint(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH and a directory outside the checkout: the script alone must find the package.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CLANFORGE_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py"), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_entrypoint_help_from_another_directory(tmp_path: Path) -> None:
    run = _run_entrypoint("--help", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: clanforge-gate")
    for command in ("wait", "deploy", "check", "simulate", "demo"):
        assert command in run.stdout


def test_entrypoint_runs_the_checkout_it_sits_in(tmp_path: Path) -> None:
    run = _run_entrypoint("--version", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"clanforge-gate {__version__}"


def test_entrypoint_ends_a_bad_setting_with_exit_3_and_one_line(tmp_path: Path) -> None:
    run = _run_entrypoint("--update-id", "12x", cwd=tmp_path)
    assert run.returncode == 3
    assert "Traceback" not in run.stderr
    assert "update_id: '12x' is not a job id" in run.stdout + run.stderr


def test_entrypoint_imports_the_package_beside_it_not_an_installed_one(tmp_path: Path) -> None:
    # A copy of the checkout's package and script elsewhere: the script must run that copy.
    shutil.copytree(ROOT / "gate", tmp_path / "gate", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "entrypoint.py", tmp_path / "entrypoint.py")
    (tmp_path / "gate" / "__init__.py").write_text(
        (ROOT / "gate" / "__init__.py").read_text(encoding="utf-8").replace(__version__, "0.0.0-checkout"),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CLANFORGE_"))}
    # Run from outside both trees: only the script's own directory can make ``gate`` the copy.
    run = subprocess.run(
        [sys.executable, str(tmp_path / "entrypoint.py"), "--version"],
        cwd=ROOT.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "clanforge-gate 0.0.0-checkout"
