"""The YAML reader of a settings file: safe YAML with the YAML 1.1 traps closed.

Imported only when a config file is named, so a plain run never loads YAML.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gate.errors import ConfigError, shown


class _SettingsLoader(yaml.SafeLoader):
    """Safe YAML with two YAML 1.1 traps closed: no anchors or aliases (a few hundred bytes of
    nested aliases expand to gigabytes), and integers in plain decimal only: ``0755`` (octal in
    YAML 1.1), ``12:30`` (base 60), ``0x1F`` and ``1_000`` stay strings, so an id is read as
    written or refused, never turned into another number."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise ConfigError(
                f"config file {self.name}: YAML anchors and aliases are not allowed (line "
                f"{mark.line + 1}); write each value out"
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # A key given twice would silently keep the last value: which one was meant is a guess.
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int)) and key in seen:
                raise ConfigError(
                    f"config file {self.name}: {shown(key)} is given twice (line "
                    f"{key_node.start_mark.line + 1}); keep one"
                )
            seen.add(key if isinstance(key, (str, int)) else id(key))
        return super().construct_mapping(node, deep=deep)


_SettingsLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SettingsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*))$"), list("-+0123456789")
)
_SettingsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)


def parse_settings_yaml(text: str, path: str) -> Any:
    """The document in ``text`` (the file ``path``), or a ConfigError that names the file."""
    try:
        loader = _SettingsLoader(text)
        loader.name = path
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}: not valid YAML{where}; fix the syntax") from exc
    except RecursionError as exc:
        raise ConfigError(f"config file {path}: nested too deeply; it must be a flat mapping") from exc
