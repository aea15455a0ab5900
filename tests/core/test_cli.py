"""The shared entry point: user errors end in one line and exit status 2, bugs keep their
traceback, SEQSCH_DEBUG=1 re-raises, and the integer types name the argument they refuse."""

from __future__ import annotations

import argparse
import errno

import pytest

from seqsch.core.cli import (
    DEBUG_VARIABLE,
    UsageError,
    command_name,
    non_negative_int,
    parse_args,
    positive_int,
    run,
    user_error_message,
)
from seqsch.scheduling.__main__ import main as simulator_main


def raising(error: BaseException):
    def main(argv=None) -> dict:
        raise error
    return main


def one_line_exit(capsys, main, argv=None) -> str:
    """Run `main` through `run`: exit status 2 and exactly one line on stderr, which it returns."""
    with pytest.raises(SystemExit) as exit_:
        run(main, argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    return err.strip()


@pytest.mark.parametrize(("error", "message"), [
    (ValueError("batch_size must be >= 1, got 0"), "batch_size must be >= 1, got 0"),
    (UsageError("--split x selects no records"), "--split x selects no records"),
    (FileNotFoundError("length file not found: x.json"), "length file not found: x.json"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "x.jsonl"),
     "No such file or directory: x.jsonl"),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "build"), "Is a directory: build"),
    (KeyError("unknown predictor 'x'; choose one of ['a']"),
     "unknown predictor 'x'; choose one of ['a']"),
    (ValueError("two\n  lines"), "two lines"),
])
def test_user_errors_end_in_one_line(capsys, error, message):
    line = one_line_exit(capsys, raising(error))
    assert line.startswith("python -m ") and line.endswith(f"test_cli: error: {message}")


@pytest.mark.parametrize("error", [
    TypeError("bug"), AttributeError("bug"), RuntimeError("bug"), KeyError("missing_key"),
    OSError(errno.ENOSPC, "No space left on device"),
])
def test_programming_errors_keep_their_traceback(error):
    assert user_error_message(error) is None
    with pytest.raises(type(error)):
        run(raising(error))


def test_debug_variable_re_raises_user_errors(monkeypatch):
    monkeypatch.setenv(DEBUG_VARIABLE, "1")
    with pytest.raises(ValueError, match="bad"):
        run(raising(ValueError("bad")))
    monkeypatch.setenv(DEBUG_VARIABLE, "0")  # "0" means off
    with pytest.raises(SystemExit):
        run(raising(ValueError("bad")))


def test_run_passes_argv_and_returns_normally():
    seen = []
    run(lambda argv=None: seen.append(argv), ["--x", "1"])
    assert seen == [["--x", "1"]]


def test_command_name_is_what_the_user_typed():
    assert command_name(simulator_main) == "python -m seqsch.scheduling"


def parser_with_subcommand() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prog")
    parser.add_argument("--size", type=positive_int, default=1)
    parser.add_argument("--depth", type=non_negative_int, default=0)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("go").add_argument("--count", type=positive_int, required=True)
    return parser


@pytest.mark.parametrize(("argv", "message"), [
    (["--size", "0"], "argument --size: invalid positive integer value: '0'"),
    (["--size", "-3"], "argument --size: invalid positive integer value: '-3'"),
    (["--size", "abc"], "argument --size: invalid positive integer value: 'abc'"),
    (["--depth", "-1"], "argument --depth: invalid non-negative integer value: '-1'"),
    (["--nosuch"], "unrecognized arguments: --nosuch"),
    (["go", "--count", "0"], "argument --count: invalid positive integer value: '0'"),  # a sub-
    (["go"], "the following arguments are required: --count"),  # command's parser prints it
])
def test_parser_errors_are_usage_errors_without_the_usage_lines(capsys, argv, message):
    with pytest.raises(UsageError) as error:
        parse_args(parser_with_subcommand(), argv)
    assert str(error.value) == message
    assert capsys.readouterr().err == ""


def test_parse_args_keeps_valid_values_and_later_parser_errors_raise():
    parser = parser_with_subcommand()
    args = parse_args(parser, ["--size", "3", "--depth", "0", "go", "--count", "2"])
    assert (args.size, args.depth, args.count) == (3, 0, 2)
    with pytest.raises(UsageError, match="--size too large"):
        parser.error("--size too large")


def test_help_still_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(parser_with_subcommand(), ["--help"])
    assert exit_.value.code == 0
    assert "usage: prog" in capsys.readouterr().out
