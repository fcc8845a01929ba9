"""Text that came from outside (the API, a proxy) made safe to print: data, never a command.

Control characters and ANSI escapes are removed, lone surrogates replaced, a line can never
start with ``::`` (a GitHub workflow command) and no GitLab section marker survives. Used on API
text where it enters (gate.client) and on every output line (gate.report.Redactor).
"""

from __future__ import annotations

import re

from gate.redact import Masker

ELLIPSIS = "\u2026"
REPLACEMENT = "\ufffd"
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase-line
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-_]?"  # any other escape, or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# C0 and C1 controls, DEL, line and paragraph separators, and the bidi overrides that can make
# a log line read differently from what it says.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SECTION = re.compile(r"section_(start|end):", re.IGNORECASE)
_DOUBLE_COLON = re.compile(r":(?=:)")
_COMMAND_START = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


def clean(text: str, *, one_line: bool = True) -> str:
    """``text`` without control characters or escapes, safe at the start of a CI log line."""
    text = _SURROGATE.sub(REPLACEMENT, text)
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub("", text)
    if one_line:
        text = " ".join(text.split())
    # "section_start:" is what GitLab's log viewer looks for; "::" at a line start, GitHub's runner.
    text = _SECTION.sub(lambda m: f"section-{m.group(1)}:", text)
    text = _DOUBLE_COLON.sub(": ", text) if one_line else _COMMAND_START.sub(r"\1: ", text)
    return text


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def safe_text(text: str, masker: Masker, *, one_line: bool = True) -> str:
    """``text`` masked, cleaned, and masked again: removing a control character can join a split
    secret. Every output line and every API text goes through this."""
    return masker.mask(clean(masker.mask(text), one_line=one_line))


def api_text(text: str, masker: Masker, limit: int = 300) -> str:
    """API text for a message: made safe (``safe_text``), and only then cut to ``limit`` characters."""
    return cut(safe_text(text, masker), limit)
