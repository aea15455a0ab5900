"""Tests for the length predictors: tuning set, LoRA training and serving, probe, CLI."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import seqsch.perception.experiments as perception
import seqsch.perception.features as features_module
import seqsch.perception.probe as probe_module
from seqsch.core.cli import UsageError
from seqsch.core.decoding import DecodingConfig
from seqsch.core.length_records import LengthRecord, write_length_header, write_length_record
from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS, ROOT
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.static import generate
from seqsch.perception.__main__ import main
from seqsch.perception.buckets import mean_of_buckets
from seqsch.perception.evaluation import constant_baseline, length_error
from seqsch.perception.experiments import load_records, requests_for
from seqsch.perception.features import (
    cached_features,
    clip_middle,
    extract_features,
    extract_features_by_depth,
    shared_prefix,
)
from seqsch.perception.lora import (
    LoraTrainConfig,
    _batch_tensors,
    build_tuning_set,
    encode_tuning_example,
    train_lora,
)
from seqsch.perception.predictors import ConstantPredictor
from seqsch.perception.probe import (
    AUTO_TARGETS,
    ProbeConfig,
    best_candidate,
    fit_head,
    load_probe,
    save_probe,
    train_probe,
)
from seqsch.perception.prompts import make_query_prompt
from seqsch.perception.query import (
    QueryPredictor,
    adapter_enabled,
    load_length_adapter,
    remove_length_adapter,
)
from seqsch.perception.registry import make_predictor

TARGETS = ["50", "100", "150", "200"]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models train far faster on one thread: more threads only add synchronisation."""
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def _record(id_: str, split: str, lengths: dict[float, int]) -> LengthRecord:
    return LengthRecord(id_, dict(lengths), {t: n >= 512 for t, n in lengths.items()},
                        num_prompt_tokens=20, split=split, max_new_tokens=512,
                        seeds={t: 7 for t in lengths})


@pytest.fixture
def length_file(tmp_path):
    """Four train and three val records in our JSONL format, with a truncated last line."""
    records = [
        _record("a", "train", {0.0: 40, 0.3: 73, 0.5: 12, 0.7: 60}),
        _record("b", "train", {0.0: 120, 0.3: 90, 0.5: 101, 0.7: 88}),
        _record("c", "val", {0.0: 300, 0.3: 310, 0.5: 305, 0.7: 290}),
        _record("d", "train", {0.0: 512, 0.3: 400, 0.5: 512, 0.7: 450}),
        _record("e", "val", {0.0: 10, 0.3: 20, 0.5: 15, 0.7: 12}),
        _record("f", "train", {0.0: 50, 0.3: 50, 0.5: 49, 0.7: 1}),
        _record("g", "val", {0.0: 100, 0.3: 150, 0.5: 120, 0.7: 140}),
    ]
    path = tmp_path / "lengths.jsonl"
    with path.open("w") as fh:
        write_length_header(fh, {"model": "tiny", "temperatures": [0.0, 0.3, 0.5, 0.7]})
        for record in records:
            write_length_record(fh, record)
        fh.write('{"id": "h", "split": "tr')
    return path


def _examples(requests):
    return [{"prompt": make_query_prompt(r.prompt), "target": t}
            for r, t in zip(requests, TARGETS)]


def _fresh(tiny):
    """A private copy of the shared tiny model (training and adapters modify it)."""
    model, tokenizer = tiny
    return copy.deepcopy(model), tokenizer


def test_tuning_set_from_a_hand_made_length_file(length_file):
    records = load_records(length_file, "train")
    assert [r.id for r in records] == ["a", "b", "d", "f"]
    pool = [Request(i, f"Instruction {i}.") for i in "gfedcba"]
    requests = requests_for(records, pool)
    examples = build_tuning_set(records, requests)
    assert [e["target"] for e in examples] == ["100", "150", "550", "50"]
    assert examples[0]["prompt"] == make_query_prompt("Instruction a.")
    assert [r.id for r in load_records(length_file, "val", num_data=2)] == ["c", "e"]
    with pytest.raises(ValueError, match="same ids"):
        build_tuning_set(records, requests[::-1])
    relabelled = build_tuning_set(records, requests, lengths=[10, 60, 120, 600])
    assert [e["target"] for e in relabelled] == ["50", "100", "150", "600"]
    with pytest.raises(ValueError, match="3 lengths for 4 records"):
        build_tuning_set(records, requests, lengths=[1, 2, 3])


def test_only_the_target_and_eos_carry_labels(tiny):
    _, tokenizer = tiny
    pairs = [encode_tuning_example(tokenizer, {"prompt": "Hi", "target": t}, 2)
             for t in ("50", "550")]
    assert pairs[0][1][-1] == 2 and len(pairs[1][1]) == len(pairs[0][1]) + 1
    ids, mask, _, labels = _batch_tensors(pairs, tokenizer.pad_token_id)
    kept = labels.shape[1]
    for row, (_, target) in enumerate(pairs):
        assert labels[row][labels[row] != -100].tolist() == target
        # the label at kept position j is the input token one position later
        next_ids = ids[row, ids.shape[1] - kept + 1 :].tolist()
        assert [n for n, lab in zip(next_ids, labels[row].tolist()) if lab != -100] == target
    assert mask[0].sum() < mask.shape[1]  # the shorter row is left-padded


def test_lora_training_lowers_the_loss_and_leaves_the_model_as_it_came(
        tiny, short_requests, tmp_path):
    model, tokenizer = _fresh(tiny)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = LoraTrainConfig(num_steps=20, batch_size=2, grad_accum_steps=2, learning_rate=3e-2,
                             checkpoint_every=10, warmup_ratio=0.0)
    losses = train_lora(model, tokenizer, _examples(short_requests), tmp_path, config, quiet=True)
    assert [p["step"] for p in losses] == list(range(1, 21))
    assert sum(p["loss"] for p in losses[-3:]) / 3 < 0.6 * losses[0]["loss"]
    assert (tmp_path / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "loss_curve.json").read_text())[-1]["step"] == 20
    assert (tmp_path / "loss_curve.png").stat().st_size > 1000
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-10", "step-20"]
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any("lora" in name for name, _ in model.named_modules())


def test_resumed_training_ends_with_the_same_adapter(tiny, short_requests, tmp_path):
    config = LoraTrainConfig(num_steps=6, batch_size=2, grad_accum_steps=2, learning_rate=1e-2,
                             checkpoint_every=2, lora_dropout=0.3)
    examples = _examples(short_requests)
    model, tokenizer = _fresh(tiny)
    full = train_lora(model, tokenizer, examples, tmp_path / "full", config, quiet=True)

    def interrupt(step, loss):
        if step == 3:
            raise KeyboardInterrupt

    model, tokenizer = _fresh(tiny)
    with pytest.raises(KeyboardInterrupt):
        train_lora(model, tokenizer, examples, tmp_path / "cut", config, quiet=True,
                   on_step=interrupt)
    assert not (tmp_path / "cut" / "adapter_model.safetensors").exists()
    steps_run = []
    resumed = train_lora(model, tokenizer, examples, tmp_path / "cut", config, quiet=True,
                         on_step=lambda step, loss: steps_run.append(step))
    assert steps_run == [3, 4, 5, 6]  # picked up after the step-2 checkpoint
    assert resumed == full
    full_weights = load_file(tmp_path / "full" / "adapter_model.safetensors")
    cut_weights = load_file(tmp_path / "cut" / "adapter_model.safetensors")
    assert full_weights.keys() == cut_weights.keys() and len(full_weights) > 0
    assert all(torch.equal(full_weights[k], cut_weights[k]) for k in full_weights)
    with pytest.raises(ValueError, match="other settings"):
        train_lora(model, tokenizer, examples, tmp_path / "cut",
                   LoraTrainConfig(num_steps=7, checkpoint_every=2), quiet=True)


@pytest.mark.parametrize("decode", ["generate", "score"])
def test_adapter_predicts_and_leaves_base_answers_unchanged(tiny, short_requests, tmp_path,
                                                           decode):
    model, tokenizer = _fresh(tiny)
    config = LoraTrainConfig(num_steps=30, batch_size=4, grad_accum_steps=1, learning_rate=3e-2,
                             checkpoint_every=30, warmup_ratio=0.0, lora_dropout=0.0)
    # One shared target: the two-layer random model learns it in a few steps, varied ones not.
    examples = [{**example, "target": "50"} for example in _examples(short_requests)]
    train_lora(model, tokenizer, examples, tmp_path, config, quiet=True)
    decoding = DecodingConfig(max_new_tokens=8)
    base = generate(model, tokenizer, short_requests, decoding, batch_size=3, quiet=True)

    predictor = make_predictor("lora", model, tokenizer, adapter=tmp_path, batch_size=3,
                               lora_decode=decode)
    predictions = predictor.predict(short_requests)
    assert len(predictions) == len(short_requests)
    assert all(p is None or isinstance(p, int) for p in predictions)
    if decode == "generate":
        assert predictions[:4].count(50) >= 3  # the tuned answer is learnt
    else:  # most of the mass on the label "50": a median inside its bucket, (0, 50]
        assert sum(1 <= p <= 50 for p in predictions[:4]) >= 3
        assert all(text.startswith("50 (p=") for text in predictor.last_outputs[:3])
    assert predictor.last_predict_s > 0 and predictor.num_missing == predictions.count(None)

    after = generate(model, tokenizer, short_requests, decoding, batch_size=3, quiet=True)
    assert [r.token_ids for r in after.results] == [r.token_ids for r in base.results]
    ids = tokenizer("<|im_start|>user\nSay hello.", return_tensors="pt").input_ids
    with torch.no_grad():
        off = model(ids).logits
        with adapter_enabled(model):
            on = model(ids).logits
        assert torch.equal(model(ids).logits, off)  # switched off again
    assert not torch.allclose(on, off)  # the adapter does change the model when enabled

    zeroed = tmp_path / "zeroed"  # the same adapter with lora_B = 0: no effect at all
    zeroed.mkdir()
    shutil.copy(tmp_path / "adapter_config.json", zeroed)
    weights = load_file(tmp_path / "adapter_model.safetensors")
    save_file({k: torch.zeros_like(v) if "lora_B" in k else v for k, v in weights.items()},
              zeroed / "adapter_model.safetensors")
    assert load_length_adapter(model, zeroed) == "length"  # another folder replaces it
    with torch.no_grad(), adapter_enabled(model):
        assert torch.equal(model(ids).logits, off)


def test_missing_adapter_says_how_to_train_one(tiny, tmp_path):
    model, tokenizer = tiny
    with pytest.raises(FileNotFoundError, match="perception train --predictor lora"):
        make_predictor("lora", model, tokenizer, adapter=tmp_path)


def test_zero_shot_query_returns_ints_or_none(tiny, short_requests):
    model, tokenizer = tiny
    predictor = make_predictor("query", model, tokenizer, batch_size=4)
    predictions = predictor.predict(short_requests)
    assert len(predictions) == len(short_requests) == len(predictor.last_outputs)
    assert all(p is None or isinstance(p, int) for p in predictions)
    assert predictor.num_missing == predictions.count(None)
    assert isinstance(predictor, QueryPredictor) and predictor.name == "query"


def test_constant_predictor_and_registry_checks(tiny, length_file):
    with pytest.warns(UserWarning, match="truncated last line"):
        predictor = make_predictor("constant", lengths=length_file)
    assert isinstance(predictor, ConstantPredictor)
    requests = [Request("x", "?"), Request("y", "?")]
    assert predictor.predict(requests) == [97, 97]  # the median of 50, 73, 120 and 512
    with pytest.raises(ValueError, match="'oracle' is not a predictor"):
        make_predictor("oracle")  # a length source, but nothing to build
    with pytest.raises(ValueError, match="unknown predictor 'nosuch'"):
        make_predictor("nosuch")
    with pytest.raises(TypeError, match="unknown option"):
        make_predictor("constant", lengths=length_file, adaptor="x")
    with pytest.raises(ValueError, match="needs the model"):
        make_predictor("query")


def _synthetic(num: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    mean = torch.randn(num, 16, generator=generator)
    last = torch.randn(num, 16, generator=generator)
    score = mean[:, :4].sum(1) / 2
    noise = torch.randn(num, generator=generator) * 10
    lengths = (20 + 400 * torch.sigmoid(score) + noise).clamp(1, 512).round().int().tolist()
    return {"mean": mean, "last": last}, lengths


def test_probe_learns_synthetic_lengths_and_round_trips(tmp_path):
    features, lengths = _synthetic(500)
    train = {k: v[:400] for k, v in features.items()}
    config = ProbeConfig(num_epochs=60, holdout_fraction=0.25)
    head, report = train_probe(train, lengths[:400], config)
    assert len(report["candidates"]) == 3 * len(AUTO_TARGETS)  # poolings x targets
    best = min(c["holdout_error"] for c in report["candidates"])
    assert (report["pooling"], report["target"]) == next(
        (c["pooling"], c["target"]) for c in report["candidates"] if c["holdout_error"] == best)
    test_inputs = torch.cat([features[p][400:] for p in report["pooling"].split("+")], dim=1)
    pred = head.predict_lengths(test_inputs)
    constant_error = length_error(constant_baseline(lengths[:400], 100), lengths[400:])
    assert length_error(pred, lengths[400:]) < 0.5 * constant_error
    assert all(isinstance(p, int) and 1 <= p <= 512 for p in pred)
    save_probe(head, tmp_path, report)
    assert load_probe(tmp_path).predict_lengths(test_inputs) == pred


SHIPPED_HEADS = sorted(p for p in DATA_DIR.glob("probe-*") if p.is_dir())


def test_one_head_per_role_is_shipped():
    # the best length predictor and the priority predictor of the embedded model's own lengths
    # (the paper's module is a LoRA adapter), and the predictor of ShareGPT's recorded lengths
    assert [p.name for p in SHIPPED_HEADS] == ["probe-sharegpt-recorded", "probe-smollm2-length",
                                               "probe-smollm2-rank"]


@pytest.mark.parametrize("probe_dir", SHIPPED_HEADS, ids=lambda p: p.name)
def test_every_shipped_head_loads(probe_dir):
    head = load_probe(probe_dir)
    num_inputs = head.feature_mean.numel()
    lengths = head.predict_lengths(torch.zeros(3, num_inputs))
    assert len(lengths) == 3 and all(1 <= n <= head.config.max_length for n in lengths)
    assert hasattr(head, "score_to_log_length") == (head.target == "rank")


@pytest.mark.parametrize("target", ["l1", "log_mse", "buckets"])
def test_each_probe_target_beats_the_constant(target):
    features, lengths = _synthetic(500, seed=1)
    config = ProbeConfig(pooling="mean", target=target, num_epochs=60)
    head, report = train_probe({k: v[:400] for k, v in features.items()}, lengths[:400], config)
    assert report["candidates"] == [] and report["target"] == target
    pred = head.predict_lengths(features["mean"][400:])
    constant = constant_baseline(lengths[:400], 100)
    assert length_error(pred, lengths[400:]) < 0.6 * length_error(constant, lengths[400:])


def test_bucket_head_predicts_the_median_of_its_distribution():
    head = fit_head(torch.zeros(2, 3), [10, 10], ProbeConfig(num_epochs=1), "buckets")
    probs = torch.zeros(2, head.config.num_buckets)
    probs[0, 2] = 1.0  # all mass in (50, 100]: median 75
    probs[1, 1], probs[1, 3] = 0.25, 0.75  # cdf reaches 0.5 a third into (100, 150]
    assert head._median_of_buckets(probs).tolist() == pytest.approx([75.0, 100 + 50 / 3])


def test_priority_head_reads_the_mean_of_its_distribution():
    config = ProbeConfig(target="buckets", decode="mean", max_length=140, num_epochs=1)
    head = fit_head(torch.zeros(2, 3), [10, 10], config, "buckets")
    assert head.config.num_buckets == 4  # 0, (0, 50], (50, 100], (100, 150] cut at the cap
    probs = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.5, 0.0, 0.0, 0.5]])
    # bucket centres, except the cap's bucket (centre 125), which sits at the cap
    assert mean_of_buckets(probs, 50, 140).tolist() == pytest.approx([75.0, 70.0])
    with torch.no_grad():  # a head whose output is that distribution whatever the input
        head.mlp[-1].weight.zero_()
        head.mlp[-1].bias.copy_(torch.log(probs[1].clamp_min(1e-12)))
    assert head.predict_lengths(torch.randn(3, 3)) == [70, 70, 70]
    with pytest.raises(ValueError, match="target='buckets'"):
        ProbeConfig(target="l1", decode="mean")
    with pytest.raises(ValueError, match="decode must be one of"):
        ProbeConfig(decode="mode")


def test_priority_head_is_chosen_by_ranking_not_error():
    candidates = [{"pooling": "mean", "holdout_error": 60.0, "holdout_kendall_tau": 0.30},
                  {"pooling": "last", "holdout_error": 70.0, "holdout_kendall_tau": 0.40}]
    assert best_candidate(candidates, "median")["pooling"] == "mean"
    assert best_candidate(candidates, "mean")["pooling"] == "last"


def test_prompt_features_batching_and_cache(tiny, short_requests, tmp_path, monkeypatch):
    model, tokenizer = tiny
    features = extract_features(model, tokenizer, short_requests, batch_size=3, quiet=True)
    assert features["mean"].shape == (len(short_requests), model.config.hidden_size)
    alone = extract_features(model, tokenizer, short_requests[5:6], batch_size=1, quiet=True)
    for key in ("mean", "last"):
        assert torch.allclose(alone[key][0], features[key][5], atol=1e-4)

    cache = tmp_path / "features.safetensors"
    first = cached_features(model, tokenizer, short_requests[:5], cache, batch_size=3, quiet=True)
    computed = []
    real_extract = features_module.extract_features

    def counting_extract(model, tokenizer, requests, *args, **kwargs):
        computed.extend(r.id for r in requests)
        return real_extract(model, tokenizer, requests, *args, **kwargs)

    monkeypatch.setattr(features_module, "extract_features", counting_extract)
    again = cached_features(model, tokenizer, short_requests[::-1], cache, batch_size=3,
                            quiet=True)
    assert computed == [r.id for r in short_requests[::-1] if r.id not in ("q0", "q1", "q2",
                                                                          "q3", "q4")]
    assert torch.equal(again["last"][-5:].flip(0), first["last"])
    computed.clear()
    cached_features(model, tokenizer, short_requests, cache, quiet=True)
    assert computed == []  # everything is cached now


def test_clip_middle_keeps_both_ends():
    assert clip_middle(list(range(10)), 4) == [0, 1, 8, 9]
    assert clip_middle(list(range(10)), 5) == [0, 1, 7, 8, 9]
    assert clip_middle([1, 2, 3], 4) == [1, 2, 3]
    with pytest.raises(ValueError, match="max_prompt_tokens must be >= 2"):
        clip_middle([1, 2, 3], 1)
    with pytest.raises(ValueError, match="max_prompt_tokens must be >= 2"):
        ProbeConfig(max_prompt_tokens=1)


def test_clipped_features_read_only_the_ends_of_long_prompts(tiny, short_requests, tmp_path):
    model, tokenizer = tiny
    prompts = encode_prompts(tokenizer, short_requests)
    num_prefix = len(shared_prefix(tokenizer, prompts))
    num_rest = [len(ids) - num_prefix for ids in prompts]
    limit = sorted(num_rest)[len(num_rest) // 2]  # half the prompts are longer
    full = extract_features(model, tokenizer, short_requests, batch_size=4, quiet=True)
    clipped = extract_features(model, tokenizer, short_requests, batch_size=4, quiet=True,
                               max_prompt_tokens=limit)
    for row, n in enumerate(num_rest):
        same = torch.allclose(full["last"][row], clipped["last"][row], atol=1e-4)
        assert same == (n <= limit), (row, n, limit)
    depth = model.config.num_hidden_layers  # the clip keeps the system turn whole either way
    alone = extract_features_by_depth(model, tokenizer, short_requests, [depth], 4, quiet=True,
                                      reuse_prefix=False, max_prompt_tokens=limit)[depth]
    assert torch.allclose(alone["last"], clipped["last"], atol=1e-4)
    # depth 0 (no prefix reuse): the mean of the normed embeddings of exactly the kept tokens
    decoder = model.get_decoder()
    row = max(range(len(prompts)), key=lambda i: num_rest[i])
    kept = prompts[row][:num_prefix] + clip_middle(prompts[row][num_prefix:], limit)
    with torch.no_grad():
        expected = decoder.norm(decoder.embed_tokens(torch.tensor([kept])))[0].mean(0)
    embedded = extract_features_by_depth(model, tokenizer, short_requests, [0], 4, quiet=True,
                                         max_prompt_tokens=limit)[0]
    assert torch.allclose(embedded["mean"][row], expected, atol=1e-5)
    assert torch.allclose(extract_features(model, tokenizer, short_requests, batch_size=4,
                                           quiet=True, max_prompt_tokens=max(num_rest))["mean"],
                          full["mean"], atol=1e-4)
    # a cache filled without the clip is not read back with it
    cache = tmp_path / "features.safetensors"
    cached_features(model, tokenizer, short_requests, cache, batch_size=4, quiet=True)
    again = cached_features(model, tokenizer, short_requests, cache, batch_size=4, quiet=True,
                            max_prompt_tokens=limit)
    assert torch.allclose(again["last"], clipped["last"], atol=1e-4)


@pytest.mark.parametrize("num_layers, max_prompt_tokens", [(None, None), (1, None), (1, 6)])
def test_probe_predictor_end_to_end(tiny, short_requests, tmp_path, monkeypatch, num_layers,
                                    max_prompt_tokens):
    model, tokenizer = tiny
    features = extract_features(model, tokenizer, short_requests, batch_size=4, quiet=True,
                                num_layers=num_layers, max_prompt_tokens=max_prompt_tokens)
    lengths = [30, 200, 60, 400, 10, 40, 350, 5]
    config = ProbeConfig(pooling="mean+last", target="l1", num_epochs=100, num_layers=num_layers,
                         max_prompt_tokens=max_prompt_tokens)
    head, report = train_probe(features, lengths, config)
    save_probe(head, tmp_path, report)
    predictor = make_predictor("length-head", model, tokenizer, probe=tmp_path, batch_size=4)

    clips, real_extract = [], probe_module.extract_features
    monkeypatch.setattr(probe_module, "extract_features", lambda *args, **kwargs: (
        clips.append(kwargs.get("max_prompt_tokens")) or real_extract(*args, **kwargs)))
    predictions = predictor.predict(short_requests)
    assert clips == [max_prompt_tokens]  # the head's own clip, read from its saved config
    inputs = torch.cat([features["mean"], features["last"]], dim=1)
    assert predictions == head.predict_lengths(inputs)
    assert all(isinstance(p, int) and 1 <= p <= 512 for p in predictions)
    assert predictor.last_predict_s > 0


def test_cli_eval_ends_with_a_json_summary(length_file, tmp_path, capsys):
    out = tmp_path / "eval-constant.json"
    with pytest.warns(UserWarning, match="truncated last line"):
        main(["eval", "--predictor", "constant", "--lengths", str(length_file),
              "--out", str(out)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("error", "acc50", "acc100", "kendall_tau", "num_prompts", "num_missing",
                "predict_s"):
        assert key in summary
    assert summary["num_prompts"] == 3
    assert summary["error"] == pytest.approx((213 + 77 + 53) / 3, abs=1e-3)  # pred 97
    assert json.loads(out.read_text())["predictions"][0] == {
        "id": "c", "pred": 97, "max_length": 310, "true_length": 310, "output": None}
    # against the greedy answer censored at 256, by that label's train median (50, 120 -> 85)
    with pytest.warns(UserWarning, match="truncated last line"):
        main(["eval", "--predictor", "constant", "--lengths", str(length_file), "--out",
              str(out), "--length-target", "greedy", "--max-length", "256"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["error"] == pytest.approx((171 + 75 + 15) / 3, abs=1e-3)
    saved = json.loads(out.read_text())
    assert (saved["length_target"], saved["label_max_length"]) == ("greedy", 256)
    assert [p["true_length"] for p in saved["predictions"]] == [256, 10, 100]
    main(["eval", "--predictor", "noise-floor", "--lengths", str(length_file),
          "--out", str(tmp_path / "noise.json")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["num_prompts"] == 3 and summary["num_index_pairs"] == 6
    assert 0 < summary["error"] < 40
    with pytest.raises(UsageError, match="argument --predictor: invalid choice: 'query'"):
        main(["train", "--predictor", "query", "--lengths", str(length_file)])


@pytest.mark.slow
def test_adapter_on_the_embedded_model_keeps_its_greedy_answers(embedded, short_requests,
                                                                 tmp_path):
    model, tokenizer = embedded
    requests = short_requests[:3]
    decoding = DecodingConfig(max_new_tokens=12)
    base = generate(model, tokenizer, requests, decoding, quiet=True)
    config = LoraTrainConfig(num_steps=2, batch_size=2, grad_accum_steps=1, learning_rate=1e-3)
    train_lora(model, tokenizer, _examples(requests), tmp_path, config, quiet=True)
    predictor = make_predictor("lora", model, tokenizer, adapter=tmp_path)
    try:
        predictions = predictor.predict(requests)
        assert all(p is None or isinstance(p, int) for p in predictions)
        after = generate(model, tokenizer, requests, decoding, quiet=True)
        assert [r.token_ids for r in after.results] == [r.token_ids for r in base.results]
    finally:
        remove_length_adapter(model)  # the embedded model is shared by other tests


@pytest.mark.filterwarnings("ignore:.*truncated last line")
def test_cli_depth_scores_and_times_each_depth(tiny, short_requests, length_file, tmp_path,
                                               monkeypatch, capsys):
    by_id = dict(zip("abcdefg", short_requests))
    monkeypatch.setattr(perception, "_load_model", lambda config: tiny)
    monkeypatch.setattr(perception, "requests_for",
                        lambda records: [Request(r.id, by_id[r.id].prompt) for r in records])
    out = tmp_path / "depth.json"
    main(["depth", "--lengths", str(length_file), "--depths", "2", "0", "--num-epochs", "5",
          "--pooling", "mean", "--target", "l1", "--out", str(out), "--quiet"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = json.loads(out.read_text())["depths"]
    assert [row["num_layers"] for row in rows] == [0, 2] == [r["num_layers"]
                                                             for r in summary["depths"]]
    for row in rows:
        assert row["num_prompts"] == 3 and row["predict_s"] > 0 and row["pooling"] == "mean"


def test_cli_probe_learns_the_chosen_length_censored_at_the_cap(tiny, short_requests, length_file,
                                                               tmp_path, monkeypatch):
    by_id = dict(zip("abcdefg", short_requests))
    monkeypatch.setattr(perception, "_load_model", lambda config: tiny)
    monkeypatch.setattr(perception, "requests_for",
                        lambda records: [Request(r.id, by_id[r.id].prompt) for r in records])
    seen = []
    real_train = perception.train_probe
    monkeypatch.setattr(perception, "train_probe", lambda features, lengths, config: (
        seen.append(list(lengths)) or real_train(features, lengths, config)))
    for target, expected in (("greedy", [40, 100, 100, 50]), ("max", [73, 100, 100, 50])):
        out = tmp_path / target
        main(["train", "--predictor", "length-head", "--lengths", str(length_file),
              "--length-target", target, "--max-length", "100", "--num-epochs", "2", "--pooling",
              "mean", "--target", "l1", "--out", str(out), "--quiet"])
        assert seen[-1] == expected  # train records a, b, d, f, censored at 100
        saved = json.loads((out / "probe_config.json").read_text())["config"]
        assert (saved["length_target"], saved["max_length"]) == (target, 100)
        assert load_probe(out).config.length_target == target
    with pytest.raises(ValueError, match="length_target must be one of"):
        ProbeConfig(length_target="median")


@pytest.mark.filterwarnings("ignore:.*truncated last line")
def test_cli_lora_trains_its_nested_config_on_the_chosen_label(tiny, short_requests, length_file,
                                                               tmp_path, monkeypatch, capsys):
    by_id = dict(zip("abcdefg", short_requests))
    monkeypatch.setattr(perception, "_load_model", lambda config: _fresh(tiny))
    monkeypatch.setattr(perception, "requests_for",
                        lambda records: [Request(r.id, by_id[r.id].prompt) for r in records])
    out = tmp_path / "lora"
    main(["train", "--predictor", "lora", "--lengths", str(length_file), "--num-steps", "2",
          "--batch-size", "2", "--grad-accum-steps", "1", "--learning-rate", "1e-3",
          "--checkpoint-every", "2", "--length-target", "greedy", "--max-length", "100",
          "--out", str(out), "--quiet"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["predictor"], summary["num_steps"], summary["num_examples"]) == ("lora", 2, 4)
    saved = json.loads((out / "train_config.json").read_text())
    assert (saved["batch_size"], saved["grad_accum_steps"], saved["learning_rate"]) == (2, 1, 1e-3)
    assert (saved["length_target"], saved["label_max_length"], saved["max_length"]) == (
        "greedy", 100, 512)


def _tree_state(folder) -> dict:
    """Every file under `folder`: its size, modification time and content hash."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns,
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.filterwarnings("ignore:.*truncated last line")
def test_default_runs_write_under_build_and_leave_the_shipped_data_alone(tmp_path, monkeypatch,
                                                                        capsys):
    """The shipped results are read-only by default: only an explicit --out refreshes one."""
    if not DEFAULT_LENGTHS.is_file():
        pytest.skip(f"the shipped length file is absent: {DEFAULT_LENGTHS}")
    build = tmp_path / "build"
    monkeypatch.setattr(perception, "BUILD_DIR", build)
    before = _tree_state(DATA_DIR)
    for predictor in ("constant", "noise-floor"):  # the two that need no model
        main(["eval", "--predictor", predictor, "--num-data", "8", "--quiet"])
        saved = json.loads((build / f"perception-eval-{predictor}.json").read_text())
        assert saved["lengths"] == "data/lengths-smollm2-sharegpt.jsonl"  # repo-relative
        assert str(ROOT) not in json.dumps(saved)
    capsys.readouterr()
    assert _tree_state(DATA_DIR) == before
