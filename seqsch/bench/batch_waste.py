"""The padding of static batches at several batch sizes, wherever the lengths come from.

Notebook 04 measures the waste three ways and sets them side by side: the embedded model's own
static runs at its cap (`measured_waste`), a trace replay of the paper's lengths
(`replayed_waste`), and a committed record's lengths (`committed_waste`, exact at any batch
size: ETR counts tokens and row-steps, never time). Each gives a `BatchWaste`, whose lines are
the ones the notebook prints; `etr_curves_at_scale` is the same arithmetic on the shipped
length files at scale, vanilla and sorted by the true length.

    waste = committed_waste(load_records(path)["vanilla"], [4, 16, 64])
    print(waste.etr_list(), waste.etr_ratio(4, 64))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from seqsch.bench.padding import batches_at_cap, etr_by_batch_size, sorted_etr
from seqsch.core.paper import PAPER_ROWS, PAPER_SAMPLE_SIZE
from seqsch.engines.results import GenerationRun

SCALE_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)  # the at-scale curves' static batch sizes


@dataclass
class BatchWaste:
    """ETR of static batches by batch size, with the answer lengths and cap behind it."""

    lengths: list[int]  # answer lengths, in request order
    max_new_tokens: int  # the cap they were decoded at
    etr: dict[int, float]  # batch size -> effective token ratio (0-1)
    at_cap: dict[int, float]  # batch size -> share of its batches that ran to the cap
    samples_per_s: dict[int, float] = field(default_factory=dict)  # measured runs only

    @property
    def share_capped(self) -> float:
        """Share of the answers at the cap or over it (censored)."""
        return sum(n >= self.max_new_tokens for n in self.lengths) / len(self.lengths)

    @property
    def mean_length(self) -> float:
        return sum(self.lengths) / len(self.lengths)

    @property
    def mean_over_cap(self) -> float:
        """Mean answer length over the cap: the ETR of batches that all run to the cap."""
        return self.mean_length / self.max_new_tokens

    def etr_ratio(self, fewer: int, more: int) -> float:
        """ETR of batches of `more` rows over batches of `fewer`."""
        return self.etr[more] / self.etr[fewer]

    def rate_ratio(self, fewer: int, more: int) -> float:
        """Measured samples/s at `more` rows over `fewer`."""
        return self.samples_per_s[more] / self.samples_per_s[fewer]

    def percent(self) -> dict[int, float]:
        """ETR in %, by batch size: what the charts draw."""
        return {b: 100 * v for b, v in self.etr.items()}

    def etr_list(self) -> str:
        """`71.2% at batch 4, 55.0% at batch 16`."""
        return ", ".join(f"{v:.1%} at batch {b}" for b, v in self.etr.items())

    def length_summary(self) -> str:
        """`mean answer 213 tokens, 1.2% at the 512-token cap`."""
        return (f"mean answer {self.mean_length:.0f} tokens, {self.share_capped:.1%} at the "
                f"{self.max_new_tokens}-token cap")

    def cap_takeaway(self) -> str:
        """Why ETR stays flat when the cap cuts many answers: most batches run to the cap, so
        ETR is about the mean length over the cap at every batch size."""
        sizes = list(self.etr)
        lo, hi = sizes[0], sizes[-1]
        return (f"At the embedded model's {self.max_new_tokens}-token cap, "
                f"{self.share_capped:.0%} of its answers are cut and {self.at_cap[hi]:.0%} of its "
                f"batches of {hi} run to the cap, so ETR is about the mean length over the cap "
                f"({self.mean_over_cap:.1%}) at every batch size ({self.etr[lo]:.1%} at {lo}, "
                f"{self.etr[hi]:.1%} at {hi}): the cap, not the batch, sets the waste there.")

    def batch_lines(self) -> list[str]:
        """One line per batch size: its ETR, its batches at the cap and (measured) samples/s."""
        return [f"batch {b:>3}: ETR {v:.1%}, {self.at_cap[b]:.0%} of its batches run to the cap"
                + (f", {self.samples_per_s[b]:.1f} samples/s" if b in self.samples_per_s else "")
                for b, v in self.etr.items()]


def cap_batch_sizes(batch_size: int, num_data: int) -> list[int]:
    """The embedded model's three batch sizes: `batch_size` / 4 and / 2 (at least 2) and
    `batch_size` itself, none over `num_data`."""
    return sorted({min(b, num_data) for b in (max(2, batch_size // 4), max(2, batch_size // 2),
                                                batch_size)})


def measured_waste(runs: Mapping[int, GenerationRun], max_new_tokens: int) -> BatchWaste:
    """The waste of static runs of the same requests (batch size -> run): each run's ETR and
    share of batches that ran `max_new_tokens` steps; the lengths of the first run."""
    first = runs[min(runs)]
    return BatchWaste(
        lengths=[r.num_output_tokens for r in first.results], max_new_tokens=max_new_tokens,
        etr={b: run.summary()["effective_token_ratio"] for b, run in runs.items()},
        at_cap={b: sum(batch.num_steps >= max_new_tokens for batch in run.batches)
                / len(run.batches) for b, run in runs.items()})


def replayed_waste(records: Mapping[int, dict], max_new_tokens: int) -> BatchWaste:
    """The waste of trace-replay sweep records (batch size -> vanilla record, as
    `seqsch.bench.padding.replay_vanilla` returns them): measured ETR and samples/s."""
    lengths = records[min(records)]["actual_lengths"]
    return BatchWaste(
        lengths=lengths, max_new_tokens=max_new_tokens,
        etr={b: r["summary"]["effective_token_ratio"] for b, r in records.items()},
        at_cap={b: batches_at_cap(lengths, b, max_new_tokens) for b in records},
        samples_per_s={b: r["summary"]["samples_per_s"] for b, r in records.items()})


def committed_waste(record: dict, batch_sizes: Sequence[int]) -> BatchWaste:
    """The waste a committed record's lengths give at `batch_sizes` (exact, from lengths)."""
    lengths, cap = record["actual_lengths"], record["config"]["max_new_tokens"]
    return BatchWaste(lengths=lengths, max_new_tokens=cap,
                      etr=etr_by_batch_size(lengths, batch_sizes),
                      at_cap={b: batches_at_cap(lengths, b, cap) for b in batch_sizes})


def committed_replay_line(record: dict, waste: BatchWaste) -> str:
    """The committed replay's measured ETR beside the paper's, then what its lengths give at
    other batch sizes (`waste`, from `committed_waste` of the same record)."""
    config, paper_etr = record["config"], PAPER_ROWS["vanilla"]["effective_token_ratio"]
    return (f"committed replay ({config['model']}, {len(record['actual_lengths'])} prompts, cap "
            f"{config['max_new_tokens']}): measured ETR "
            f"{record['summary']['effective_token_ratio']:.1%} at batch {config['batch_size']} "
            f"(the paper, {PAPER_SAMPLE_SIZE:,} prompts: {paper_etr:.1%}); from its lengths "
            f"{waste.etr_list()}")


def etr_curves_at_scale(workloads: Mapping[str, tuple[list[int], int]],
                        sizes: Sequence[int] = SCALE_BATCH_SIZES) -> dict[str, list[float]]:
    """{`<workload>: vanilla` and `<workload>: sorted by true length`: ETR in % at each of
    `sizes`} for `seqsch.bench.padding.scale_workloads`'s {name: (lengths, cap)}."""
    curves = {}
    for name, (lengths, _) in workloads.items():
        curves[f"{name}: vanilla"] = [100 * v for v in etr_by_batch_size(lengths, sizes).values()]
        curves[f"{name}: sorted by true length"] = [100 * sorted_etr(lengths, b) for b in sizes]
    return curves


def workload_lines(workloads: Mapping[str, tuple[list[int], int]]) -> list[str]:
    """One line per workload: its answers, their mean and the share at its cap."""
    return [f"{name}: {len(lengths)} answers, mean {sum(lengths) / len(lengths):.0f} tokens, "
            f"{sum(n >= cap for n in lengths) / len(lengths):.1%} at the {cap}-token cap"
            for name, (lengths, cap) in workloads.items()]


def etr_at(curves: Mapping[str, Sequence[float]], sizes: Sequence[int],
           batch_size: int) -> dict[str, float]:
    """{curve: its value at `batch_size`} for curves over `sizes` (`etr_curves_at_scale`)."""
    if batch_size not in sizes:
        raise ValueError(f"the curves have no batch size {batch_size}; they have {list(sizes)}")
    return {name: values[list(sizes).index(batch_size)] for name, values in curves.items()}


def scale_takeaway(at16: Mapping[str, float], smol: str, vicuna: str) -> str:
    """The at-scale curves at batch 16 (`etr_at`), vanilla and sorted, beside the paper's."""
    paper_etr = PAPER_ROWS["vanilla"]["effective_token_ratio"]
    return (f"At scale, batch 16, vanilla: ETR {at16[smol + ': vanilla']:.1f}% on SmolLM2's "
            f"lengths and {at16[vicuna + ': vanilla']:.1f}% on Vicuna's (the paper measured "
            f"{100 * paper_etr:.1f}%); sorting by the true length gives "
            f"{at16[smol + ': sorted by true length']:.1f}% and "
            f"{at16[vicuna + ': sorted by true length']:.1f}%.")
