"""Every command line the project shows a reader parses: README, data cards, docs (the results
page included), notebooks and the package's docstrings (the GPU scripts, whose command lines are
built from shell variables, are run on the CPU by tests/bench/test_replay.py and
test_serving_bench.py) (the lab's command text is
checked through the results page it writes). A renamed option breaks here,
not in a learner's terminal."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

from seqsch.bench import __main__ as bench_main
from seqsch.core.cli import UsageError, parse_args
from seqsch.engines import __main__ as engines_main
from seqsch.perception import __main__ as perception_main
from seqsch.scheduling import __main__ as scheduling_main

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"python -m seqsch\.(bench|perception|scheduling|engines)"
                     r"((?: [^`\n#\"|;&)]*)?)")


def _bench(argv: list[str]) -> object:
    return bench_main.build_config(parse_args(bench_main.build_parser(), argv))


PARSERS = {"bench": _bench, "perception": perception_main.build_config,
           "scheduling": scheduling_main.build_config, "engines": engines_main.build_config}


def _texts() -> list[tuple[str, str]]:
    paths = [ROOT / "README.md", ROOT / "Makefile", *sorted((ROOT / "data").glob("*.md")),
             *sorted((ROOT / "docs").glob("*.md"))]
    texts = [(str(p.relative_to(ROOT)), p.read_text()) for p in paths]
    for module in sorted((ROOT / "seqsch").rglob("*.py")):  # docstrings: what `--help` shows
        tree = ast.parse(module.read_text())
        texts += [(str(module.relative_to(ROOT)), ast.get_docstring(node) or "")
                  for node in ast.walk(tree) if isinstance(node, (ast.Module, ast.ClassDef,
                                                                  ast.FunctionDef))]
    for book in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(book.read_text())["cells"]
        texts.append((str(book.relative_to(ROOT)),
                      "\n".join("".join(c["source"]) for c in cells)))
    return texts


def _is_placeholder(word: str) -> bool:
    return any(mark in word for mark in ("$", "<", "...", "{")) or word in ("-h", "--help")


def documented_command_lines() -> list[tuple[str, str, list[str]]]:
    """(where, entry point, argv) of every shown command line: continuations joined, comments
    dropped; lines with a shell variable or a placeholder (`$X`, `<name>`, `...`) skipped."""
    found = []
    for where, text in _texts():
        text = re.sub(r"\\\n\s*", " ", text)
        for match in COMMAND.finditer(text):
            try:
                words = shlex.split(match.group(2))
            except ValueError:  # a quote cut by the pattern: not a whole command line
                continue
            if not words or any(_is_placeholder(w) for w in words):
                continue
            found.append((f"{where}: {match.group(0).strip()}", match.group(1), words))
    return found


LINES = documented_command_lines()


def test_the_project_shows_command_lines_of_every_entry_point():
    assert {entry for _, entry, _ in LINES} == set(PARSERS)
    assert len(LINES) > 40


@pytest.mark.parametrize("where, entry, argv", LINES, ids=[w for w, _, _ in LINES])
def test_a_documented_command_line_parses(where, entry, argv):
    try:
        PARSERS[entry](argv)
    except (UsageError, ValueError) as error:
        raise AssertionError(f"{where}\n  -> {error}") from None
