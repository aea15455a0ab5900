"""Command lines built from config dataclasses, so that each default and each help text lives once.

Every library entry point takes one typed config (`SweepConfig`, `SelectionConfig`, ...). Its
command line is that config's fields, named as the library names them (`num_epochs` is
`--num-epochs`), with the dataclass's default and a help text kept beside the field:

    @dataclass
    class TrainConfig:
        num_epochs: int = field(default=3, metadata=arg("passes over the train split",
                                                        type=positive_int))
        out: Path = field(default=BUILD_DIR / "head", metadata=arg("the head's folder"))

    add_config_arguments(parser, TrainConfig)           # --num-epochs, --out, with defaults
    config = config_from_args(TrainConfig, parse_args(parser, argv))

How a field becomes an option: `bool` is a switch (`--quiet`; `--no-resume` style switches for a
field whose default is True); `int`, `float`, `str`, `Path` (or `X | None`) take one value;
`tuple[X, ...]` / `list[X]` take one or more (`nargs="+"`); `Literal[...]` or `arg(choices=...)`
gives the choices. `arg(type=positive_int)` sets the parser's type so that a refused value names
its option in one line (`seqsch.core.cli`). `arg(cli=False)` keeps a field off the command line
(e.g. a nested config or a value only a notebook passes). A config's own `__post_init__` still
validates everything; the parser is only the first, friendlier check.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

METADATA_KEY = "seqsch.cli"


def arg(help: str = "", *, type: Callable[[str], Any] | None = None,
        choices: Iterable[Any] | None = None, metavar: str | None = None,
        cli: bool = True) -> dict[str, dict[str, Any]]:
    """A field's command-line settings, for `dataclasses.field(metadata=arg(...))`."""
    return {METADATA_KEY: {"help": help, "type": type,
                           "choices": None if choices is None else tuple(choices),
                           "metavar": metavar, "cli": cli}}


def option_name(field_name: str) -> str:
    """`num_epochs` -> `--num-epochs`."""
    return "--" + field_name.replace("_", "-")


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _unwrap_optional(hint: Any) -> Any:
    """`X | None` -> X (the parser's default may be None; the value given is an X)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        others = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(others) == 1:
            return others[0]
    return hint


def config_options(config_cls: type) -> list[tuple[dataclasses.Field, dict[str, Any]]]:
    """Each command-line field of `config_cls` with its `add_argument` keywords."""
    hints = typing.get_type_hints(config_cls)
    options = []
    for field in dataclasses.fields(config_cls):
        meta = field.metadata.get(METADATA_KEY, {})
        if not field.init or not meta.get("cli", True):
            continue
        hint = _unwrap_optional(hints[field.name])
        default = _default(field)
        kwargs: dict[str, Any] = {"help": meta.get("help") or None, "dest": field.name}
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
        if hint is bool:  # a switch: --quiet sets True; --no-resume sets a True default False
            kwargs["action"] = "store_false" if default is True else "store_true"
            options.append((field, kwargs))
            continue
        origin = typing.get_origin(hint)
        if origin in (tuple, list):
            kwargs["nargs"] = "+"
            hint = typing.get_args(hint)[0] if typing.get_args(hint) else str
            origin = typing.get_origin(hint)
        if origin is typing.Literal:
            kwargs["choices"] = typing.get_args(hint)
            hint = type(kwargs["choices"][0])
        if meta.get("choices") is not None:
            kwargs["choices"] = meta["choices"]
        parse = meta.get("type") or (hint if hint in (int, float, str, Path) else None)
        if parse is None:
            raise TypeError(f"{config_cls.__name__}.{field.name}: no command-line type for "
                            f"{hints[field.name]!r}; give arg(type=...) or arg(cli=False)")
        kwargs["type"] = parse
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        options.append((field, kwargs))
    return options


def add_config_arguments(parser: Any, config_cls: type, *,
                         exclude: Iterable[str] = ()) -> None:
    """Add one option per command-line field of `config_cls` (but `exclude`) to `parser`
    (a parser or an argument group)."""
    skipped = set(exclude)
    unknown = skipped - {f.name for f in dataclasses.fields(config_cls)}
    if unknown:
        raise ValueError(f"{config_cls.__name__} has no fields {sorted(unknown)}")
    for field, kwargs in config_options(config_cls):
        if field.name not in skipped:
            name = option_name(("no_" if kwargs.get("action") == "store_false" else "")
                               + field.name)
            parser.add_argument(name, **kwargs)


def config_from_args(config_cls: type, args: Any, **values: Any) -> Any:
    """`config_cls(...)` from the parsed options that name its fields, plus `values` (which win:
    e.g. a nested config). A list given for a tuple field is made a tuple."""
    hints = typing.get_type_hints(config_cls)
    given = {}
    for field in dataclasses.fields(config_cls):
        if field.init and field.name in vars(args) and field.name not in values:
            value = getattr(args, field.name)
            origin = typing.get_origin(_unwrap_optional(hints[field.name]))
            given[field.name] = tuple(value) if origin is tuple and value is not None else value
    return config_cls(**given, **values)
