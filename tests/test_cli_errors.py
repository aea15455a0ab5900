"""A newcomer's wrong command lines: each ends in one line on stderr, exit status 2, no traceback.

Every case runs in-process through the entry helper (`seqsch.core.cli.run`), as
`python -m seqsch.<sub>` runs it, and stops before any model is loaded, except
`random:` shapes, which fail on reading their config. The simulator's `--group-size` and
`--paper-sample` are checked at the end."""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest

from seqsch.bench.__main__ import main as bench_main
from seqsch.core.__main__ import main as core_main
from seqsch.core.cli import run
from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS
from seqsch.engines.__main__ import main as engines_main
from seqsch.lab.__main__ import main as lab_main
from seqsch.perception.__main__ import main as perception_main
from seqsch.scheduling.__main__ import main as simulator_main

PAPER_LENGTHS = DATA_DIR / "paper" / "alpaca-val-10k-length.json"
LENGTHS = str(DEFAULT_LENGTHS)
MISSING = "no/such/lengths.jsonl"
MISSING_HEAD = "no/such/probe-folder"

# (main, argv, a fragment of the expected line)
WRONG_COMMAND_LINES = {
    "simulator batch size 0": (simulator_main, ["--lengths", LENGTHS, "--batch-size", "0"],
                               "argument --batch-size: invalid positive integer value: '0'"),
    "simulator negative bin size": (simulator_main, ["--lengths", LENGTHS, "--bin-size", "-5"],
                                    "argument --bin-size: invalid positive integer"),
    "simulator group size 0": (simulator_main, ["--lengths", LENGTHS, "--group-size", "0"],
                               "argument --group-size: invalid positive integer"),
    "simulator num-data 0": (simulator_main, ["--lengths", LENGTHS, "--num-data", "0"],
                             "argument --num-data: invalid positive integer"),
    "simulator cap not a number": (simulator_main,
                                   ["--lengths", LENGTHS, "--max-new-tokens", "lots"],
                                   "argument --max-new-tokens: invalid positive integer"),
    "simulator missing length file": (simulator_main, ["--lengths", MISSING],
                                      f"length file not found: {MISSING}"),
    "simulator no length file given": (simulator_main, [],
                                       "the following arguments are required: --lengths"),
    "simulator empty selection": (simulator_main, ["--lengths", LENGTHS, "--split", "nosuch"],
                                  "--split nosuch selects no records"),
    "simulator paper sample of a small file": (simulator_main, ["--lengths", LENGTHS,
                                                                "--paper-sample"],
                                               "--paper-sample draws 1024 prompts"),
    "simulator unknown cost model": (simulator_main, ["--lengths", LENGTHS, "--cost-model", "x"],
                                     "no cost model 'x'"),
    "simulator unknown predictor": (simulator_main, ["--lengths", LENGTHS, "--predictor", "x"],
                                    "argument --predictor: invalid choice: 'x'"),
    "recorded-train given an option it ignores": (
        perception_main, ["recorded-train", "--num-data", "100"],
        "unrecognized arguments: --num-data 100"),
    "recorded-eval given an unknown source": (
        perception_main, ["recorded-eval", "--sources", "lora"],
        "argument --sources: invalid choice: 'lora'"),
    "serve at a rate of zero": (bench_main, ["serve", "--request-rates", "0"],
                                "request_rates"),
    "serve an unknown workload": (bench_main, ["serve", "--workload", "nosuch"],
                                  "argument --workload: invalid choice"),
    "sweep batch size 0": (bench_main, ["sweep", "--batch-size", "0"],
                           "argument --batch-size: invalid positive integer"),
    "sweep negative group size": (bench_main, ["sweep", "--group-size", "-256"],
                                  "argument --group-size: invalid positive integer"),
    "sweep missing head folder": (bench_main, ["sweep", "--specs", "length-head", "--probe",
                                               MISSING_HEAD], "head.safetensors is missing"),
    "sweep unknown random shape": (bench_main, ["sweep", "--replay", "paper-val", "--model",
                                                "random:nosuch", "--num-data", "4"],
                                   "no model config 'nosuch'"),
    "sweep unknown length source": (bench_main, ["sweep", "--specs", "vanilla", "nosuch+vbs"],
                                    "cannot read run spec 'nosuch+vbs'"),
    "sweep learned predictor in replay": (bench_main, ["sweep", "--replay", "paper-val",
                                                       "--specs", "length-head"], "token ids"),
    "bench unknown command": (bench_main, ["sweeps"], "argument command: invalid choice"),
    "report missing record": (bench_main, ["report", MISSING], f"No such file or directory: "
                                                               f"{MISSING}"),
    "lengths summary missing file": (bench_main, ["lengths", "summary", MISSING],
                                     "length file not found"),
    "lengths collect chunk size 0": (bench_main, ["lengths", "collect", "--chunk-size", "0"],
                                     "argument --chunk-size: invalid positive integer"),
    "paper table unknown cost model": (bench_main, ["paper-table", "--cost-model", "x"],
                                       "no cost model 'x'"),
    "perception unknown predictor": (perception_main, ["eval", "--predictor", "nosuch"],
                                     "argument --predictor: invalid choice: 'nosuch'"),
    "perception num-data 0": (perception_main, ["train", "--predictor", "length-head", "--num-data",
                                                "0"], "argument --num-data: invalid positive"),
    "perception eval without predictor": (perception_main, ["eval"],
                                          "the following arguments are required: --predictor"),
    "perception train a zero-shot predictor": (perception_main, ["train", "--predictor", "query"],
                                               "argument --predictor: invalid choice: 'query'"),
    "perception train without predictor": (perception_main, ["train", "--num-epochs", "2"],
                                           "the following arguments are required: "
                                           "--predictor"),
    "perception lora with a head's option": (perception_main, ["train", "--predictor", "lora",
                                                               "--num-layers", "4"],
                                             "unrecognized arguments: --num-layers 4"),
    "perception an old option spelling": (perception_main, ["train-lora", "--lr", "1e-3"],
                                          "unrecognized arguments: --lr"),
    "perception decode mean of a non-bucket head": (
        perception_main, ["train-head", "--decode", "mean", "--target", "l1"],
        "decode='mean' reads a distribution"),
    "perception missing length file": (perception_main, ["eval", "--predictor", "constant",
                                                         "--lengths", MISSING],
                                       "length file not found"),
    "perception select folds 0": (perception_main, ["select", "--num-folds", "0"],
                                  "argument --num-folds: invalid positive integer"),
    "engines batch size 0": (engines_main, ["--batch-size", "0"],
                             "argument --batch-size: invalid positive integer"),
    "engines unknown random shape": (engines_main, ["--model", "random:nosuch"],
                                     "no model config 'nosuch'"),
    "core unknown option": (core_main, ["--fast"], "unrecognized arguments: --fast"),
    "lab unknown profile": (lab_main, ["--profile", "laptop"],
                            "argument --profile: invalid choice: 'laptop'"),
}


@pytest.mark.parametrize(("main", "argv", "expected"), WRONG_COMMAND_LINES.values(),
                         ids=WRONG_COMMAND_LINES.keys())
def test_a_wrong_command_line_ends_in_one_line(capsys, monkeypatch, tmp_path, main, argv,
                                               expected):
    monkeypatch.delenv("SEQSCH_DEBUG", raising=False)
    if argv[:1] == ["sweep"]:  # a sweep that got further would write its record here
        argv = [*argv, "--out", str(tmp_path / "benchmark.jsonl")]
    with pytest.raises(SystemExit) as exit_:
        run(main, argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and len(err.splitlines()) == 1, err
    prog = "python -m seqsch." + main.__module__.split(".")[1]
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    assert expected in lines[0]


def test_an_unknown_model_name_ends_in_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as tests/core/test_models.py: nothing fetched
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    # the hub reads the variable once, on import: set what it read (else it retries for 45 s)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(SystemExit) as exit_:
        run(engines_main, ["--model", "no-such-org/no-such-model-xyz"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "'no-such-org/no-such-model-xyz' is neither a local folder nor" in err


def simulate(capsys, *extra: str) -> dict:
    simulator_main(["--lengths", str(PAPER_LENGTHS), "--strategies", "bin", "--vbs", "--fcr",
                    *extra])
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.skipif(not PAPER_LENGTHS.is_file(), reason="the paper's length file is absent")
def test_group_size_changes_the_simulated_schedule(capsys):
    whole = simulate(capsys, "--num-data", "512")
    grouped = simulate(capsys, "--num-data", "512", "--group-size", "128")
    assert (whole["group_size"], grouped["group_size"]) == (None, 128)
    one, apart = whole["results"]["bin+vbs+fcr"], grouped["results"]["bin+vbs+fcr"]
    assert one["num_samples"] == apart["num_samples"] == 512
    # groups of 128 fill the VBS table's large batches less often: more, longer batches
    assert apart["avg_length"] > one["avg_length"]
    assert apart["samples_per_s"] < one["samples_per_s"]


@pytest.mark.skipif(not PAPER_LENGTHS.is_file(), reason="the paper's length file is absent")
def test_paper_sample_is_not_the_files_first_prompts(capsys):
    first = simulate(capsys, "--num-data", "1024", "--group-size", "256")
    sample = simulate(capsys, "--paper-sample", "--group-size", "256")
    assert first["num_samples"] == sample["num_samples"] == 1024 and sample["paper_sample"]
    assert first["results"] != sample["results"]
