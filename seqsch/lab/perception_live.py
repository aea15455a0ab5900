"""Notebook 03's live run (`RUN_LIVE`): tune the adapter for a few steps, and evaluate the
shipped predictors on a few prompts beside their shipped predictions on the same prompts.

The live run is there to show that the library calls that built the shipped files run here, not
to reproduce them: a few steps teach little, and a few prompts give noisy metrics. So each live
number is printed beside the shipped one it should be read against (the shipped run's first
steps, the shipped predictions on the same prompts), and the noise floor on the few prompts
beside the noise floor on all of them says how noisy that many prompts are. Minutes on a CPU:

    live = live_tuning(lengths, num_steps=3, train_config=shipped["train_config"])
    print(live_tuning_text(live))
    print(live_evaluation_text(lengths, num_data=8, main=main_rows_by_name))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch

from seqsch.core.paths import BUILD_DIR, DATA_DIR
from seqsch.lab.perception_tables import Column, text_table
from seqsch.perception.configs import AdapterTrainConfig, EvalConfig
from seqsch.perception.evaluation import evaluate_predictions
from seqsch.perception.experiments import evaluate, load_records, train
from seqsch.perception.lora import LoraTrainConfig

LIVE_DIR = BUILD_DIR / "notebooks"
LIVE_PREDICTORS = ("lora", "length-head", "constant")  # evaluated live, beside their shipped files
LIVE_COLUMNS = tuple(Column(key, header, fmt, target) for key, header, fmt, target in (
    ("live_error", "live", ".1f", "error"), ("error", "shipped", ".1f", "error"),
    ("live_tau", "live", "+.2f", "tau"), ("tau", "shipped", "+.2f", "tau")))


def live_tuning(lengths: str | Path, num_steps: int, train_config: dict, seed: int = 0,
                device: str = "auto", out_dir: Path = LIVE_DIR / "03_lora_demo") -> dict:
    """Tune a fresh adapter for `num_steps` steps with the shipped run's learning rate and batch
    (`train_config`: its train_config.json), seeded; returns the training `report`, the loss of
    each step (`losses`) and `num_steps` asked for."""
    torch.manual_seed(seed)
    report = train(AdapterTrainConfig(
        lengths=lengths, out=out_dir, resume=False, device=device, quiet=True,
        lora=LoraTrainConfig(num_steps=num_steps, learning_rate=train_config["learning_rate"],
                             batch_size=train_config["batch_size"],
                             grad_accum_steps=train_config["grad_accum_steps"], seed=seed)))
    losses = [row["loss"] for row in json.loads((out_dir / "loss_curve.json").read_text())]
    return {"report": report, "losses": losses, "num_steps": num_steps}


def live_tuning_text(live: dict) -> str:
    """How many steps ran, their pace, and the loss of each."""
    report = live["report"]
    return (f"{report['num_steps']} live steps, {report['s_per_step']:.1f} s per step; loss per "
            f"step: {[round(x, 2) for x in live['losses']]}")


def shipped_on(name: str, records: list, data_dir: Path = DATA_DIR) -> dict[str, float]:
    """The metrics of the shipped predictions of `name` on `records` alone, against the longest
    of four: what a live evaluation of the same prompts should be read against."""
    saved = {p["id"]: p["pred"] for p in json.loads(
        (data_dir / f"perception-eval-{name}.json").read_text())["predictions"]}
    return evaluate_predictions([saved[r.id] for r in records], [r.max_length for r in records])


def live_rows(lengths: str | Path, num_data: int, main: Mapping[str, dict], device: str = "auto",
              data_dir: Path = DATA_DIR, out_dir: Path = LIVE_DIR) -> list[dict]:
    """Each of LIVE_PREDICTORS evaluated live on the first `num_data` validation prompts: its
    live error and tau beside its shipped predictions' on the same prompts (labels from
    `main`, the main table's rows by name)."""
    subset, rows = load_records(str(lengths), "val", num_data), []
    for name in LIVE_PREDICTORS:
        live = evaluate(EvalConfig(predictor=name, lengths=lengths, num_data=num_data,
                                   device=device, quiet=True,
                                   out=out_dir / f"03_eval_{name}.json"))
        shipped = shipped_on(name, subset, data_dir)
        rows.append({"label": main[name]["label"], "live_error": live["error"],
                     "error": shipped["error"], "live_tau": live["kendall_tau"],
                     "tau": shipped["kendall_tau"]})
    return rows


def live_evaluation_text(lengths: str | Path, num_data: int, main: Mapping[str, dict],
                         device: str = "auto", data_dir: Path = DATA_DIR,
                         out_dir: Path = LIVE_DIR) -> str:
    """`live_rows` as a table, then the noise floor on the same prompts beside the noise floor
    on all of them (the main table's): how noisy `num_data` prompts are."""
    rows = live_rows(lengths, num_data, main, device, data_dir, out_dir)
    few = evaluate(EvalConfig(predictor="noise-floor", lengths=lengths, num_data=num_data,
                              quiet=True, out=out_dir / "03_eval_noise-floor.json"))
    floor = main["noise-floor"]
    table = text_table(rows, LIVE_COLUMNS, f"first {num_data} validation prompts, vs longest of 4")
    return (f"{table}\n\nhow noisy {num_data} prompts are: the noise floor on them has error "
            f"{few['error']:.0f} and tau {few['kendall_tau']:.2f}, on all "
            f"{floor['num_prompts']}: {floor['error']:.0f} and {floor['kendall_tau']:.2f}")
