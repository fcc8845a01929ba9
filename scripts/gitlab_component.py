#!/usr/bin/env python3
"""Split a GitLab CI/CD component into its ``spec`` header and its body, with the inputs'
defaults substituted into the body, so both can be checked against GitLab's CI schema offline.

Usage: gitlab_component.py TEMPLATE OUTDIR  ->  OUTDIR/<name>.header.yml and OUTDIR/<name>.body.yml

An input without a default gets a stand-in of its type (a string that matches its ``regex`` when
it has one of the simple forms used here, 0, false or an empty list). Interpolations other than
plain ``$[[ inputs.NAME ]]`` (functions, component fields) are refused rather than guessed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

INTERPOLATION = re.compile(r"\$\[\[\s*(.*?)\s*\]\]")
PLAIN_INPUT = re.compile(r"inputs\.([A-Za-z0-9_-]+)")
STAND_INS: dict[str, Any] = {"string": "example", "number": 0, "boolean": False, "array": []}
INPUT_KEYS = {"default", "description", "options", "regex", "type"}


def stand_in(name: str, spec: dict[str, Any]) -> Any:
    kind = spec.get("type", "string")
    if "options" in spec:
        return spec["options"][0]
    if kind == "string" and spec.get("regex") == "^[0-9]+$":
        return "1234"
    if kind not in STAND_INS:
        raise SystemExit(f"input {name!r}: unknown type {kind!r}")
    return STAND_INS[kind]


def input_values(header: dict[str, Any]) -> dict[str, Any]:
    inputs = (header.get("spec") or {}).get("inputs") or {}
    values = {}
    for name, spec in inputs.items():
        spec = spec or {}
        unknown = set(spec) - INPUT_KEYS
        if unknown:
            raise SystemExit(f"input {name!r}: unknown keys {sorted(unknown)}; known: {sorted(INPUT_KEYS)}")
        values[name] = spec["default"] if "default" in spec else stand_in(name, spec)
    return values


def substitute(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {substitute(key, values): substitute(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute(item, values) for item in node]
    if not isinstance(node, str):
        return node

    def value_of(expression: str) -> Any:
        match = PLAIN_INPUT.fullmatch(expression)
        if match is None:
            raise SystemExit(f"unsupported interpolation $[[ {expression} ]]")
        if match[1] not in values:
            raise SystemExit(f"interpolation of an undeclared input: {match[1]!r}")
        return values[match[1]]

    whole = INTERPOLATION.fullmatch(node.strip())
    if whole is not None:
        return value_of(whole[1])  # keeps the input's type (array, boolean, number)
    return INTERPOLATION.sub(lambda m: str(value_of(m[1])), node)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    template, outdir = Path(argv[1]), Path(argv[2])
    documents = list(yaml.safe_load_all(template.read_text(encoding="utf-8")))
    if len(documents) != 2 or not isinstance(documents[0], dict) or "spec" not in documents[0]:
        raise SystemExit(f"{template}: expected a 'spec:' header, '---', then the configuration")
    header, body = documents
    outdir.mkdir(parents=True, exist_ok=True)
    stem = template.stem
    (outdir / f"{stem}.header.yml").write_text(yaml.safe_dump(header, sort_keys=False), encoding="utf-8")
    rendered = substitute(body, input_values(header))
    leftover = INTERPOLATION.search(yaml.safe_dump(rendered))
    if leftover is not None:
        raise SystemExit(f"{template}: interpolation left after substitution: {leftover[0]}")
    (outdir / f"{stem}.body.yml").write_text(yaml.safe_dump(rendered, sort_keys=False), encoding="utf-8")
    print(f"{template}: header and body (inputs substituted) in {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
