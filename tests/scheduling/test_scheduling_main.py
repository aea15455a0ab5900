"""The simulator's command line is `SimulationConfig`: its fields, defaults and help."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from seqsch.core.cli import UsageError
from seqsch.core.config_args import config_option_names
from seqsch.scheduling.__main__ import build_config, build_parser
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import SimulationConfig


def test_options_are_the_configs_fields():
    parser = build_parser()
    assert [a.option_strings[0] for a in parser._actions if a.dest != "help"] == (
        config_option_names(SimulationConfig))
    for name in ("--group-size", "--paper-sample", "--strategies", "--prompt-tokens"):
        assert name in config_option_names(SimulationConfig)


def test_parser_defaults_are_the_dataclass_defaults():
    defaults = {a.dest: a.default for a in build_parser()._actions}
    for field in dataclasses.fields(SimulationConfig):
        if field.default is not dataclasses.MISSING:
            assert defaults[field.name] == field.default, field.name
    assert build_config(["--lengths", "x.json"]) == SimulationConfig(Path("x.json"))
    with pytest.raises(UsageError, match="--lengths"):
        build_config([])


def test_a_command_line_builds_its_config_and_schedulers():
    config = build_config(["--lengths", "x.json", "--strategies", "vanilla", "sort", "bin",
                           "--vbs", "--fcr", "--group-size", "256", "--paper-sample",
                           "--batch-size", "8", "--prompt-tokens", "32"])
    assert config == SimulationConfig(Path("x.json"), strategies=("vanilla", "sort", "bin"),
                                      vbs=True, fcr=True, group_size=256, paper_sample=True,
                                      batch_size=8, prompt_tokens=32)
    assert config.scheduler("vanilla") == SchedulerConfig("vanilla", batch_size=8,
                                                          group_size=256)
    assert config.scheduler("sort") == SchedulerConfig("sort", batch_size=8, fcr=True,
                                                       group_size=256)
    assert config.scheduler("bin") == SchedulerConfig("bin", batch_size=8, vbs=True, fcr=True,
                                                      group_size=256)


@pytest.mark.parametrize(("options", "field"), [
    ({"strategies": ()}, "strategies"),
    ({"strategies": ("fastest",)}, "strategy"),
    ({"predictor": "x"}, "predictor"),
    ({"noise_std": -1.0}, "noise_std"),
    ({"num_data": 0}, "num_data"),
    ({"batch_size": 0}, "batch_size"),
])
def test_config_errors_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        SimulationConfig("x.json", **options)
