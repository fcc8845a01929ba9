"""Install the gate for the GitHub action's native mode, once per job; print nothing secret.

Called by scripts/action-native.sh with the runner's Python (3.10 or newer, checked there):

    python action_native.py ACTION_PATH GITHUB_OUTPUT CACHE_ROOT...

A virtual environment under ``CACHE_ROOT/clanforge-gate/<version>/<key>`` (the first root given,
RUNNER_TOOL_CACHE, that the runner's user can write to; else the next, RUNNER_TEMP) gets the runtime
dependencies from the action's ``requirements.lock`` (pip with ``--require-hashes``: only the
pinned files install) and a copy of the action's own ``gate`` package; nothing else is fetched.
The key is a hash of the lock, of every file of ``gate/`` and of the Python version, so a second
step of the job (or a later job on a self-hosted runner whose tool cache stays) reuses it, and a
changed action or Python gets an environment of its own. It is made in a folder of its own and
renamed into place only when whole, so a cancelled install is never taken for a finished one.
Writes ``python=<the environment's interpreter>`` to GITHUB_OUTPUT. Exit 3 on any failure, with
one ``::error`` line that says what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ERROR = 3
READY = "clanforge-gate-ready"


class InstallError(Exception):
    """An install that cannot go on; the message says what to do."""


def version_of(action: Path) -> str:
    text = (action / "gate" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not match:
        raise InstallError(f"no __version__ in {action / 'gate' / '__init__.py'}")
    return match.group(1)


def install_key(action: Path, python_version: tuple[int, ...] = tuple(sys.version_info[:3])) -> str:
    """A hash of what the environment is made of: the lock, the gate's files, the Python version."""
    digest = hashlib.sha256()
    digest.update(".".join(map(str, python_version)).encode())
    digest.update(b"\0" + (action / "requirements.lock").read_bytes())
    package = action / "gate"
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(b"\0" + path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def interpreter(env_dir: Path, system: str = os.name) -> Path:
    """The environment's Python: Scripts\\python.exe on Windows, bin/python elsewhere."""
    if system == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        raise InstallError(f"{what} (exit code {done.returncode}; its output is above)")
    return done.stdout


def build(action: Path, target: Path) -> None:
    """Make the environment in ``target``: pinned dependencies, then the gate's own package."""
    try:
        venv.create(target, with_pip=True, symlinks=os.name != "nt")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise InstallError(
            f"cannot make a virtual environment with {sys.executable} ({exc}); install Python's venv "
            "module (on Debian and Ubuntu: apt-get install python3-venv), or add actions/setup-python "
            "before this step"
        ) from exc
    python = str(interpreter(target))
    lock = str(action / "requirements.lock")
    _run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
         "--require-hashes", "--no-deps", "--only-binary", ":all:", "-r", lock],
        f"pip could not install the gate's dependencies from {lock}; the runner needs the package "
        "index, or a mirror of it named by PIP_INDEX_URL",
    )  # fmt: skip
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "venv")
    shutil.copytree(
        action / "gate", Path(purelib.strip()) / "gate", ignore=shutil.ignore_patterns("__pycache__")
    )
    _run([python, "-I", "-m", "gate", "--version"], "the installed gate does not start")
    (target / READY).write_text("ready\n", encoding="utf-8")


def ensure(action: Path, cache: Path) -> tuple[Path, bool]:
    """The environment's interpreter, and whether it was made now (False: reused)."""
    home = cache / "clanforge-gate" / version_of(action)
    final = home / install_key(action)
    if (final / READY).is_file() and interpreter(final).exists():
        return interpreter(final), False
    home.mkdir(parents=True, exist_ok=True)
    if final.exists():  # left half-made by a cancelled install
        shutil.rmtree(final, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=".install-", dir=home))
    try:
        build(action, work)
        for attempt in range(5):
            try:
                os.replace(work, final)
                break
            except OSError:
                # Another job on this runner finished the same environment first: use that one.
                if (final / READY).is_file():
                    break
                # Windows: a scanner may hold a file just made for a moment.
                if attempt == 4:
                    raise
                time.sleep(0.5)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return interpreter(final), True


def writable_root(roots: list[str]) -> Path:
    """The first root the environment can be made under (empty ones skipped)."""
    tried = []
    for root in filter(None, roots):
        folder = Path(root) / "clanforge-gate"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            tried.append(root)
            continue
        if os.access(folder, os.W_OK):
            return Path(root)
        tried.append(root)
    raise InstallError(
        f"no folder to install into: {', '.join(tried) or 'none given'} cannot be written by this "
        "user; give the runner a writable RUNNER_TOOL_CACHE or RUNNER_TEMP"
    )


def main(argv: list[str]) -> int:
    action, output = Path(argv[0]).resolve(), Path(argv[1])
    print("::group::Install the gate natively (mode: native)", flush=True)
    try:
        python, made = ensure(action, writable_root(argv[2:]))
    except (InstallError, OSError) as exc:
        print("::endgroup::", flush=True)
        print(f"::error title=clanforge-gate::native mode: {exc}", flush=True)
        return ERROR
    word = "installed in" if made else "reusing the environment installed earlier in"
    print(f"clanforge-gate {version_of(action)}: {word} {python.parent.parent}", flush=True)
    print("::endgroup::", flush=True)
    with output.open("a", encoding="utf-8") as handle:
        # Forward slashes: the step after runs it from bash, Git Bash on Windows too.
        handle.write(f"python={python.as_posix()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
