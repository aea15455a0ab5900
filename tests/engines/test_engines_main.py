"""The engines' demo command line is `DemoConfig`: its fields, defaults and help."""

from __future__ import annotations

import dataclasses

import pytest

from seqsch.core.config_args import config_option_names
from seqsch.engines.__main__ import build_config, build_parser
from seqsch.engines.demo import DemoConfig


def test_options_are_the_configs_fields():
    parser = build_parser()
    assert [a.option_strings[0] for a in parser._actions if a.dest != "help"] == (
        config_option_names(DemoConfig))


def test_parser_defaults_are_the_dataclass_defaults():
    defaults = {a.dest: a.default for a in build_parser()._actions}
    for field in dataclasses.fields(DemoConfig):
        assert defaults[field.name] == field.default, field.name
    assert build_config([]) == DemoConfig()


def test_a_command_line_builds_its_config():
    assert build_config(["--num-data", "4", "--engine", "continuous", "--compare-hf",
                         "--top-p", "0.9", "--decoding", "greedy", "--quiet"]) == DemoConfig(
        num_data=4, engine="continuous", compare_hf=True, top_p=0.9, decoding="greedy",
        quiet=True)


@pytest.mark.parametrize(("options", "field"), [
    ({"num_data": 0}, "num_data"), ({"engine": "vllm"}, "engine"),
    ({"decoding": "x"}, "decoding"), ({"top_p": 0.0}, "top_p"),
])
def test_config_errors_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        DemoConfig(**options)
