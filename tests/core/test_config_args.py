"""Command lines built from config dataclasses: each field one option, its default and help once."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from seqsch.core.cli import UsageError, parse_args, positive_int
from seqsch.core.config_args import (
    add_config_arguments,
    arg,
    config_from_args,
    config_option_names,
    nested,
    option_dests,
    option_name,
    with_default,
)
from seqsch.core.paths import DATA_DIR


@dataclass
class Inner:
    width: int = 2


@dataclass
class Example:
    num_epochs: int = field(default=3, metadata=arg("passes over the data", type=positive_int))
    learning_rate: float = 1e-3
    out: Path = Path("build/example")
    model: str | None = None
    depths: tuple[int, ...] = (4, 8)
    pooling: Literal["mean", "last"] = "mean"
    decode: str = field(default="median", metadata=arg(choices=("median", "mean")))
    quiet: bool = False
    resume: bool = True
    inner: Inner = field(default_factory=Inner, metadata=arg(cli=False))

    def __post_init__(self) -> None:
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def parser_for(cls=Example, **kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="example")
    add_config_arguments(parser, cls, **kwargs)
    return parser


def test_defaults_come_from_the_dataclass():
    config = config_from_args(Example, parse_args(parser_for(), []))
    assert config == Example()


def test_every_kind_of_field_parses():
    args = parse_args(parser_for(), [
        "--num-epochs", "5", "--learning-rate", "0.5", "--out", "x/y", "--model", "m",
        "--depths", "1", "2", "3", "--pooling", "last", "--decode", "mean", "--quiet",
        "--no-resume"])
    config = config_from_args(Example, args, inner=Inner(7))
    assert config == Example(num_epochs=5, learning_rate=0.5, out=Path("x/y"), model="m",
                             depths=(1, 2, 3), pooling="last", decode="mean", quiet=True,
                             resume=False, inner=Inner(7))
    assert isinstance(config.depths, tuple) and isinstance(config.out, Path)


def test_help_and_option_names_follow_the_fields():
    text = parser_for().format_help()
    assert "--num-epochs" in text and "passes over the data" in text
    assert "--inner" not in text  # kept off the command line
    assert option_name("max_new_tokens") == "--max-new-tokens"


@pytest.mark.parametrize("argv, words", [
    (["--num-epochs", "0"], "--num-epochs"),
    (["--pooling", "first"], "--pooling"),
    (["--decode", "mode"], "--decode"),
])
def test_a_refused_value_names_its_option(argv, words):
    with pytest.raises(UsageError, match=words):
        parse_args(parser_for(), argv)


def test_the_config_still_validates():
    with pytest.raises(ValueError, match="learning_rate"):
        config_from_args(Example, parse_args(parser_for(), ["--learning-rate", "-1"]))


def test_exclude_leaves_a_field_out_and_rejects_unknown_names():
    assert "--quiet" not in parser_for(exclude={"quiet"}).format_help()
    with pytest.raises(ValueError, match="no fields"):
        parser_for(exclude={"nope"})


def test_a_field_without_a_parser_type_is_refused_at_build_time():
    @dataclass
    class Bad:
        inner: Inner = field(default_factory=Inner)

    with pytest.raises(TypeError, match="Bad.inner"):
        parser_for(Bad)


def test_config_option_names_are_the_options_the_parser_gets():
    names = config_option_names(Example)
    assert names == ["--num-epochs", "--learning-rate", "--out", "--model", "--depths",
                     "--pooling", "--decode", "--quiet", "--no-resume"]
    parser = parser_for()
    assert [a.option_strings[0] for a in parser._actions if a.dest != "help"] == names
    assert "--quiet" not in config_option_names(Example, exclude={"quiet"})


@dataclass(frozen=True)
class Head:
    width: int = field(default=4, metadata=arg("the head's width", type=positive_int))
    seed: int = 0


@dataclass
class Outer:
    seed: int = 1
    head: Head = field(default_factory=lambda: Head(width=8), metadata=nested())
    bare: Head = field(default_factory=Head, metadata=nested(exclude=("width", "seed")))
    name: str = field(default="a", metadata=arg(choices=lambda: ("a", "b")))


def test_a_nested_config_puts_its_fields_on_the_same_command_line():
    with pytest.raises(argparse.ArgumentError, match="--seed"):  # a clash is refused at build
        parser_for(Outer)

    @dataclass
    class Fine:
        head: Head = field(default_factory=lambda: Head(width=8), metadata=nested())
        rest: Head = field(default_factory=Head, metadata=nested(exclude=("width", "seed")))

    parser = parser_for(Fine)
    assert option_dests(Fine) == ["width", "seed"]
    assert config_from_args(Fine, parse_args(parser, [])) == Fine()  # the outer default: 8
    config = config_from_args(Fine, parse_args(parser, ["--width", "3", "--seed", "5"]))
    assert config == Fine(head=Head(width=3, seed=5), rest=Head())  # excluded: not read
    with pytest.raises(UsageError, match="--width"):
        parse_args(parser, ["--width", "0"])
    with pytest.raises(ValueError, match="has no fields"):
        @dataclass
        class Wrong:
            head: Head = field(default_factory=Head, metadata=nested(exclude=("nope",)))
        parser_for(Wrong)


def test_choices_may_be_a_function_called_when_the_parser_is_built():
    names = ["a"]

    @dataclass
    class Registry:
        name: str = field(default="a", metadata=arg(choices=lambda: tuple(names)))

    names.append("late")  # registered after the class was defined
    assert config_from_args(Registry, parse_args(parser_for(Registry), ["--name", "late"])) == (
        Registry(name="late"))
    with pytest.raises(UsageError, match="invalid choice"):
        parse_args(parser_for(Registry), ["--name", "other"])


def test_help_says_each_default_once():
    text = parser_for().format_help()
    assert "passes over the data (default: 3)" in text and "(default: 4 8)" in text
    assert with_default("where", DATA_DIR / "x.json") == "where (default: data/x.json)"
    assert with_default("a share in %", 0.5) == "a share in %% (default: 0.5)"
    assert with_default("switch", False) == "switch" and with_default("", None) is None
    assert with_default("tokens (default: the cap)", 7) == "tokens (default: the cap)"
