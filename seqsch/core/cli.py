"""The entry point every command line shares: a user's mistake ends in one line, not a traceback.

A newcomer's wrong command line (a batch size of 0, a length file that is not there, an unknown
`random:` shape) should say what is wrong and stop, not print forty lines of stack. Every
`seqsch/*/__main__.py` therefore parses and runs through this module:

    from seqsch.core.cli import parse_args, positive_int, run

    def main(argv: Sequence[str] | None = None) -> dict:
        parser = ...                          # built in __main__.py, as before
        parser.add_argument("--batch-size", type=positive_int, default=16)
        args = parse_args(parser, argv)       # instead of parser.parse_args(argv)
        ...
        return summary                        # main stays callable from tests and notebooks

    if __name__ == "__main__":
        run(main)

A user error ends the process with exit status 2 and exactly one line on stderr,
``python -m seqsch.<sub>: error: <message>``. What counts as a user error:

- a parser's own error: an unknown option, an invalid choice, a value the `type=` helpers below
  reject, a missing required argument (its message names the argument; the usage lines are left
  out, `--help` shows them), and `parser.error(...)` called after parsing;
- `UsageError`, for a setting an entry point rejects itself;
- `ValueError`: library functions and configs reject bad settings and malformed files with it
  (the project's rule), so its message names the setting;
- `FileNotFoundError`, and any other `OSError` that names a path (its `filename` is set, e.g.
  `IsADirectoryError`, `PermissionError`): a missing or unreadable file or folder;
- `KeyError` whose argument is a sentence: a registry refusing an unknown name. A bare missing
  key (``KeyError('x')``) is a bug and keeps its traceback.

Everything else (TypeError, AttributeError, RuntimeError, an OSError without a path, ...) is a
programming error or a failure of the machine: its traceback is shown and the exit status is
Python's, 1. Set the environment variable ``SEQSCH_DEBUG=1`` to see the traceback of a user
error too (it is re-raised), e.g. ``SEQSCH_DEBUG=1 python -m seqsch.scheduling ...``; one
environment variable serves every command line without a parser change.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

DEBUG_VARIABLE = "SEQSCH_DEBUG"
EXIT_USER_ERROR = 2  # what a parser's own errors exit with


class UsageError(ValueError):
    """A command line that cannot run as given; its message says which argument and why."""


class IntAtLeast:
    """A parser `type=`: an integer >= `low`. The parser reports a refused value in one line that
    names the argument and this type, e.g. "argument --batch-size: invalid positive integer
    value: '0'" (it reads `__name__`)."""

    def __init__(self, low: int, name: str) -> None:
        self.low = low
        self.__name__ = name

    def __call__(self, text: str) -> int:
        value = int(text)
        if value < self.low:
            raise ValueError(f"{value} < {self.low}")
        return value

    def __repr__(self) -> str:
        return f"IntAtLeast({self.low}, {self.__name__!r})"


positive_int = IntAtLeast(1, "positive integer")  # sizes and counts: batch, bin, group, N...
non_negative_int = IntAtLeast(0, "non-negative integer")  # e.g. a prompt length, a depth


def debug_enabled() -> bool:
    """Whether `SEQSCH_DEBUG` asks for tracebacks of user errors (set, and not "0")."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def _raise_usage_error(message: str) -> NoReturn:
    raise UsageError(message)


def parse_args(parser: Any, argv: Sequence[str] | None = None) -> Any:
    """`parser.parse_args(argv)`, its errors raised as `UsageError` instead of printed with the
    usage lines. `parser.error` is replaced on this parser, so a later
    `parser.error("...")` in the entry point raises `UsageError` too; a sub-command's parser
    prints its error before exiting, so that line is read back from a captured stderr."""
    parser.error = _raise_usage_error
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            return parser.parse_args(argv)
    except SystemExit as exit_:
        text = captured.getvalue()
        if exit_.code in (0, None):  # e.g. --help, printed to stdout
            sys.stderr.write(text)
            raise
        lines = text.strip().splitlines()  # usage lines, then "prog: error: message"
        last = lines[-1] if lines else f"invalid command line (exit status {exit_.code})"
        raise UsageError(last.partition(": error: ")[2] or last) from None


def user_error_message(error: BaseException) -> str | None:
    """The one-line message of a user error (see the module docstring), or None for an error
    that must keep its traceback."""
    if isinstance(error, ValueError):
        message = str(error)
    elif isinstance(error, OSError) and (error.filename is not None
                                         or isinstance(error, FileNotFoundError)):
        message = (f"{error.strerror}: {error.filename}"
                   if error.strerror and error.filename is not None else str(error))
    elif (isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str)
          and " " in error.args[0].strip()):
        message = error.args[0]
    else:
        return None
    return " ".join(message.split()) or type(error).__name__


def command_name(main: Callable) -> str:
    """How the user typed the command, e.g. "python -m seqsch.bench", from `main`'s module."""
    spec = getattr(main, "__globals__", {}).get("__spec__")
    module = spec.name if spec is not None else main.__module__
    return "python -m " + module.removesuffix(".__main__")


def run(main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None) -> None:
    """Run `main(argv)`; a user error ends the process with one line on stderr and exit status
    2 (unless `SEQSCH_DEBUG=1`), any other error with its traceback."""
    try:
        main(argv)
    except Exception as error:
        message = user_error_message(error)
        if message is None or debug_enabled():
            raise
        print(f"{command_name(main)}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None
