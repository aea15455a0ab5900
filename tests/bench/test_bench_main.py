"""The benchmark's command line is its configs: each sub-command's options are one library
config's fields (named as the fields, defaults and help from the dataclass), plus the few
inputs and outputs that are no config's."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from seqsch.bench.__main__ import CONFIGS, NON_CONFIG_OPTIONS, build_config, build_parser, main
from seqsch.bench.lengths import CollectConfig
from seqsch.bench.paper_table import PaperTableConfig
from seqsch.bench.recorded_table import RecordedTableConfig
from seqsch.bench.serving_bench import ServingBenchConfig
from seqsch.bench.specs import SweepConfig
from seqsch.core.cli import UsageError, parse_args
from seqsch.core.config_args import config_option_names
from seqsch.core.paths import SERVING_CPU
from seqsch.core.recorded import RecordedConfig

# each command's argv prefix and its key in CONFIGS / NON_CONFIG_OPTIONS
COMMANDS = {"sweep": ["sweep"], "report": ["report"], "paper-table": ["paper-table"],
            "collect": ["lengths", "collect"], "summary": ["lengths", "summary"],
            "recorded": ["lengths", "recorded"], "serve": ["serve"],
            "recorded-table": ["recorded-table"]}


def subparser(parser, names):
    for name in names:
        action = next(a for a in parser._actions if a.dest in ("command", "lengths_command"))
        parser = action.choices[name]
    return parser


def options(parser) -> set[str]:
    return {a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
            if a.dest != "help"}


@pytest.mark.parametrize("command", COMMANDS)
def test_options_are_the_configs_fields_and_the_listed_others(command):
    parser = subparser(build_parser(), COMMANDS[command])
    config_options = set(config_option_names(CONFIGS[command])) if command in CONFIGS else set()
    others = set(NON_CONFIG_OPTIONS.get(command, ()))
    assert not config_options & others
    assert options(parser) == config_options | others


@pytest.mark.parametrize("command", CONFIGS)
def test_parser_defaults_are_the_dataclass_defaults(command):
    config_cls = CONFIGS[command]
    parser = subparser(build_parser(), COMMANDS[command])
    defaults = {a.dest: a.default for a in parser._actions}
    for field in dataclasses.fields(config_cls):
        expected = (field.default if field.default is not dataclasses.MISSING
                    else field.default_factory())
        assert defaults[field.name] == expected, field.name
    args = parse_args(build_parser(), COMMANDS[command])
    assert build_config(args) == config_cls()


def config_of(argv: list[str]):
    return build_config(parse_args(build_parser(), argv))


def test_a_sweep_command_line_builds_its_config():
    config = config_of(["sweep", "--specs", "vanilla", "gt+vbs+fcr", "--num-data", "8",
                        "--group-size", "256", "--replay", "paper-val", "--vllm-eager",
                        "--decoding", "greedy", "--out", "x.jsonl", "--quiet"])
    assert config == SweepConfig(specs=("vanilla", "oracle+vbs+fcr"), num_data=8,
                                 group_size=256, replay="paper-val", vllm_eager=True,
                                 decoding="greedy", out=Path("x.jsonl"), quiet=True)


def test_a_serve_command_line_builds_its_config():
    config = config_of(["serve", "--engine", "vllm", "--request-rates", "2", "inf",
                        "--policies", "first-come", "oracle@0.5", "--no-vllm-eager",
                        "--eval-path", "e.json", "--live-head", "--head-threads", "2",
                        "--workload", "paper-val", "--max-new-tokens", "64"])
    assert config == ServingBenchConfig(
        engine="vllm", request_rates=(2.0, math.inf), policies=("first-come", "oracle@0.5"),
        vllm_eager=False, eval_path=Path("e.json"), live_head=True, head_threads=2,
        workload="paper-val", max_new_tokens=64)
    # the workload's fields are not settings a resumed record must match: the settings are
    # those the committed sweep's records hold (its workload is matched by its hash)
    committed = json.loads(SERVING_CPU.read_text().splitlines()[0])["config"]
    assert set(config.settings()) == set(committed) - {"workload_sha256"}
    assert "eval_path" not in config.settings() and "out" not in config.settings()


def test_lengths_and_table_command_lines_build_their_configs():
    assert config_of(["lengths", "collect", "--temperatures", "0", "0.7", "--num-val", "0",
                      "--no-drop-finished", "--out", "l.jsonl"]) == CollectConfig(
        temperatures=(0.0, 0.7), num_val=0, drop_finished=False, out=Path("l.jsonl"))
    assert config_of(["lengths", "recorded", "--min-prompt-tokens", "8",
                      "--no-is-first-chunk-only", "--test-fraction", "0.2"]) == RecordedConfig(
        min_prompt_tokens=8, is_first_chunk_only=False, test_fraction=0.2)
    assert config_of(["paper-table", "--num-data", "256", "--calibrate-to", "1.5",
                      "--cost-model", "cpu-smollm2-135m"]) == PaperTableConfig(
        num_data=256, calibrate_to=1.5, cost_model="cpu-smollm2-135m")
    assert config_of(["recorded-table", "--batch-size", "8", "--group-size", "64"]) == (
        RecordedTableConfig(batch_size=8, group_size=64))
    assert config_of(["report", "x.jsonl"]) is None


@pytest.mark.parametrize(("argv", "words"), [
    (["lengths", "collect", "--engine", "vllm", "--no-drop-finished"], "drop_finished"),
    (["serve", "--policies", "oracle", "oracle"], "policies"),
    (["sweep", "--specs", "vanilla+vbs"], "vbs/fcr"),
    (["lengths", "recorded", "--min-prompt-tokens", "9", "--max-prompt-tokens", "8"],
     "min_prompt_tokens"),
])
def test_a_config_refusing_a_command_line_is_a_usage_error(argv, words):
    with pytest.raises(UsageError, match=words):
        main(argv)
