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
gives the choices (`choices` may be a function, called when the parser is built: a registry's
names). `arg(type=positive_int)` sets the parser's type so that a refused value names its
option in one line (`seqsch.core.cli`). `arg(cli=False)` keeps a field off the command line
(e.g. a value only a notebook passes). A nested config marked `nested()` puts its own fields on
the same command line, its defaults read from the outer default, and `config_from_args` builds
it; `nested(exclude=...)` leaves some of them off (a name the outer config also has, a value
the command sets itself):

    head: ProbeConfig = field(default_factory=ProbeConfig, metadata=nested(exclude=("seed",)))

Option names must stay unique across the levels; a clash is refused when the parser is
built. A config's own `__post_init__` still validates everything; the parser is only the first,
friendlier check.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from seqsch.core.paths import portable

METADATA_KEY = "seqsch.cli"


def arg(help: str = "", *, type: Callable[[str], Any] | None = None,
        choices: Iterable[Any] | Callable[[], Iterable[Any]] | None = None,
        metavar: str | None = None, cli: bool = True) -> dict[str, dict[str, Any]]:
    """A field's command-line settings, for `dataclasses.field(metadata=arg(...))`. `choices`
    may be a function of no arguments, called when a parser is built."""
    if choices is not None and not callable(choices):
        choices = tuple(choices)
    return {METADATA_KEY: {"help": help, "type": type, "choices": choices,
                           "metavar": metavar, "cli": cli}}


def nested(*, exclude: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """A nested config's settings, for `dataclasses.field(metadata=nested(...))`: its fields
    (but `exclude`) are options of the outer config's command line."""
    return {METADATA_KEY: {"nested": True, "exclude": tuple(exclude), "cli": True}}


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


def with_default(text: str, default: Any) -> str | None:
    """A help text with its default said (a path as the repository names it), unless the text
    says it or there is none to say (no default, None, a switch); `%` escaped for the parser."""
    if default in (dataclasses.MISSING, None) or isinstance(default, bool) or "default" in text:
        return text.replace("%", "%%") or None
    if isinstance(default, tuple | list):
        default = " ".join(map(str, default)) or "none"
    shown = portable(default) if isinstance(default, Path) else default
    return f"{text} (default: {shown})".strip().replace("%", "%%")


def config_options(config_cls: type, defaults: Any = None,
                   exclude: Iterable[str] = ()) -> list[tuple[dataclasses.Field, dict[str, Any]]]:
    """Each command-line field of `config_cls` (but `exclude`) with its `add_argument` keywords,
    the fields of `nested()` configs included in their place. `defaults`: an instance whose
    values are the defaults (a nested config's outer default), else the fields' own."""
    unknown = set(exclude) - {f.name for f in dataclasses.fields(config_cls)}
    if unknown:
        raise ValueError(f"{config_cls.__name__} has no fields {sorted(unknown)}")
    hints = typing.get_type_hints(config_cls)
    options = []
    for field in dataclasses.fields(config_cls):
        meta = field.metadata.get(METADATA_KEY, {})
        if not field.init or not meta.get("cli", True) or field.name in exclude:
            continue
        hint = _unwrap_optional(hints[field.name])
        default = _default(field) if defaults is None else getattr(defaults, field.name)
        if meta.get("nested"):
            inner = None if default is dataclasses.MISSING else default
            options += config_options(hint, inner, meta["exclude"])
            continue
        kwargs: dict[str, Any] = {"help": with_default(meta.get("help") or "", default),
                                  "dest": field.name}
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
            choices = meta["choices"]
            kwargs["choices"] = tuple(choices() if callable(choices) else choices)
        parse = meta.get("type") or (hint if hint in (int, float, str, Path) else None)
        if parse is None:
            raise TypeError(f"{config_cls.__name__}.{field.name}: no command-line type for "
                            f"{hints[field.name]!r}; give arg(type=...), nested() or "
                            f"arg(cli=False)")
        kwargs["type"] = parse
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        options.append((field, kwargs))
    return options


def option_dests(config_cls: type) -> list[str]:
    """The names of `config_cls`'s command-line fields (nested ones in their place): the
    parser's `dest`s, each option `option_name(dest)` (or `--no-...` for a True switch)."""
    return [kwargs["dest"] for _, kwargs in config_options(config_cls)]


def add_config_arguments(parser: Any, config_cls: type, *,
                         exclude: Iterable[str] = ()) -> None:
    """Add one option per command-line field of `config_cls` (but `exclude`) to `parser`
    (a parser or an argument group)."""
    for name, kwargs in _named_options(config_cls, exclude):
        parser.add_argument(name, **kwargs)


def _named_options(config_cls: type, exclude: Iterable[str]) -> list[tuple[str, dict]]:
    return [(option_name(("no_" if kwargs.get("action") == "store_false" else "")
                         + kwargs["dest"]), kwargs)
            for _, kwargs in config_options(config_cls, exclude=exclude)]


def config_option_names(config_cls: type, *, exclude: Iterable[str] = ()) -> list[str]:
    """The options `add_config_arguments` adds for `config_cls`, in order (`--no-resume` for a
    switch whose default is True): e.g. for a test that a command line is its config's."""
    return [name for name, _ in _named_options(config_cls, exclude)]


def config_from_args(config_cls: type, args: Any, **values: Any) -> Any:
    """`config_cls(...)` from the parsed options that name its fields, plus `values` (which win:
    e.g. a nested config built by the caller). A `nested()` config is built from its own
    options, over its outer default. A list given for a tuple field is made a tuple."""
    return _build(config_cls, vars(args), values, None, ())


def _build(config_cls: type, parsed: dict[str, Any], values: dict[str, Any], defaults: Any,
           exclude: Iterable[str]) -> Any:
    hints = typing.get_type_hints(config_cls)
    given = {}
    for field in dataclasses.fields(config_cls):
        meta = field.metadata.get(METADATA_KEY, {})
        if not field.init or field.name in values or field.name in exclude:
            continue
        hint = _unwrap_optional(hints[field.name])
        if meta.get("nested") and meta.get("cli", True):
            default = _default(field) if defaults is None else getattr(defaults, field.name)
            inner = None if default is dataclasses.MISSING else default
            given[field.name] = _build(hint, parsed, {}, inner, meta["exclude"])
        elif meta.get("cli", True) and field.name in parsed:
            value = parsed[field.name]
            given[field.name] = (tuple(value) if typing.get_origin(hint) is tuple
                                 and value is not None else value)
    if defaults is not None:  # a nested config: its outer default, with the options given
        return dataclasses.replace(defaults, **given)
    return config_cls(**given, **values)
