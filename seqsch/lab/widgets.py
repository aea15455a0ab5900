"""An interactive panel over the simulator: move a slider, see the waste and the speed-up.

Sliders for batch size, bin size and group size (the paper schedules groups of 256 requests
apart; 0 here means all at once) and toggles for VBS and FCR redraw, instantly, what the simulator
predicts for vanilla batching and for sequence scheduling on the given lengths.

    from seqsch.lab.widgets import SchedulingPanel
    panel = SchedulingPanel(true_lengths, predicted_lengths, cost_model)
    panel.show()            # in a notebook
    panel.batch_size.value = 32; panel.summaries  # the same, without a browser
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import simulate


class SchedulingPanel:
    def __init__(
        self, true_lengths: Sequence[int], predicted_lengths: Sequence[float],
        cost_model: CostModel, max_new_tokens: int = 512,
        prompt_lengths: Sequence[int] | None = None,
    ):
        self.true_lengths, self.predicted = list(true_lengths), list(predicted_lengths)
        self.cost_model, self.max_new_tokens = cost_model, max_new_tokens
        self.prompt_lengths = prompt_lengths
        self.batch_size = widgets.IntSlider(16, min=1, max=128, description="batch size")
        self.bin_size = widgets.IntSlider(50, min=10, max=200, step=10, description="bin size")
        self.group_size = widgets.IntSlider(0, min=0, max=max(16, len(self.true_lengths)),
                                            step=16, description="group size")
        self.vbs = widgets.Checkbox(False, description="VBS")
        self.fcr = widgets.Checkbox(False, description="FCR")
        self.output = widgets.Output()
        self.numbers = widgets.HTML()  # the summary as text, ahead of the figure
        self.numbers.add_class("seqsch-numbers")
        self.summaries: dict[str, dict] = {}
        for control in (self.batch_size, self.bin_size, self.group_size, self.vbs, self.fcr):
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def configs(self) -> dict[str, SchedulerConfig]:
        common = {"batch_size": self.batch_size.value, "max_new_tokens": self.max_new_tokens,
                  "group_size": self.group_size.value or None}  # 0: one group of all
        return {
            "vanilla": SchedulerConfig("vanilla", **common),
            "scheduled": SchedulerConfig("bin", bin_size=self.bin_size.value,
                                         vbs=self.vbs.value, fcr=self.fcr.value, **common),
        }

    def update(self) -> dict[str, dict]:
        """Re-simulate both strategies and redraw; returns the summaries."""
        for name, config in self.configs().items():
            predicted = [None] * len(self.predicted) if name == "vanilla" else self.predicted
            self.summaries[name] = simulate(self.true_lengths, predicted, config,
                                            self.cost_model, self.prompt_lengths).summary
        self.numbers.value = self.describe()
        with self.output:
            self.output.clear_output(wait=True)
            self.draw()
            plt.show()
        return self.summaries

    def describe(self) -> str:
        """The numbers the figure shows, as one line of text."""
        vanilla, scheduled = self.summaries["vanilla"], self.summaries["scheduled"]
        return (f"batch size {self.batch_size.value}: effective token ratio "
                f"{vanilla['effective_token_ratio']:.1%} vanilla, "
                f"{scheduled['effective_token_ratio']:.1%} scheduled; "
                f"{vanilla['samples_per_s']:.3f} vs {scheduled['samples_per_s']:.3f} samples/s; "
                f"simulated speed-up {scheduled['samples_per_s'] / vanilla['samples_per_s']:.2f}x")

    def draw(self):
        names = list(self.summaries)
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
        left.bar(names, [self.summaries[n]["effective_token_ratio"] * 100 for n in names])
        left.set_ylabel("effective token ratio (%)")
        left.set_ylim(0, 100)
        left.set_title("Useful share of decoding work")
        right.bar(names, [self.summaries[n]["samples_per_s"] for n in names], color="tab:green")
        right.set_ylabel("throughput (samples/s)")
        speedup = self.summaries["scheduled"]["samples_per_s"] / self.summaries["vanilla"][
            "samples_per_s"]
        right.set_title(f"Simulated speed-up {speedup:.2f}x")
        fig.tight_layout()
        return fig

    def show(self):
        from IPython.display import display

        # Wrapped, not squeezed: in one row of a narrow notebook the slider tracks shrink to
        # nothing and only the keyboard can move them.
        controls = widgets.HBox([self.batch_size, self.bin_size, self.group_size, self.vbs,
                                 self.fcr], layout=widgets.Layout(flex_flow="row wrap"))
        display(widgets.VBox([controls, self.numbers, self.output]))
