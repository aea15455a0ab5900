"""The benchmark CLI end to end on a tiny random model: rounds, resumption and the report."""

import json
import re

import pytest
import torch

import seqsch.bench.workload
import seqsch.core.paths
from seqsch.bench.__main__ import main
from seqsch.bench.provenance import available_specs, predictor_sha256, run_config
from seqsch.bench.records import finished_specs, load_rounds
from seqsch.bench.replay import paper_workload
from seqsch.bench.report import HEADER, table_rows
from seqsch.bench.runner import run_sweep
from seqsch.bench.specs import SweepConfig
from seqsch.bench.workload import load_workload, oracle_mismatch
from seqsch.core.cli import UsageError
from seqsch.core.length_records import LengthRecord, write_length_header, write_length_record
from seqsch.core.models import DEFAULT, EMBEDDED_DIST, EMBEDDED_VERSION, portable_model
from seqsch.core.paths import DATA_DIR, ROOT, portable
from seqsch.core.requests import Request
from seqsch.perception.probe import ProbeConfig, save_probe, train_probe


def sweep_main(argv):
    return main(["sweep", *argv])


def test_repeated_sweep_pairs_each_round_and_resumes(tiny, tmp_path, capsys):
    model, tokenizer = tiny
    model_dir = tmp_path / "tiny"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    out = tmp_path / "bench.jsonl"
    argv = ["--specs", "oracle", "vanilla", "--data", "sharegpt", "--num-data", "6",
            "--max-new-tokens", "5", "--batch-size", "3", "--model", str(model_dir),
            "--repeats", "2", "--out", str(out), "--quiet"]
    final = sweep_main(argv)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    # vanilla first in every round: it is the oracle of the round's gt run
    assert [(r["spec"], r["repeat"]) for r in records] == [
        ("vanilla", 0), ("oracle", 0), ("vanilla", 1), ("oracle", 1)]
    assert records[1]["predicted_lengths"] == records[0]["actual_lengths"]
    assert set(final) == {"vanilla", "oracle"}
    rounds = load_rounds(out)
    assert [sorted(one) for one in rounds] == [["oracle", "vanilla"], ["oracle", "vanilla"]]
    cell = {row[0]: row for row in table_rows(rounds)}["oracle"][
        HEADER.index("done x first come")]
    ratios = [r["oracle"]["summary"]["mean_completion_s"] / r["vanilla"]["summary"][
        "mean_completion_s"] for r in rounds]
    assert cell.endswith(f"({min(ratios):.2f}-{max(ratios):.2f})")

    capsys.readouterr()
    sweep_main(argv)  # everything measured: nothing runs again
    assert out.read_text().count("\n") == 4
    assert capsys.readouterr().out.count("already measured") == 4

    # a round cut short is measured again whole: its ratios never pair two processes
    out.write_text("".join(out.read_text().splitlines(keepends=True)[:3]))
    sweep_main(argv)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["spec"], r["repeat"]) for r in records[3:]] == [("vanilla", 1), ("oracle", 1)]
    assert "cost_model" in records[0] and "cost_model" not in records[3]  # fitted in round 0


def test_repeated_sweeps_keep_vllm_apart():
    with pytest.raises(UsageError, match="sweep the vllm specs apart"):
        sweep_main(["--specs", "vanilla", "vllm", "--repeats", "2"])


def _save_random_probe(folder, hidden_size: int, features_seed: int) -> None:
    """A probe head for the tiny model, fitted to random features: its predictions don't matter
    here, only that it loads, and that a refit on other features changes its weights alone."""
    generator = torch.Generator().manual_seed(features_seed)
    features = {key: torch.randn(8, hidden_size, generator=generator) for key in ("mean", "last")}
    config = ProbeConfig(pooling="last", target="l1", num_epochs=5)
    head, fit_report = train_probe(features, [5, 50, 10, 300, 20, 80, 3, 200], config)
    save_probe(head, folder, fit_report)


def test_a_predictor_retrained_in_place_is_measured_again(tiny, tmp_path, capsys):
    model, tokenizer = tiny
    model_dir, probe_dir = tmp_path / "tiny", tmp_path / "length-head"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    _save_random_probe(probe_dir, model.config.hidden_size, features_seed=0)
    settings = (probe_dir / "probe_config.json").read_bytes()
    out = tmp_path / "bench.jsonl"
    argv = ["--specs", "vanilla", "length-head", "--data", "sharegpt", "--num-data", "4",
            "--max-new-tokens", "4", "--batch-size", "2", "--model", str(model_dir),
            "--probe", str(probe_dir), "--out", str(out), "--quiet"]
    sweep_main(argv)
    first = {r["spec"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert first["length-head"]["predictor_sha256"] == predictor_sha256("length-head", probe_dir)
    assert "predictor_sha256" not in first["vanilla"]
    capsys.readouterr()
    sweep_main(argv)
    assert capsys.readouterr().out.count("already measured") == 2

    # same folder, same settings file, new weights: the head is measured again
    _save_random_probe(probe_dir, model.config.hidden_size, features_seed=1)
    assert (probe_dir / "probe_config.json").read_bytes() == settings
    sweep_main(argv)
    assert capsys.readouterr().out.count("already measured") == 1  # vanilla only
    (latest,) = load_rounds(out)
    assert latest["length-head"]["predictor_sha256"] == predictor_sha256("length-head", probe_dir)
    assert latest["length-head"]["predictor_sha256"] != first["length-head"]["predictor_sha256"]


def test_a_round_with_a_retrained_predictor_is_measured_again_whole(tmp_path):
    config, hashes = {"num_data": 4}, {"length-head": "new"}
    records = [{"spec": spec, "repeat": repeat, "config": config}
               for repeat in (0, 1) for spec in ("vanilla", "length-head")]
    records[1]["predictor_sha256"], records[3]["predictor_sha256"] = "new", "old"
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    done = finished_specs(path, config, ["vanilla", "length-head"], hashes)
    assert sorted(done) == [("length-head", 0), ("vanilla", 0)]
    # and the report reads only the records with the file's last settings
    with path.open("a") as fh:
        fh.write(json.dumps({"spec": "vanilla", "repeat": 0, "config": {"num_data": 8}}) + "\n")
        fh.write('{"spec": "vanilla", "conf')  # a line cut by an interruption
    assert [sorted(one) for one in load_rounds(path)] == [["vanilla"]]


def test_a_missing_predictor_is_refused_before_the_model_loads(tmp_path, capsys):
    assert available_specs(["vanilla", "length-head"], tmp_path) == ["vanilla"]
    assert "train it with" in capsys.readouterr().out
    with pytest.raises(UsageError, match="head.safetensors is missing"):
        sweep_main(["--specs", "length-head", "--probe", str(tmp_path),
                        "--model", str(tmp_path / "no-such-model")])


@pytest.mark.parametrize(("settings", "dtype", "engines", "compatible"), [
    ({"dtype": "float32", "engine": "vllm"}, "float32", {"static", "continuous", "vllm"}, True),
    ({"dtype": "float32", "engine": "transformers"}, "float32", {"vllm"}, True),
    ({"dtype": "float32"}, "float32", {"static"}, True),  # older files: the static generator
    ({"dtype": "bfloat16", "engine": "vllm"}, "bfloat16", {"vllm"}, True),
    ({"dtype": "float32", "engine": "vllm"}, "bfloat16", {"vllm"}, False),
    ({"dtype": "bfloat16", "engine": "vllm"}, "bfloat16", {"static", "vllm"}, False),
    ({"dtype": "bfloat16", "engine": "transformers"}, "bfloat16", {"static"}, True),
    ({"engine": "vllm"}, "float32", {"vllm"}, False),  # a file that records no dtype
    (None, "float32", {"static"}, False),
])
def test_oracle_compatibility_rule(settings, dtype, engines, compatible):
    reason = oracle_mismatch(settings, dtype, engines)
    assert (reason is None) == compatible
    if settings and settings.get("dtype") not in (None, dtype):
        assert f"made in {settings['dtype']}, this run is {dtype}" in reason


def _val_length_file(path, settings: dict) -> None:
    with path.open("w") as fh:
        write_length_header(fh, settings)
        for id_, length in (("a", 40), ("b", 300)):
            write_length_record(fh, LengthRecord(
                id_, {0.0: length, 0.7: length + 5}, {0.0: False, 0.7: False},
                num_prompt_tokens=10, split="val", max_new_tokens=512, seeds={0.0: 1, 0.7: 2}))


@pytest.fixture
def val_args(tmp_path, monkeypatch):
    """Benchmark options on --data val over a two-prompt float32 vLLM length file."""
    monkeypatch.setattr(seqsch.bench.workload, "requests_by_id",
                        lambda ids, pool=None: [Request(i, f"prompt {i}") for i in ids])
    lengths = tmp_path / "lengths.jsonl"
    _val_length_file(lengths, {"model": "tiny", "dtype": "float32", "engine": "vllm"})
    return SweepConfig(specs=("oracle",), data="val", lengths=lengths, num_data=2,
                                 device="cpu")


def test_a_length_file_of_another_dtype_is_not_the_oracle(val_args, capsys):
    val_args.specs = ("vanilla", "oracle", "continuous+oracle")
    requests, known = load_workload(val_args, None)  # "auto": float32 on a CPU
    assert [r.id for r in requests] == ["a", "b"] and known == {"a": 45, "b": 305}
    assert "longest sampled answer" in capsys.readouterr().out

    requests, known = load_workload(val_args, None, dtype="bfloat16")
    assert [r.id for r in requests] == ["a", "b"] and known == {}  # gt: the vanilla run's
    out = capsys.readouterr().out
    assert "first-come (vanilla) lengths" in out and "made in float32, this run is bfloat16" in out

    val_args.specs = ("oracle",)  # nothing to take the oracle from: refused before any run
    with pytest.raises(ValueError, match="Add 'vanilla' to --specs"):
        load_workload(val_args, None, dtype="bfloat16")


def test_a_clone_at_another_path_resumes_a_finished_sweep(tmp_path, monkeypatch):
    def config_in(checkout):
        checkout = (tmp_path / checkout).resolve()
        (checkout / "data").mkdir(parents=True)
        monkeypatch.setattr(seqsch.core.paths, "ROOT", checkout)
        config = SweepConfig(
            num_data=4, lengths=checkout / "data" / "lengths.jsonl",
            probe=checkout / "data" / "probe", out=checkout / "build" / "bench.jsonl")
        return run_config(config, ["a", "b"])

    first = config_in("one")
    assert first["lengths"] == "data/lengths.jsonl" and first["probe"] == "data/probe"
    assert "tensor_parallel_size" not in first and "out" not in first
    path = tmp_path / "bench.jsonl"
    path.write_text(json.dumps({"spec": "vanilla", "config": first}) + "\n")
    assert str(tmp_path) not in path.read_text()  # no machine path in the record

    second = config_in("two")
    assert sorted(finished_specs(path, second)) == [("vanilla", 0)]
    # a record written before configs were portable, in this checkout, matches too
    old = {**second, "lengths": str(tmp_path.resolve() / "two" / "data" / "lengths.jsonl")}
    path.write_text(json.dumps({"spec": "vanilla", "config": old}) + "\n")
    assert sorted(finished_specs(path, second)) == [("vanilla", 0)]
    # other settings still do not
    assert finished_specs(path, {**second, "num_data": 8}) == {}


def test_records_name_the_embedded_model_not_its_cache_folder(tmp_path):
    cache = tmp_path / "cache" / "models" / "SmolLM2-135M-Instruct.Q4_1-float"
    cache.mkdir(parents=True)
    (cache / "SOURCE.json").write_text(json.dumps(
        {"gguf": "/x/model.gguf", "dist": f"{EMBEDDED_DIST}=={EMBEDDED_VERSION}"}))
    assert portable_model(cache) == portable_model(str(cache)) == DEFAULT
    other = tmp_path / "my-model"
    other.mkdir()
    assert portable_model(other) == str(other)  # a folder outside the repository: as given
    assert portable_model("lmsys/vicuna-7b-v1.5") == "lmsys/vicuna-7b-v1.5"  # a hub id
    assert portable(ROOT / "data" / "x.jsonl") == "data/x.jsonl"
    assert portable(tmp_path / "x.jsonl") == str(tmp_path / "x.jsonl")


def test_sweep_configs_record_the_settings_of_earlier_records():
    """A sweep configured today writes the config a committed record holds, so it resumes."""
    line = (DATA_DIR / "benchmark-cpu-smollm2-sharegpt-vllm.jsonl").read_text()
    old = json.loads(line.splitlines()[0])["config"]
    config = SweepConfig(
        specs=("vllm", "vllm+rank-head"), num_data=128, max_new_tokens=256, data="sharegpt")
    new = run_config(config, [])
    assert {k: v for k, v in new.items() if k != "request_ids"} == {
        k: v for k, v in old.items() if k != "request_ids"}
    one = run_config(SweepConfig(specs=("oracle+vbs",)), [])
    assert (one["strategy"], one["vbs"], one["fcr"], one["engine"]) == (
        "oracle", True, False, "static")


def test_sweep_config_refuses_bad_settings():
    with pytest.raises(ValueError, match="unknown part"):
        SweepConfig(specs=("vanilla", "oracle+nope"))
    with pytest.raises(ValueError, match="token ids"):
        SweepConfig(specs=("vanilla", "length-head"), replay="paper-val")
    with pytest.raises(ValueError, match="group_size"):
        SweepConfig(group_size=0)
    assert SweepConfig(replay="paper-val").decoding == "greedy"  # tokens never read
    assert SweepConfig().decoding == "embedded"


def test_replay_sweep_measures_the_papers_rows_beside_the_simulator(tmp_path):
    config = SweepConfig(
        specs=("oracle+vbs+fcr", "standin", "vanilla", "standin+vbs+fcr", "oracle"),
        replay="paper-val",
        model="random:tiny", num_data=48, group_size=16, max_new_tokens=64, batch_size=4,
        out=tmp_path / "replay.jsonl", quiet=True)
    records = run_sweep(config)[0]
    workload = paper_workload(48, vocab_size=512)
    assert list(records)[0] == "vanilla"  # measured first: the cost model is fitted to it
    for record in records.values():
        assert record["config"]["replay"] == "paper-val" and record["config"]["group_size"] == 16
        assert record["actual_lengths"] == [min(n, 64) for n in workload.true_lengths]
        assert record["simulated"]["samples_per_s"] > 0
        assert record["environment"]["dtype"] == "float32"
    assert records["standin"]["predicted_lengths"] == workload.standin
    assert records["oracle+vbs+fcr"]["predicted_lengths"] == workload.oracle
    assert records["oracle+vbs+fcr"]["summary"]["failure_ratio"] == 0.0  # the oracle never overruns
    # with the same lengths, ETR and steps are exact: the simulator must agree on them
    for record in records.values():
        for key in ("effective_token_ratio", "avg_length", "failure_ratio"):
            assert record["simulated"][key] == pytest.approx(record["summary"][key], abs=1e-3)
    # the fit also read calibration prefills at several batch sizes, not only vanilla's own (its
    # fitted values are timings: their sign is not asserted on a shared machine)
    num_prefills = int(re.search(r"(\d+) prefill timings", records["vanilla"]["cost_model"][
        "source"]).group(1))
    assert num_prefills > 48 // 4  # vanilla's 12 batches, and the calibration's


def test_replay_refuses_learned_predictors_on_the_command_line():
    with pytest.raises(UsageError, match="token ids"):
        sweep_main(["--replay", "paper-val", "--specs", "vanilla", "lora"])
