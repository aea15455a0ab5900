"""Notebook 03's censored targets: what the paper's recipe asks the module to learn on a model
whose answers the cap cuts, and what the module learns from it.

The paper tunes its module on the 50-token bucket of the longest of four sampled answers. Here
most of those answers reach the 512-token cap, so most targets are the cap's bucket, and the
module collapses onto it. The notebook's story rests on three numbers read from the length file
and the shipped evaluations: the share of targets at the cap (`censored_targets`), the share of
predictions in the top bucket (`module_collapse`), and the module retrained on the greedy
answer, which the cap cuts less (`greedy_label_text`). Each comes with the sentence that prints
it, so that the notebook only calls and shows:

    targets = censored_targets(DEFAULT_LENGTHS)
    print(targets_text(targets))
    collapse = module_collapse(targets)
    print(collapse_text(collapse, main_rows_by_name))
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from seqsch.core.length_records import target_lengths
from seqsch.core.paths import DATA_DIR
from seqsch.lab.scorecard import MODULE_METRICS, metrics_beaten
from seqsch.perception.buckets import bucket_of, bucket_to_length, round_up_to_bucket
from seqsch.perception.experiments import load_records, requests_for
from seqsch.perception.lora import build_tuning_set

DEFAULT_CAP = 512  # a length file that records no cap was collected at the paper's
# the module retrained on the greedy answer, beside the constant that says that label's median
GREEDY_FILES = {"retrained module (bucket median)": "lora-greedy",
                "constant: train median": "constant-greedy"}


def censored_targets(lengths: str | Path) -> dict:
    """The length file's train and validation records, its cap, the paper's tuning set built
    from the train records (each target the bucket of the longest of four answers; a
    ValueError if the tuning set's labels say otherwise), the cap's bucket label and the share
    of targets that are that label."""
    train_records = load_records(str(lengths), "train")
    val_records = load_records(str(lengths), "val")
    cap = train_records[0].max_new_tokens or DEFAULT_CAP
    tuning_set = build_tuning_set(train_records, requests_for(train_records))
    expected = [str(bucket_to_length(bucket_of(r.max_length))) for r in train_records]
    if [example["target"] for example in tuning_set] != expected:
        raise ValueError("the tuning set's targets are not the buckets of the longest answers")
    cap_label = str(round_up_to_bucket(cap))
    cap_share = Counter(ex["target"] for ex in tuning_set)[cap_label] / len(tuning_set)
    return {"train_records": train_records, "val_records": val_records, "cap": cap,
            "tuning_set": tuning_set, "cap_label": cap_label, "cap_share": cap_share}


def targets_text(targets: dict) -> str:
    """One tuning example and the share of targets that are the cap's bucket."""
    example = targets["tuning_set"][0]
    return (f"{len(targets['tuning_set'])} tuning examples; one of them:\n"
            f"{example['prompt'][:300]} ...\n-> {example['target']}\n"
            f"\n{targets['cap_share']:.0%} of the targets are the cap's bucket "
            f"\"{targets['cap_label']}\" (the longest of 4 answers reached the "
            f"{targets['cap']}-token cap)")


def eval_predictions(name: str, data_dir: Path = DATA_DIR) -> list[dict]:
    """The predictions of data_dir/perception-eval-<name>.json (each {id, pred, ...})."""
    return json.loads((data_dir / f"perception-eval-{name}.json").read_text())["predictions"]


def predictions_against(predictions: Sequence[dict],
                        truths: Mapping[str, int]) -> tuple[list, list[int]]:
    """(the predictions, the truth of each one's prompt) in the evaluation's order; a
    ValueError naming a prompt the truths lack."""
    missing = [p["id"] for p in predictions if p["id"] not in truths]
    if missing:
        raise ValueError(f"no truth for {len(missing)} predicted prompts (e.g. {missing[:3]})")
    return [p["pred"] for p in predictions], [truths[p["id"]] for p in predictions]


def share_at_least(values: Sequence[float], threshold: float) -> float:
    """The share of `values` at or above `threshold` (0 for no values)."""
    return sum(value >= threshold for value in values) / len(values) if values else 0.0


def top_bin_edge(cap: int, bin_size: int = 50) -> int:
    """The lower edge of a length histogram's last bin below `cap` (its bins are `bin_size`
    wide from 0): the predictions the notebook counts as the cap's bucket."""
    return cap - cap % bin_size if cap % bin_size else cap - bin_size


def module_collapse(targets: dict, data_dir: Path = DATA_DIR) -> dict:
    """The LoRA module's predictions read as a bucket median (`lora`) and greedily
    (`lora_generate`), the truth (`longest`: the longest of four, per validation prompt), the
    histogram's top bin edge (`top`), the share of each reading at or above it, the greedy
    answers' texts counted (`outputs`), and the greedy reading's summary (`generate`)."""
    lora = [p["pred"] for p in eval_predictions("lora", data_dir)]
    generated = eval_predictions("lora-generate", data_dir)
    lora_generate = [p["pred"] for p in generated]
    top = top_bin_edge(targets["cap"])
    summary = json.loads((data_dir / "perception-eval-lora-generate.json").read_text())["summary"]
    return {"lora": lora, "lora_generate": lora_generate, "top": top,
            "longest": [r.max_length for r in targets["val_records"]],
            "share_top": share_at_least(lora, top),
            "share_top_generate": share_at_least(lora_generate, top),
            "outputs": dict(Counter(p["output"] for p in generated)), "generate": summary}


def collapse_text(collapse: dict, main: Mapping[str, dict]) -> str:
    """The module's greedy answers counted, and its greedy reading's error and tau beside the
    constant train median's (`main`: the main table's rows by name)."""
    generate, constant = collapse["generate"], main["constant"]
    return (f"the module's greedy answers: {collapse['outputs']}\n"
            f"read greedily, against the longest of 4: error {generate['error']:.1f} tokens, tau "
            f"{generate['kendall_tau']:.2f} (the constant train median: {constant['error']:.1f}, "
            f"{constant['kendall_tau']:.2f})")


def greedy_label_text(targets: dict, data_dir: Path = DATA_DIR) -> str:
    """The module retrained on the greedy answer's bucket beside the constant of that label:
    how often the greedy answer reaches the cap, both summaries against the greedy answer, and
    on how many of the paper's metrics the module beats the constant."""
    cap, train_records = targets["cap"], targets["train_records"]
    greedy_cap_share = share_at_least(target_lengths(train_records, "greedy"), cap)
    lines = [f"the greedy answer reaches the {cap}-token cap for {greedy_cap_share:.0%} of the "
             f"train prompts (the longest of 4: {targets['cap_share']:.0%})",
             f"{'vs the greedy answer (cap 512)':<38}{'error':>7}{'Acc-50':>8}{'Acc-100':>9}"
             f"{'tau':>7}"]
    summaries = {name: json.loads((data_dir / f"perception-eval-{stem}.json").read_text())
                 ["summary"] for name, stem in GREEDY_FILES.items()}
    for name, s in summaries.items():
        lines.append(f"{name:<38}{s['error']:7.1f}{s['acc50']:8.1%}{s['acc100']:9.1%}"
                     f"{s['kendall_tau']:+7.2f}")
    beaten = metrics_beaten(*summaries.values())
    lines.append(f"The retrained module beats the constant on {len(beaten)} of the "
                 f"{len(MODULE_METRICS)} metrics ({', '.join(beaten) or 'none'}).")
    return "\n".join(lines)
