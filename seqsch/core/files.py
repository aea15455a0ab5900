"""Files that survive interruptions: JSONL read past a cut last line, writes that land whole.

Long jobs (length collection, benchmark sweeps) append one JSON line per finished unit, so an
interrupted run resumes after the last whole line: `read_jsonl` skips a line the interruption
cut short. Files and folders that are rewritten (a length file cleaned on resume, a feature
cache, a converted model, a training checkpoint) are written beside their target and moved onto
it in one step by `atomic_path`, so a reader never sees half of one.

    for record in read_jsonl(path): ...
    with atomic_path(path) as tmp:
        tmp.write_text(text)        # `path` changes only if this block ends without error
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def read_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a JSONL file, one per line; blank lines and a line cut short by an
    interruption (not valid JSON) are skipped."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
    return records


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary sibling of `target` to write a file or a folder into; it replaces `target`
    in one rename when the block ends without error, and is removed otherwise. A folder
    replaces only a missing or empty `target` (OSError otherwise: someone else finished first)."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    _remove(tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            _remove(tmp)
