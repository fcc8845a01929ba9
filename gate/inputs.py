"""A CI wrapper's inputs, laid over the environment so that they beat stray variables.

A wrapper (the GitHub action) hands each of its inputs to the gate as ``CLANFORGE_INPUT_<NAME>``,
``<NAME>`` being the setting's flag in upper snake case (``--poll-interval`` ->
``CLANFORGE_INPUT_POLL_INTERVAL``). Such a variable is present, if empty, whenever the wrapper has
that input, and it decides the setting: the plain ``CLANFORGE_<NAME>`` variable (and, for a
credential, ``CLANFORGE_<NAME>_FILE``) is dropped, whatever the workflow around the wrapper set.

- An empty input means "not given": the config file, then the gate's own default, apply.
- An input equal to the gate's default means the same: wrappers show the defaults in their
  metadata, so an input left at its default is indistinguishable from one not given, and a config
  file's value must still apply. A given value that differs always wins.
- ``CLANFORGE_INPUT_COMMAND`` and ``CLANFORGE_INPUT_CA_BUNDLE`` are read by the wrapper itself
  (the command to run, and ``REQUESTS_CA_BUNDLE``); they are not settings.

Pure: a mapping in, a mapping out. The CLI applies it once, before reading any setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gate.config import DEPLOY_OPTIONS, OPTIONS, Option

INPUT_PREFIX = "CLANFORGE_INPUT_"
PLAIN_PREFIX = "CLANFORGE_"
# Inputs the wrapper consumes before the gate starts.
WRAPPER_ONLY = frozenset({"COMMAND", "CA_BUNDLE"})


def input_env(flag: str) -> str:
    """The variable a wrapper passes a flag's value in: ``--update-id`` -> ``CLANFORGE_INPUT_UPDATE_ID``."""
    return INPUT_PREFIX + flag.removeprefix("--").upper().replace("-", "_")


def default_text(default: object) -> str | None:
    """A setting's default as a wrapper writes it: ``false``, ``0``, ``30m``; None when it has none."""
    if default is None:
        return None
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def _defaults(options: Iterable[Option]) -> dict[str, str]:
    return {option.env: text for option in options if (text := default_text(option.default)) is not None}


def apply_inputs(
    env: Mapping[str, str], options: Iterable[Option] = (*OPTIONS, *DEPLOY_OPTIONS)
) -> Mapping[str, str]:
    """The environment the gate reads: each input present replaces its plain variable.

    Without any ``CLANFORGE_INPUT_*`` variable the environment is returned as it is.
    """
    inputs = {name: value for name, value in env.items() if name.startswith(INPUT_PREFIX)}
    if not inputs:
        return env
    defaults = _defaults(options)
    merged = {name: value for name, value in env.items() if not name.startswith(INPUT_PREFIX)}
    given: dict[str, str] = {}
    for name, value in inputs.items():
        suffix = name.removeprefix(INPUT_PREFIX)
        if suffix in WRAPPER_ONLY or not suffix:
            continue
        plain = PLAIN_PREFIX + suffix
        merged.pop(plain, None)
        merged.pop(f"{plain}_FILE", None)
        text = value.strip()
        if text and text != defaults.get(plain):
            given[plain] = text
    # Set after every drop, so an input ``X_FILE`` is not dropped by the input ``X``.
    merged.update(given)
    return merged
