"""What a decoding step costs against its rows, measured on this machine beside a GPU's price:
the step-cost comparison of notebook 04, section 3.

Six curves (rows -> seconds of one step) are set side by side: the embedded model and the
replay's tiny model measured here (`seqsch.bench.padding.measure_step_costs`), the simulator's
linear cost model fitted through the first of them, the cost model the committed replay fitted
on the same shape, and two A100 models of Vicuna-7B (the analytic one, and the same with its
fixed and per-row costs fitted to the paper's vanilla and oracle + VBS + FCR rows).
`compare_step_costs` measures and prices them; the `StepCostComparison` it returns holds the
ratios (a step of more rows over one of fewer, `ROW_PAIRS`), the verdicts that put each
measured ratio beside its reference, the chart's curves and title, and what each curve makes of
a bigger batch's throughput.

    costs = compare_step_costs(model, len(tokenizer), "random:tiny", replay_record,
                               [1, 8, 16, 64], 64, [4, 16, 64], 128, "smollm2-135m-embedded")
    print("\\n".join(costs.ratio_lines()))
    print("\\n".join(costs.verdicts()))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from seqsch.bench.calibration import cost_model_of
from seqsch.bench.padding import (
    batch_throughput_ratio,
    fit_step_curve,
    measure_step_costs,
    model_steps,
    ratio_table,
    step_ratio,
)
from seqsch.bench.paper_table import PaperTableConfig, fit_step_cost
from seqsch.bench.replay import paper_workload
from seqsch.core.models import load_model
from seqsch.core.paper import PAPER_ROWS
from seqsch.core.verdicts import direction, magnitude_line
from seqsch.scheduling.cost_model import CostModel, load_cost_model

A100 = "a100-80gb-vicuna7b"
GPU_ROWS = (8, 16, 64, 256)  # the GPU curves always price the ratios of ROW_PAIRS
PAYS = ("worth its padding", "not worth its padding", "about even")


@dataclass
class StepCostComparison:
    """Step-cost curves by label, and which label plays which role."""

    curves: dict[str, dict[int, float]]  # label -> rows -> seconds of one step
    roles: dict[str, str]  # cpu, tiny, fit, committed_fit, gpu, gpu_paper -> label
    context: float  # tokens in the KV cache of the embedded model's timed steps
    tiny_context: float  # the same for the tiny model
    gpu_context: int  # where the GPU models price a step
    a100: CostModel  # the analytic A100 model
    paper_a100: CostModel  # the same, fitted to the paper's two rows
    model_name: str  # the embedded model's name, for the verdicts
    live_model_name: str  # the tiny model's

    @cached_property
    def ratios(self) -> dict[str, dict[tuple, float]]:
        """{label: {(fewer, more): step ratio}} for each pair of ROW_PAIRS the curve has."""
        return ratio_table(self.curves)

    def ratio(self, role: str, pair: tuple[int, int]) -> float:
        return self.ratios[self.roles[role]][pair]

    def ratio_lines(self) -> list[str]:
        """Every curve's ratios, then what the paper's rows imply for an A100's step."""
        lines = [f"A step's time against its rows (CPU at the measured context, "
                 f"{self.context:.0f} tokens; GPU at {self.gpu_context}):"]
        for name, by_pair in self.ratios.items():
            lines.append(f"  {name}: " + ", ".join(f"{more} rows {r:.2f}x {fewer}"
                                                   for (fewer, more), r in by_pair.items()))
        lines.append(
            f"The paper's rows imply an A100 cost per row "
            f"{self.paper_a100.step_per_row_s / self.a100.step_per_row_s:.0f}x the analytic "
            f"model's (its fixed cost per step {1000 * self.paper_a100.step_fixed_s:.1f} ms "
            f"against {1000 * self.a100.step_fixed_s:.1f} ms).")
        return lines

    def verdicts(self) -> list[str]:
        """The embedded model's ratios beside the committed replay's cost model, the fit beside
        the measured curve, the tiny model's beside the analytic A100 at its own context."""
        cpu, tiny = self.ratios[self.roles["cpu"]], self.ratios[self.roles["tiny"]]
        gpu_rows = sorted(self.curves[self.roles["gpu"]])
        gpu_here = ratio_table({"gpu": model_steps(self.a100, gpu_rows, self.tiny_context)})
        lines = []
        for pair, measured in cpu.items():
            lines.append(magnitude_line(
                f"step of {pair[1]} rows over {pair[0]}, {self.model_name}", measured,
                self.ratio("committed_fit", pair), "the committed replay's cost model",
                "that model is a line fitted to another run's steps on the same shape, and "
                "step times move with the machine's load"))
            lines.append(magnitude_line(
                f"the cost model fitted here, {pair[1]} rows over {pair[0]}",
                self.ratio("fit", pair), measured, "the measured curve",
                "the step is not linear in its rows here"))
        for pair, measured in tiny.items():
            lines.append(magnitude_line(
                f"step of {pair[1]} rows over {pair[0]}, {self.live_model_name}", measured,
                gpu_here["gpu"][pair], "the analytic A100",
                f"{self.live_model_name}'s step is not a GPU's there"))
        return lines

    def steepest_pair(self) -> tuple[int, int]:
        """The measured CPU curve's pair of most rows over fewest (the chart's headline)."""
        return max(self.ratios[self.roles["cpu"]], key=lambda pair: pair[1] / pair[0])

    def chart_curves(self) -> dict[str, dict[int, float]]:
        """The curves the chart draws: all but the committed replay's cost model (its ratios
        are in the verdicts; its line would sit on the measured one)."""
        return {n: c for n, c in self.curves.items() if n != self.roles["committed_fit"]}

    def _steepest_costs(self, spec: str, measured: str, analytic: str, sep: str) -> str:
        """The steepest pair's step cost on this CPU, the analytic and the fitted A100."""
        fewer, more = self.steepest_pair()
        cpu, gpu, paper = (self.ratio(role, (fewer, more)) for role in ("cpu", "gpu",
                                                                          "gpu_paper"))
        return (f"A step of {more} rows costs {cpu:{spec}}x one of {fewer} on this CPU "
                f"({self.model_name}{measured}),{sep}{gpu:{spec}}x on the analytic A100"
                f"{analytic} {paper:{spec}}x on the A100 fitted to the paper's rows")

    def chart_title(self) -> str:
        return self._steepest_costs(".1f", "", ",", "\n")

    def throughput_gains(self, etr_ratio: float, fewer: int, more: int) -> dict[str, float]:
        """{curve: throughput of batches of `more` over `fewer`} given the ETR ratio between
        them, for every curve with both sizes except the fit (it repeats the measured one)."""
        gains = {}
        for name, curve in self.curves.items():
            ratio = step_ratio(curve, fewer, more)
            if ratio is not None and name != self.roles["fit"]:
                gains[name] = batch_throughput_ratio(etr_ratio, ratio, fewer, more)
        return gains

    def gain_lines(self, gains: dict[str, float], fewer: int, more: int) -> list[str]:
        return [f"{name}: batch {more} over {fewer} gives {gain:.2f}x the throughput on the "
                f"paper's lengths ({direction(gain, words=PAYS)})" for name, gain in gains.items()]

    def takeaway(self) -> str:
        return (self._steepest_costs(".2f", ", measured", " model and", " ")
                + f"; 256 rows cost {self.ratio('gpu', (16, 256)):.1f}x 16 on the "
                f"analytic A100 and {self.ratio('gpu_paper', (16, 256)):.1f}x on the fitted one: "
                "no machine here adds rows for free.")


def paper_fitted_a100(a100: CostModel) -> CostModel:
    """`a100` with its fixed and per-row step costs fitted to the paper's vanilla and oracle +
    VBS + FCR rows (`seqsch.bench.paper_table.fit_step_cost`)."""
    targets = {name: PAPER_ROWS[name]["samples_per_s"] for name in ("vanilla", "oracle+vbs+fcr")}
    return fit_step_cost(paper_workload(), a100, PaperTableConfig(), targets)


def compare_step_costs(model, vocab_size: int, live_model: str, replay_record: dict,
                       rows: Sequence[int], max_model_rows: int, extra_gpu_rows: Sequence[int],
                       gpu_context: int, model_name: str, device: str = "auto"
                       ) -> StepCostComparison:
    """Measure `model`'s step at each of `rows` up to `max_model_rows` and `live_model`'s
    (loaded here) at all of `rows`; fit the linear cost model through the first; take the
    committed replay's cost model (`replay_record`, its vanilla record) at the same rows and
    context; price the A100 models at `rows`, `extra_gpu_rows` and GPU_ROWS."""
    model_costs = measure_step_costs(model, [r for r in rows if r <= max_model_rows], vocab_size)
    tiny, tiny_tokenizer = load_model(live_model, device=device)
    tiny_costs = measure_step_costs(tiny, rows, len(tiny_tokenizer))
    committed = cost_model_of(replay_record)
    if committed is None:
        raise ValueError("the committed replay's record has no fitted cost model to compare with")
    a100 = load_cost_model(A100)
    paper_a100 = paper_fitted_a100(a100)
    roles = {"cpu": f"CPU, measured: {model_name}", "tiny": f"CPU, measured: {live_model}",
             "fit": "CPU, cost model fitted to those steps",
             "committed_fit": "CPU, the committed replay's cost model",
             "gpu": "GPU, analytic A100 model (Vicuna-7B)",
             "gpu_paper": "GPU, A100 model fitted to the paper's rows"}
    cpu_rows, context = sorted(model_costs.curve), model_costs.context
    gpu_rows = sorted({*rows, *extra_gpu_rows, *GPU_ROWS})
    fitted = fit_step_curve(model_costs, "notebook-04-fit", str(model.device))
    curves = {roles["cpu"]: model_costs.curve, roles["tiny"]: tiny_costs.curve,
              roles["fit"]: model_steps(fitted, cpu_rows, context),
              roles["committed_fit"]: model_steps(committed, cpu_rows, context),
              roles["gpu"]: model_steps(a100, gpu_rows, gpu_context),
              roles["gpu_paper"]: model_steps(paper_a100, gpu_rows, gpu_context)}
    return StepCostComparison(curves, roles, context, tiny_costs.context, gpu_context, a100,
                              paper_a100, model_name, live_model)
