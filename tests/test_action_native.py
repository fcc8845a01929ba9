"""The native mode's installer (scripts/action_native.py): what its key covers, and that only a
whole environment is ever reused. The install itself (venv and pip) runs under act, in
tests/test_act.py."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("action_native", ROOT / "scripts" / "action_native.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["action_native"] = module
    spec.loader.exec_module(module)
    return module


native = load()


@pytest.fixture
def action(tmp_path: Path) -> Path:
    copy = tmp_path / "action"
    shutil.copytree(ROOT / "gate", copy / "gate", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "requirements.lock", copy / "requirements.lock")
    return copy


def test_the_key_changes_with_the_lock_the_gate_and_the_python(action: Path) -> None:
    key = native.install_key(action, (3, 12, 1))
    assert native.install_key(action, (3, 12, 1)) == key
    assert native.install_key(action, (3, 11, 9)) != key
    (action / "gate" / "__pycache__").mkdir(exist_ok=True)
    (action / "gate" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert native.install_key(action, (3, 12, 1)) == key, "compiled files are not the gate's"
    (action / "gate" / "waiter.py").write_text("# changed\n")
    changed = native.install_key(action, (3, 12, 1))
    assert changed != key
    (action / "requirements.lock").write_text("requests==0\n")
    assert native.install_key(action, (3, 12, 1)) != changed


def test_the_interpreter_of_the_environment_on_each_system() -> None:
    assert native.interpreter(Path("env"), "nt") == Path("env") / "Scripts" / "python.exe"
    assert native.interpreter(Path("env"), "posix") == Path("env") / "bin" / "python"


def fake_build(calls: list[Path]):  # type: ignore[no-untyped-def]
    def build(action: Path, target: Path) -> None:
        calls.append(target)
        python = native.interpreter(target)
        python.parent.mkdir(parents=True)
        python.write_text("")
        (target / native.READY).write_text("ready\n")

    return build


def test_made_once_then_reused_and_a_half_made_one_is_made_again(
    action: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(native, "build", fake_build(calls))
    cache = tmp_path / "cache"
    python, made = native.ensure(action, cache)
    assert made and len(calls) == 1
    final = python.parent.parent
    assert final.parent == cache / "clanforge-gate" / native.version_of(action)
    assert calls[0] != final, "built aside, renamed into place when whole"
    assert native.ensure(action, cache) == (python, False) and len(calls) == 1
    (final / native.READY).unlink()  # a cancelled install left it half made
    assert native.ensure(action, cache) == (python, True) and len(calls) == 2
    assert [p.name for p in final.parent.iterdir()] == [final.name], "no work folder is left"


def test_a_failed_install_is_one_error_line_and_leaves_nothing(
    action: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(action: Path, target: Path) -> None:
        (target / "half").write_text("")
        raise native.InstallError("pip could not install the gate's dependencies (exit code 1)")

    monkeypatch.setattr(native, "build", failing)
    output = tmp_path / "output"
    output.write_text("")
    assert native.main([str(action), str(output), str(tmp_path / "cache")]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "::error title=clanforge-gate::native mode: "
        "pip could not install the gate's dependencies (exit code 1)"
    )
    assert output.read_text() == ""
    home = tmp_path / "cache" / "clanforge-gate" / native.version_of(action)
    assert list(home.iterdir()) == []


def test_the_tool_cache_first_then_runner_temp_when_it_cannot_be_written(tmp_path: Path) -> None:
    cache, temp = tmp_path / "toolcache", tmp_path / "temp"
    assert native.writable_root([str(cache), str(temp)]) == cache
    assert native.writable_root(["", str(temp)]) == temp
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the cache should be: nothing can be made under it
    assert native.writable_root([str(blocked), str(temp)]) == temp
    with pytest.raises(native.InstallError, match="cannot be written by this user"):
        native.writable_root([str(blocked)])


def test_a_rename_held_up_for_a_moment_is_tried_again(
    action: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(native, "build", fake_build(calls))
    monkeypatch.setattr(native.time, "sleep", lambda seconds: None)
    real_replace = native.os.replace
    refusals = [PermissionError(13, "in use"), PermissionError(13, "in use")]

    def replace(source: object, target: object) -> None:
        if refusals:
            raise refusals.pop()
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(native.os, "replace", replace)
    python, made = native.ensure(action, tmp_path / "cache")
    assert made and python.exists() and refusals == []
