"""An interactive panel over the simulator: pick a workload, a predictor and a cost model, move
a slider, see the waste, the FCR failures and the speed-up.

Choices (seqsch.lab.panel_data): the workload (SmolLM2's 200 validation prompts with every
shipped predictor's predictions, or the paper's 1,024 Vicuna-7B prompts with the stand-in), the
predictor, the cost model (the fitted CPU model or the analytic A100/H100 ones); sliders for
batch, bin and group size (the paper schedules groups of 256 apart; 0 means all at once);
toggles for VBS and FCR. Each change re-simulates vanilla batching and sequence scheduling and
rewrites the numbers and an SVG chart in place (a few milliseconds in the browser); a warning
shows when a batch is bigger than the batches a fitted cost model was timed at.

    from seqsch.lab.widgets import shipped_panel
    panel = shipped_panel()              # SmolLM2 validation lengths, oracle, CPU model, batch 16
    panel.show()                         # in a notebook
    panel.predictor.value = "lora"; panel.fcr.value = True; panel.summaries  # without a browser
    panel.draw()                         # the same numbers as a figure, for plots.save_figure
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from seqsch.lab.panel_data import (
    COST_MODELS,
    WORKLOADS,
    Workload,
    calibration_note,
    check_choice,
    load_workload,
    predictor_labels,
)
from seqsch.scheduling.cost_model import CostModel, load_cost_model
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import simulate

COLOURS = {"vanilla": "#8c8c8c", "scheduled": "#1f77b4"}


class SchedulingPanel:
    """Widgets over `simulate`; `summaries` holds the last result of each strategy."""

    def __init__(self, workload: str | Workload = "smollm2-val", predictor: str = "oracle",
                 cost_model: str | CostModel = "cpu-smollm2-135m", batch_size: int = 16,
                 bin_size: int = 50, group_size: int = 0, vbs: bool = False, fcr: bool = False,
                 noise_std: float = 60.0, seed: int = 0, num_requests: int | None = None):
        self.noise_std, self.seed, self.num_requests = noise_std, seed, num_requests
        self._custom = {workload.name: workload} if isinstance(workload, Workload) else {}
        name = workload.name if isinstance(workload, Workload) else workload
        check_choice("workload", name, [*WORKLOADS, *self._custom])
        self._models: dict[str, CostModel] = {}  # loaded once each
        if isinstance(cost_model, CostModel):
            self._models[cost_model.name] = cost_model
            cost_model = cost_model.name
        check_choice("cost model", cost_model, [*COST_MODELS, *self._models])
        self.workload = widgets.Dropdown(options=[*WORKLOADS, *self._custom], value=name,
                                         description="workload")
        self.predictor = widgets.Dropdown(description="predictor")
        own = [m for m in self._models if m not in COST_MODELS]  # a CostModel passed in
        self.cost_model = widgets.Dropdown(options=[*COST_MODELS, *own], value=cost_model,
                                           description="cost model")
        self.batch_size = widgets.IntSlider(batch_size, min=1, max=128, description="batch size")
        self.bin_size = widgets.IntSlider(bin_size, min=10, max=200, step=10,
                                          description="bin size")
        self.group_size = widgets.IntSlider(group_size, min=0, max=1024, step=16,
                                            description="group size")
        self.vbs = widgets.Checkbox(vbs, description="VBS")
        self.fcr = widgets.Checkbox(fcr, description="FCR")
        self.numbers = widgets.HTML()  # the summary as text
        self.warning = widgets.HTML()  # empty unless a batch is past the cost model's range
        self.chart = widgets.HTML()  # an SVG string: the browser swaps it in place
        self.notes = widgets.HTML()  # what the cost model and the predictor are
        for box, name_ in ((self.numbers, "numbers"), (self.warning, "warning"),
                           (self.chart, "chart"), (self.notes, "notes")):
            box.add_class(f"seqsch-{name_}")
        self.summaries: dict[str, dict] = {}
        self.biggest_batch, self.under_share = 0, 0.0
        self._holding = False
        self._set_workload(predictor, strict=True)
        self.workload.observe(lambda _change: self._set_workload(self.predictor.value), "value")
        for control in (self.predictor, self.cost_model, self.batch_size, self.bin_size,
                        self.group_size, self.vbs, self.fcr):
            control.observe(lambda _change: self.update(), names="value")

    def _set_workload(self, predictor: str, strict: bool = False) -> None:
        """Load the chosen workload and offer only its predictors: keep `predictor` where it
        has it, else the oracle (strict: a clear error instead)."""
        name = self.workload.value
        self.data = self._custom.get(name) or load_workload(name, self.num_requests)
        if strict:
            self.data.predicted(predictor)  # an unknown or unavailable predictor raises here
        holding, self._holding = self._holding, True
        self.predictor.options = self.data.predictors  # what each is: in the notes
        self.predictor.value = predictor if predictor in self.data.predictors else "oracle"
        self.group_size.max = max(16, len(self.data.records))
        self._holding = holding
        self.update()

    def model(self) -> CostModel:
        name = self.cost_model.value
        if name not in self._models:
            self._models[name] = load_cost_model(name)
        return self._models[name]

    def configs(self) -> dict[str, SchedulerConfig]:
        common = {"batch_size": self.batch_size.value, "max_new_tokens": self.data.max_new_tokens,
                  "group_size": self.group_size.value or None}  # 0: one group of all
        return {
            "vanilla": SchedulerConfig("vanilla", **common),
            "scheduled": SchedulerConfig("bin", bin_size=self.bin_size.value,
                                         vbs=self.vbs.value, fcr=self.fcr.value, **common),
        }

    def predicted(self) -> list[int]:
        return self.data.predicted(self.predictor.value, self.noise_std, self.seed)

    def update(self) -> dict[str, dict]:
        """Re-simulate both strategies and rewrite numbers, warning and chart."""
        if self._holding:
            return self.summaries
        true, predicted, model = self.data.true_lengths, self.predicted(), self.model()
        self.biggest_batch = 0
        for name, config in self.configs().items():
            result = simulate(true, [None] * len(true) if name == "vanilla" else predicted,
                              config, model, self.data.prompt_lengths)
            self.summaries[name] = result.summary
            self.biggest_batch = max([self.biggest_batch] + [b.num_rows for b in result.batches])
        self.under_share = sum(p < t for p, t in zip(predicted, true)) / len(true)
        info, warning = calibration_note(model, self.biggest_batch)
        self.numbers.value = escape(self.describe())
        self.warning.value = (f"<b style='color:#b35900'>&#9888; {escape(warning)}</b>"
                              if warning else "")
        self.chart.value = self.chart_svg()
        predictor = self.predictor.value
        labels = predictor_labels()
        note = "; ".join(filter(None, (labels[predictor], self.data.notes.get(predictor))))
        refused = [p for p in labels if p not in self.data.predictors and p != "given"]
        self.notes.value = "<br>".join(escape(line) for line in (
            f"{self.data.name}: {WORKLOADS.get(self.data.name, 'your lengths')}", info,
            f"{predictor}: {note}",
            f"not available for {self.data.name}: {', '.join(refused)}" if refused else "")
            if line)
        return self.summaries

    @property
    def speedup(self) -> float:
        return self.summaries["scheduled"]["samples_per_s"] / self.summaries["vanilla"][
            "samples_per_s"]

    def describe(self) -> str:
        """The numbers the chart shows, as text."""
        vanilla, scheduled = self.summaries["vanilla"], self.summaries["scheduled"]
        fcr = (f"FCR failures {scheduled['failure_ratio']:.1%} (recomputed)" if self.fcr.value
               else "FCR off")
        return (f"batch size {self.batch_size.value} ({self.data.name}, "
                f"{self.predictor.value}, {self.cost_model.value}): effective token ratio "
                f"{vanilla['effective_token_ratio']:.1%} vanilla, "
                f"{scheduled['effective_token_ratio']:.1%} scheduled; "
                f"{vanilla['samples_per_s']:.3f} vs {scheduled['samples_per_s']:.3f} samples/s; "
                f"simulated speed-up {self.speedup:.2f}x; {fcr}; predictions below the true "
                f"length {self.under_share:.0%}; biggest batch {self.biggest_batch} rows")

    def title(self) -> str:
        verdict = "faster" if self.speedup >= 1 else "slower"
        return f"Scheduling runs {self.speedup:.2f}x the vanilla throughput ({verdict})"

    def subtitle(self) -> str:
        failures = self.summaries["scheduled"]["failure_ratio"]
        return (f"FCR recomputes {failures:.0%} of the requests" if self.fcr.value else
                "FCR off") + f"; biggest batch {self.biggest_batch} rows"

    def chart_svg(self, width: int = 640, height: int = 250) -> str:
        """Two bar panels, effective token ratio and throughput, as one SVG string."""
        names = list(self.summaries)
        panels = [("effective token ratio (%)", [100 * self.summaries[n][
            "effective_token_ratio"] for n in names], 100.0, "{:.1f}%"),
            ("throughput (samples/s)", [self.summaries[n]["samples_per_s"] for n in names],
             None, "{:.3f}")]
        top, bottom, panel_w = 66, 34, width / 2
        plot_h = height - top - bottom
        parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
                 f"font-family='sans-serif' font-size='12'>",
                 f"<text x='{width / 2}' y='16' text-anchor='middle' font-size='14' "
                 f"font-weight='bold'>{escape(self.title())}</text><text x='{width / 2}' "
                 f"y='34' text-anchor='middle'>{escape(self.subtitle())}</text>"]
        for k, (label, values, limit, fmt) in enumerate(panels):
            x0, limit = k * panel_w + 40, limit or max(values) * 1.25 or 1.0
            parts.append(f"<text x='{x0 + (panel_w - 60) / 2}' y='54' text-anchor='middle'>"
                         f"{label}</text><line x1='{x0}' y1='{top + plot_h}' "
                         f"x2='{x0 + panel_w - 60}' y2='{top + plot_h}' stroke='black'/>")
            for j, (name, value) in enumerate(zip(names, values)):
                bar_h = max(1.0, plot_h * value / limit)  # a zero bar stays visible
                x = x0 + 20 + j * (panel_w - 60) / 2
                y = top + plot_h - bar_h
                parts.append(
                    f"<rect x='{x:.1f}' y='{y:.1f}' width='{(panel_w - 120) / 2:.1f}' "
                    f"height='{bar_h:.1f}' fill='{COLOURS[name]}'/>"
                    f"<text x='{x + (panel_w - 120) / 4:.1f}' y='{y - 4:.1f}' "
                    f"text-anchor='middle'>{fmt.format(value)}</text>"
                    f"<text x='{x + (panel_w - 120) / 4:.1f}' y='{top + plot_h + 16}' "
                    f"text-anchor='middle'>{name}</text>")
        return "".join(parts) + "</svg>"

    def draw(self):
        """The chart as a matplotlib figure, for static export (save_figure): the same bars,
        their values written on them as in the browser, and every choice in a title, so that
        a still read alone says what was simulated."""
        import matplotlib.pyplot as plt

        names = list(self.summaries)
        colours = [COLOURS[n] for n in names]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        bars = left.bar(names, [self.summaries[n]["effective_token_ratio"] * 100 for n in names],
                        color=colours)
        left.bar_label(bars, fmt="%.1f%%", fontsize=9)
        left.set_ylabel("effective token ratio (%)")
        left.set_ylim(0, 110)
        left.set_title(f"Useful share of decoding work\n{self.data.name}, {self.predictor.value}")
        bars = right.bar(names, [self.summaries[n]["samples_per_s"] for n in names],
                         color=colours)
        right.bar_label(bars, fmt="%.3f", fontsize=9)
        right.margins(y=0.15)
        right.set_ylabel("throughput (samples/s)")
        right.set_title(f"Simulated throughput\n{self.cost_model.value}, batch "
                        f"{self.batch_size.value}, bins of {self.bin_size.value}"
                        + (f", groups of {self.group_size.value}" if self.group_size.value else "")
                        + "".join(f", {k}" for k, on in (("VBS", self.vbs.value),
                                                          ("FCR", self.fcr.value)) if on))
        fig.suptitle(f"{self.title()}\n{self.subtitle()}")
        fig.tight_layout()
        return fig

    def show(self) -> None:
        from IPython.display import display

        # Wrapped, not squeezed: in one row of a narrow notebook the slider tracks shrink to
        # nothing and only the keyboard can move them.
        wrap = widgets.Layout(flex_flow="row wrap")
        choices = widgets.HBox([self.workload, self.predictor, self.cost_model], layout=wrap)
        controls = widgets.HBox([self.batch_size, self.bin_size, self.group_size, self.vbs,
                                 self.fcr], layout=wrap)
        display(widgets.VBox([choices, controls, self.numbers, self.warning, self.chart,
                              self.notes]))


def shipped_panel(workload: str = "smollm2-val", predictor: str = "oracle",
                  cost_model: str = "cpu-smollm2-135m", batch_size: int = 16,
                  **choices) -> SchedulingPanel:
    """The panel on shipped data: SmolLM2's validation lengths, the oracle, the fitted CPU
    model, batch 16 unless told otherwise (`choices`: any other SchedulingPanel argument)."""
    return SchedulingPanel(workload, predictor, cost_model, batch_size, **choices)
