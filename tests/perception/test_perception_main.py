"""The perception command line: each sub-command's options are exactly its config's fields, with
the config's defaults, and a command line builds the config it says (nothing is run)."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

import pytest

from seqsch.core.cli import UsageError
from seqsch.core.config_args import option_dests
from seqsch.core.sources import SOURCES
from seqsch.perception.__main__ import COMMANDS, build_config, build_parser, expand_train
from seqsch.perception.configs import (
    AdapterTrainConfig,
    DepthConfig,
    EvalConfig,
    HeadTrainConfig,
)
from seqsch.perception.lora import LoraTrainConfig
from seqsch.perception.probe import ProbeConfig
from seqsch.perception.recorded_experiments import RecordedEvalConfig, RecordedTrainConfig
from seqsch.perception.recorded_heads import RecordedHeadConfig
from seqsch.perception.recorded_lora import RecordedLoraConfig
from seqsch.perception.selection import SelectionConfig

MAIN_COMMANDS = ("eval", "depth", "train-lora", "train-head", "select", "recorded-train",
                 "recorded-train-lora", "recorded-eval")
REQUIRED = {"eval": ["--predictor", "constant"]}  # the least each command line needs


def sub_parser(command: str):
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return subparsers.choices[command]


def test_the_commands_and_their_configs():
    assert tuple(COMMANDS) == MAIN_COMMANDS
    assert {name: config for name, (config, _, _) in COMMANDS.items()} == {
        "eval": EvalConfig, "depth": DepthConfig, "train-lora": AdapterTrainConfig,
        "train-head": HeadTrainConfig, "select": SelectionConfig,
        "recorded-train": RecordedTrainConfig, "recorded-train-lora": RecordedLoraConfig,
        "recorded-eval": RecordedEvalConfig}


@pytest.mark.parametrize("command", MAIN_COMMANDS)
def test_a_sub_parser_has_exactly_its_configs_fields(command):
    config_cls = COMMANDS[command][0]
    dests = [a.dest for a in sub_parser(command)._actions if a.dest != "help"]
    assert dests == option_dests(config_cls)
    assert len(set(dests)) == len(dests)


@pytest.mark.parametrize("command", MAIN_COMMANDS)
def test_defaults_are_the_configs(command):
    name, config = build_config([command, *REQUIRED.get(command, [])])
    assert name == command
    assert config == COMMANDS[command][0](**{"predictor": "constant"} if command == "eval"
                                          else {})


def test_nested_configs_take_their_own_defaults_and_fields():
    dests = set(option_dests(HeadTrainConfig))
    probe_fields = {f.name for f in dataclasses.fields(ProbeConfig)}
    assert probe_fields - {"batch_size", "max_length"} <= dests  # the head's own options
    assert "num_layers" not in option_dests(DepthConfig)  # the sweep sets the depth
    assert {f.name for f in dataclasses.fields(LoraTrainConfig)} <= set(
        option_dests(AdapterTrainConfig))
    assert {f.name for f in dataclasses.fields(RecordedHeadConfig)} <= set(
        option_dests(RecordedTrainConfig))
    assert "text" not in option_dests(RecordedTrainConfig)
    options = {a.dest: a for a in sub_parser("train-head")._actions}
    assert options["batch_size"].default == HeadTrainConfig().batch_size == 16  # features
    assert options["num_epochs"].default == ProbeConfig().num_epochs
    assert sub_parser("train-lora")._option_string_actions["--batch-size"].default == (
        LoraTrainConfig().batch_size)


def test_a_lora_command_line_builds_its_config():
    command, config = build_config([
        "train-lora", "--lengths", "x.jsonl", "--num-steps", "75", "--learning-rate", "5e-4",
        "--batch-size", "1", "--grad-accum-steps", "8", "--num-epochs", "2", "--no-resume",
        "--length-target", "greedy", "--out", "build/lora-greedy", "--seed", "3"])
    assert command == "train-lora"
    assert config == AdapterTrainConfig(
        lengths=Path("x.jsonl"), out=Path("build/lora-greedy"), length_target="greedy",
        resume=False, lora=LoraTrainConfig(num_steps=75, learning_rate=5e-4, batch_size=1,
                                           grad_accum_steps=8, num_epochs=2, seed=3))


def test_train_by_predictor_is_train_lora_or_train_head():
    assert expand_train(["train", "--quiet", "--predictor", "lora", "--num-steps", "2"]) == [
        "train-lora", "--quiet", "--num-steps", "2"]
    assert expand_train(["train", "--predictor=lora"]) == ["train-lora"]
    assert expand_train(["train", "--predictor", "rank-head"]) == [
        "train-head", "--predictor", "rank-head"]
    assert expand_train(["eval", "--predictor", "lora"]) == ["eval", "--predictor", "lora"]
    command, config = build_config(["train", "--predictor", "rank-head", "--num-layers", "25",
                                    "--target", "rank", "--length-target", "mean",
                                    "--max-length", "256", "--num-epochs", "60"])
    assert command == "train-head"
    assert config == HeadTrainConfig(predictor="rank-head", max_length=256, head=ProbeConfig(
        num_layers=25, target="rank", length_target="mean", num_epochs=60))
    assert build_config(["train", "--predictor", "lora"]) == ("train-lora", AdapterTrainConfig())
    with pytest.raises(UsageError, match="required: --predictor"):
        build_config(["train"])
    with pytest.raises(UsageError, match="required: --predictor"):  # no abbreviation
        build_config(["train", "--pred", "lora"])


def test_eval_depth_select_and_recorded_command_lines():
    _, config = build_config(["eval", "--predictor", "lora", "--lora-decode", "generate",
                              "--max-length", "256", "--num-data", "8"])
    assert config == EvalConfig(predictor="lora", lora_decode="generate", max_length=256,
                                num_data=8)
    _, config = build_config(["depth", "--depths", "2", "0", "--num-epochs", "5",
                              "--pooling", "mean", "--max-prompt-tokens", "64"])
    assert config == DepthConfig(depths=(2, 0), head=ProbeConfig(num_epochs=5, pooling="mean",
                                                                 max_prompt_tokens=64))
    _, config = build_config(["select", "--depths", "25", "--targets", "rank", "--num-train",
                              "100", "--train-sizes", "80", "160"])
    assert config == SelectionConfig(depths=(25,), targets=("rank",), num_train=100,
                                     train_sizes=(80, 160))
    _, config = build_config(["recorded-train", "--depths", "4", "8", "--num-epochs", "3",
                              "--batch-size", "8"])
    assert config == RecordedTrainConfig(batch_size=8, head=RecordedHeadConfig(
        depths=(4, 8), num_epochs=3))
    _, config = build_config(["recorded-eval", "--sources", "text-ridge", "--split", "val"])
    assert config == RecordedEvalConfig(sources=("text-ridge",), split="val")


@pytest.mark.parametrize("argv, message", [
    (["train-lora", "--epochs", "2"], "unrecognized arguments: --epochs"),
    (["train-lora", "--steps", "2"], "unrecognized arguments: --steps"),
    (["select", "--num-data", "8"], "unrecognized arguments: --num-data"),
    (["eval", "--predictor", "constant", "--num-layers", "4"], "unrecognized arguments"),
    (["depth", "--num-epochs", "0"], "argument --num-epochs: invalid positive integer"),
])
def test_old_spellings_and_other_commands_options_are_refused(argv, message):
    with pytest.raises(UsageError, match=message):
        build_config(argv)


@pytest.mark.parametrize("make, message", [
    (lambda: EvalConfig(predictor="nosuch"), "unknown length source 'nosuch'"),
    (lambda: EvalConfig(predictor="constant", num_data=0), "num_data must be >= 1"),
    (lambda: HeadTrainConfig(predictor="lora"), "predictor='lora' is not a head"),
    (lambda: DepthConfig(depths=(-1,)), "depths must be >= 0"),
    (lambda: AdapterTrainConfig(length_target="median"), "length_target="),
    (lambda: build_config(["train-head", "--decode", "mean"]), "decode='mean'"),
])
def test_configs_refuse_bad_settings_naming_the_field(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_alias_reads_as_its_source():
    assert EvalConfig(predictor="probe").predictor == "length-head"
    assert HeadTrainConfig(predictor="probe").predictor == "length-head"


def test_every_registry_training_command_parses():
    """The registry's training commands (the cards, pages and docstrings are parsed by
    tests/test_documented_commands.py)."""
    prefix = "python -m seqsch.perception "
    rows = [row for row in SOURCES.values() if (row.train or "").startswith(prefix)]
    assert len(rows) >= 4
    for row in rows:
        try:
            build_config(shlex.split(row.train[len(prefix):]))
        except (UsageError, ValueError) as error:
            raise AssertionError(f"the registry's {row.name}: {row.train}\n  -> {error}") from None
