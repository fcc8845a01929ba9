"""The layout that docs/development.md draws is the one the imports have.

The drawing there names the pure core; these tests read it from the page and hold every module's
imports (lazy ones inside functions included) against it: the core imports only the core, the
outputs and the simulator import only the core and themselves, the gate's shells import neither
the simulator nor the command line, and no import goes round in a circle.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gate"
DEVELOPMENT = ROOT / "docs" / "development.md"
# The command line: the only modules that may import the simulator's commands and everything else.
TOP = {"gate.__main__", "gate.entry", "gate.cli", "gate.parser", "gate.finish"}
# The gate's shells: network, the wait loop, the deploy chain, check.
SHELLS = {
    "gate.exchange",
    "gate.client",
    "gate.waiter",
    "gate.deploy.chain",
    "gate.deploy.fleet",
    "gate.check",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def imports() -> dict[str, frozenset[str]]:
    """Each module of the package and the modules of the package it imports, wherever it does."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from gate.report import naming`` imports a module; ``from gate.report import
                # Reporter`` a name of the package.
                subs = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
                found |= subs or {node.module}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = frozenset(dep for dep in found if dep in modules and dep != name)
    return graph


def core_modules() -> set[str]:
    """The modules the drawing in docs/development.md places in the pure core."""
    text = DEVELOPMENT.read_text(encoding="utf-8")
    drawing = text.split("### Where each job lives", 1)[1].split("```", 2)[1]
    below = drawing.split("the pure core", 1)[1]
    return {module_name(ROOT / path) for path in re.findall(r"gate/[\w/]+\.py", below)}


def test_the_drawing_names_a_core_of_modules_that_exist() -> None:
    core = core_modules()
    assert {"gate.kinds", "gate.ending", "gate.config", "gate.job", "gate.schedule"} <= core
    assert core <= imports().keys()


def test_every_module_is_named_in_the_development_page() -> None:
    text = DEVELOPMENT.read_text(encoding="utf-8")
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":
            continue
        # Modules of gate/report/ and gate/sim/ are named in their folder's paragraph.
        named = relative in text or (path.parent.name in {"report", "sim"} and f"`{path.name}`" in text)
        if not named:
            missing.append(relative)
    assert not missing, f"place these in docs/development.md: {missing}"


def test_the_core_imports_only_the_core() -> None:
    core = core_modules()
    # ``gate`` itself only holds the version.
    allowed = core | {"gate"}
    wrong = {name: sorted(imports()[name] - allowed) for name in core if imports()[name] - allowed}
    assert not wrong, f"the pure core imports from a shell: {wrong}"


def test_the_outputs_and_the_simulator_import_only_the_core_and_themselves() -> None:
    core = core_modules() | {"gate"}
    wrong = {}
    for name, deps in imports().items():
        for folder, also in (("gate.report", {"gate.ownership"}), ("gate.sim", set())):
            if name == folder or name.startswith(folder + "."):
                own = {dep for dep in deps if dep == folder or dep.startswith(folder + ".")}
                if deps - own - core - also:
                    wrong[name] = sorted(deps - own - core - also)
    assert not wrong, wrong


def test_the_shells_reach_the_outputs_only_through_the_reporter_protocol() -> None:
    wrong = {}
    for name in SHELLS:
        deps = imports()[name]
        bad = {dep for dep in deps if dep in TOP or dep.startswith(("gate.sim", "gate.report."))}
        if bad:
            wrong[name] = sorted(bad)
    assert not wrong, wrong


def test_only_the_command_line_imports_the_command_line() -> None:
    importers = {name for name, deps in imports().items() if deps & (TOP - {"gate.parser", "gate.finish"})}
    assert importers <= TOP


def test_no_import_goes_round_in_a_circle() -> None:
    graph = imports()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            cycle = (*path[path.index(name) :], name)
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for dep in sorted(graph[name]):
            # A package imports its own modules to show their names (``gate.deploy``, ``gate.sim``);
            # that is not a cycle with a module importing a sibling through the package.
            if not name.startswith(dep + "."):
                visit(dep, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_the_reader_sees_imports_inside_functions() -> None:
    # The command line loads deploy and the simulator's commands only when they run.
    assert {"gate.deploy.chain", "gate.sim.commands"} <= imports()["gate.cli"]
    assert "gate.report.naming" in imports()["gate.report.github"]


def test_no_module_is_over_five_hundred_lines() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not long, f"split these by job: {long}"


def test_no_function_is_over_fifty_lines() -> None:
    # A function longer than a screen does more than one thing: split it where its parts are.
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                if (count := node.end_lineno - first + 1) > 50:
                    long[f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.name}"] = count
    assert not long, f"split these: {long}"
