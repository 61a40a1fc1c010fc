"""Reading JSON Lines files: the one reader for datasets, benchmark suites, run metrics and caches.

It lives in `verifiers` (the lowest package that reads data files) so `rl` and `verifiers` share it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonlError(ValueError):
    """A line that is not a JSON object, named by file and line number."""


def read_jsonl(path: str | Path, *, skip_invalid: bool = False) -> list[dict[str, Any]]:
    """The objects of a JSONL file, one per non-blank line.

    A line that does not parse raises JsonlError naming `path:line`, unless `skip_invalid`: for files
    another process appends to (metrics, generation caches), whose last line may be cut short.
    """
    path = Path(path)
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                if skip_invalid:
                    continue
                raise JsonlError(f"{path}:{n} is not a JSON object: {e}") from e
            if not isinstance(row, dict):
                if skip_invalid:
                    continue
                raise JsonlError(f"{path}:{n} is a JSON {type(row).__name__}, not an object")
            rows.append(row)
    return rows
