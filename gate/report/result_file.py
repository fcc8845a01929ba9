"""The JSON result file: a run's ``Result`` as pipelines read it."""

from __future__ import annotations

import json

from gate.report.files import write_text_atomic
from gate.result import Result


def result_json(result: Result) -> str:
    """The result file's text: the result as indented JSON with sorted keys, one final line break."""
    return json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"


def write_result_file(path: str, result: Result) -> None:
    """Write the result file atomically: readers see the old file or the whole new one."""
    write_text_atomic(path, result_json(result))
