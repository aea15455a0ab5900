"""What prediction quality buys: a static schedule against a continuous order, by Kendall's tau.

The paper sorts a static batch queue by predicted length (and bins it, with VBS and FCR); an
engine that batches continuously can only use a prediction for the order of its queue. A static
schedule pays for every misplaced answer in padding (a batch runs as long as its longest answer),
an order only in the waiting of the requests behind it, so the two forgive noise very
differently. `quality_curve` draws predictions of given Kendall's taus around a list of true
lengths (log-normal noise, the sigma found by bisection) and reports, per tau, the share of the
oracle's gain each setting keeps: the simulator's throughput for the static schedules
(`seqsch.scheduling.simulate`), the 16-slot replay's order gain for the continuous queue
(`seqsch.scheduling.priority.order_gain`). `place_predictor` scores a real predictor the same way.

    from seqsch.bench.quality_curve import QualityCurveConfig, quality_curve, tau_for_share
    rows = quality_curve(true_lengths, QualityCurveConfig(group_size=256))
    tau_for_share(rows, "static_sort_share"), tau_for_share(rows, "order_gain")
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from seqsch.bench.replay import PAPER_PROMPT_TOKENS
from seqsch.perception.evaluation import kendall_tau
from seqsch.scheduling.cost_model import CostModel, load_cost_model
from seqsch.scheduling.priority import order_gain
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import calibrate_fixed_cost, simulate

MAX_BISECTIONS = 60


def noisy_predictions(true_lengths: Sequence[float], noise_sigma: float, seed: int) -> list[float]:
    """log(prediction) = log(true) + sigma * z, one seeded standard normal z per length: the same
    seed draws the same z for every sigma, so tau falls (almost) monotonically as sigma grows."""
    if noise_sigma < 0 or not math.isfinite(noise_sigma):
        raise ValueError(f"noise_sigma must be a finite number >= 0, got {noise_sigma}")
    if any(not length > 0 for length in true_lengths):
        raise ValueError("true lengths must be > 0 (the noise is multiplicative)")
    rng = random.Random(seed)
    draws = [rng.gauss(0.0, 1.0) for _ in true_lengths]
    return [length * math.exp(noise_sigma * z) for length, z in zip(true_lengths, draws)]


def max_noisy_tau(true_lengths: Sequence[float]) -> float:
    """The highest tau-b any noise sigma > 0 gives: noise breaks the ties among equal true lengths
    (e.g. answers cut at the cap), which tau-b then cannot count as concordant, so it stays at
    sqrt(1 - tied pairs / pairs). Only sigma = 0, the true lengths themselves, gives 1."""
    num_pairs = len(true_lengths) * (len(true_lengths) - 1) // 2
    num_tied = sum(k * (k - 1) // 2 for k in Counter(true_lengths).values())
    return math.sqrt(1 - num_tied / num_pairs) if num_pairs else 0.0


def predictions_at_tau(true_lengths: Sequence[float], target_tau: float, seed: int,
                       tolerance: float = 0.01) -> tuple[list[float], float, float]:
    """(predictions, achieved tau, sigma): noisy predictions whose Kendall's tau against the true
    lengths lies within `tolerance` of `target_tau`, sigma found by bisection over one seeded set of
    draws. A target within tolerance of 1 returns the true lengths (sigma 0). With ties in the true
    lengths tau cannot come near 1 otherwise (`max_noisy_tau`): a target between that and 1, or one
    below what pure noise gives, is a ValueError."""
    if not -1 <= target_tau <= 1 or tolerance <= 0:
        raise ValueError(f"need -1 <= target_tau <= 1 and tolerance > 0, got {target_tau}, "
                         f"{tolerance}")
    if len(set(true_lengths)) < 2:
        raise ValueError("the true lengths are all equal: there is no order to predict")
    if 1 - target_tau <= tolerance:
        return list(map(float, true_lengths)), 1.0, 0.0
    ceiling = max_noisy_tau(true_lengths)
    if target_tau > ceiling + tolerance:
        raise ValueError(f"target_tau {target_tau} is out of reach: ties among the true lengths "
                         f"keep the tau of any noisy predictions at or below {ceiling:.3f}")

    def tau_at(sigma: float) -> tuple[list[float], float]:
        predictions = noisy_predictions(true_lengths, sigma, seed)
        return predictions, kendall_tau(predictions, true_lengths)

    low, high = 0.0, 1.0
    predictions, tau = tau_at(high)
    while tau > target_tau + tolerance:  # widen until the noise is strong enough
        if high > 1e3:
            raise ValueError(f"target_tau {target_tau} is below what pure noise gives ({tau:.3f})")
        low, high = high, 2 * high
        predictions, tau = tau_at(high)
    sigma = high
    for _ in range(MAX_BISECTIONS):
        if abs(tau - target_tau) <= tolerance:
            return predictions, tau, sigma
        sigma = (low + high) / 2
        predictions, tau = tau_at(sigma)
        low, high = (sigma, high) if tau > target_tau else (low, sigma)
    raise ValueError(f"no sigma gives tau within {tolerance} of {target_tau} on "
                     f"{len(true_lengths)} lengths (closest {tau:.3f}): use more lengths")


@dataclass
class QualityCurveConfig:
    batch_size: int = 16
    max_new_tokens: int = 512  # answers longer than this are cut to it (censored)
    bin_size: int = 50
    group_size: int | None = 256  # None: the whole list is one group
    num_slots: int = 16  # slots of the continuous replay
    # a name or path for `load_cost_model`, or a CostModel (e.g. one calibrated elsewhere)
    cost_model: str | CostModel = "a100-80gb-vicuna7b"
    calibrate_to: float | None = None  # vanilla samples/s to calibrate its fixed step cost on
    taus: tuple[float, ...] = (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0)
    num_seeds: int = 3  # each row averages the draws of seeds seed .. seed + num_seeds - 1
    seed: int = 0
    tolerance: float = 0.01  # of the achieved tau around each target
    prompt_len: int = PAPER_PROMPT_TOKENS  # when no prompt lengths are given

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_new_tokens", "bin_size", "num_slots", "num_seeds",
                     "prompt_len"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.group_size is not None and self.group_size < 1:
            raise ValueError(f"group_size must be a positive integer or None, got "
                             f"{self.group_size!r}")
        self.taus = tuple(float(tau) for tau in self.taus)
        if not self.taus or any(not -1 <= tau <= 1 for tau in self.taus):
            raise ValueError(f"taus must be one or more values in [-1, 1], got {self.taus}")
        if self.calibrate_to is not None and not self.calibrate_to > 0:
            raise ValueError(f"calibrate_to must be a positive rate or None, got "
                             f"{self.calibrate_to!r}")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must lie in (0, 1), got {self.tolerance}")
        self.model()  # unknown names fail here, listing the known ones

    def model(self) -> CostModel:
        if isinstance(self.cost_model, CostModel):
            return self.cost_model
        return load_cost_model(self.cost_model)

    def scheduler(self, strategy: str, vbs_fcr: bool = False) -> SchedulerConfig:
        return SchedulerConfig(strategy=strategy, batch_size=self.batch_size,
                               max_new_tokens=self.max_new_tokens, bin_size=self.bin_size,
                               vbs=vbs_fcr, fcr=vbs_fcr, group_size=self.group_size)


@dataclass
class _Bench:
    """A workload, censored at the cap, with its cost model and the baselines of every share."""

    lengths: list[int]
    prompt_lengths: list[int]
    config: QualityCurveConfig
    cost_model: CostModel

    def run(self, predictions: Sequence[float] | None, strategy: str, vbs_fcr: bool) -> dict:
        predicted = predictions if predictions is not None else [None] * len(self.lengths)
        return simulate(self.lengths, predicted, self.config.scheduler(strategy, vbs_fcr),
                        self.cost_model, self.prompt_lengths).summary

    def __post_init__(self) -> None:
        self.vanilla = self.run(None, "vanilla", False)["samples_per_s"]
        self.oracle_sort = self.run(self.lengths, "sort", False)["samples_per_s"]
        self.oracle_vbs_fcr = self.run(self.lengths, "bin", True)["samples_per_s"]

    def share(self, rate: float, oracle: float) -> float | None:
        return (rate - self.vanilla) / (oracle - self.vanilla) if oracle > self.vanilla else None

    def metrics(self, predictions: Sequence[float]) -> dict:
        sort, vbs_fcr = self.run(predictions, "sort", False), self.run(predictions, "bin", True)
        return {"kendall_tau": kendall_tau(predictions, self.lengths),
                "static_sort_share": self.share(sort["samples_per_s"], self.oracle_sort),
                "vbs_fcr_share": self.share(vbs_fcr["samples_per_s"], self.oracle_vbs_fcr),
                "sort_x_vanilla": sort["samples_per_s"] / self.vanilla,
                "vbs_fcr_x_vanilla": vbs_fcr["samples_per_s"] / self.vanilla,
                "vbs_fcr_failure_ratio": vbs_fcr["failure_ratio"],
                "order_gain": order_gain(predictions, self.lengths, self.config.num_slots),
                "oracle_sort_x_vanilla": self.oracle_sort / self.vanilla,
                "oracle_vbs_fcr_x_vanilla": self.oracle_vbs_fcr / self.vanilla}


def _bench(true_lengths: Sequence[int], config: QualityCurveConfig,
           prompt_lengths: Sequence[int] | None) -> _Bench:
    if not true_lengths or min(true_lengths) < 1:
        raise ValueError("need one or more true lengths, each >= 1 (EOS counts)")
    if prompt_lengths is not None and len(prompt_lengths) != len(true_lengths):
        raise ValueError(f"{len(prompt_lengths)} prompt lengths for {len(true_lengths)} answers")
    censored = [min(int(length), config.max_new_tokens) for length in true_lengths]
    prompts = list(prompt_lengths) if prompt_lengths is not None else [config.prompt_len] * len(
        censored)
    cost_model = config.model()
    if config.calibrate_to is not None:  # as the paper's table does, on this workload's vanilla
        cost_model = calibrate_fixed_cost(cost_model, censored, config.scheduler("vanilla"),
                                          config.calibrate_to, prompts)
    return _Bench(censored, prompts, config, cost_model)


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else statistics.fmean(values)


def quality_curve(true_lengths: Sequence[int], config: QualityCurveConfig | None = None,
                  prompt_lengths: Sequence[int] | None = None) -> list[dict]:
    """One row per target tau of `config.taus`: the achieved tau and sigma, the shares of the
    oracle's gain of the static sort (`static_sort_share`), of bin + VBS + FCR (`vbs_fcr_share`,
    below 0 where FCR's recomputation costs more than the bins save), both schedules' and their
    oracles' ratios to vanilla, FCR's failure ratio and the continuous `order_gain`, each averaged
    over `config.num_seeds` draws. A share is None when its oracle does not beat vanilla."""
    config = config or QualityCurveConfig()
    bench = _bench(true_lengths, config, prompt_lengths)
    rows = []
    for target in config.taus:
        draws = [predictions_at_tau(bench.lengths, target, config.seed + k, config.tolerance)
                 for k in range(config.num_seeds)]
        scored = [bench.metrics(predictions) for predictions, _, _ in draws]
        row = {"target_tau": target, "sigma": statistics.fmean(sigma for _, _, sigma in draws)}
        row |= {key: _mean([metrics[key] for metrics in scored]) for key in scored[0]}
        rows.append(row | {"num_seeds": config.num_seeds, "num_requests": len(bench.lengths)})
    return rows


def place_predictor(true_lengths: Sequence[int], predictions: Sequence[float],
                    config: QualityCurveConfig | None = None,
                    prompt_lengths: Sequence[int] | None = None) -> dict:
    """A real predictor's point on the curve: the metrics of a `quality_curve` row for its
    `predictions` (measured tau against the censored true lengths in `kendall_tau`)."""
    config = config or QualityCurveConfig()
    if len(predictions) != len(true_lengths):
        raise ValueError(f"{len(predictions)} predictions for {len(true_lengths)} true lengths")
    bench = _bench(true_lengths, config, prompt_lengths)
    return bench.metrics([float(p) for p in predictions]) | {"num_requests": len(bench.lengths)}


def share_at_tau(curve_rows: Sequence[dict], key: str, tau: float) -> float | None:
    """The curve's `key` at Kendall's tau `tau`, linear between the rows around it (by achieved
    tau); None outside the curve's range of taus or where a needed value is None."""
    points = sorted((row["kendall_tau"], row[key]) for row in curve_rows if row[key] is not None)
    for (tau_low, low), (tau_high, high) in zip(points, points[1:]):
        if tau_low <= tau <= tau_high:
            weight = (tau - tau_low) / (tau_high - tau_low) if tau_high > tau_low else 0.0
            return low + weight * (high - low)
    return points[0][1] if len(points) == 1 and points[0][0] == tau else None


def tau_for_share(curve_rows: Sequence[dict], key: str, share: float = 0.5) -> float | None:
    """The lowest Kendall's tau at which the curve's `key` reaches `share`: linear between the
    first pair of rows (by achieved tau) that crosses it, the lowest row's tau if that one already
    reaches it, None if no row does."""
    points = sorted((row["kendall_tau"], row[key]) for row in curve_rows if row[key] is not None)
    if not points:
        return None
    if points[0][1] >= share:
        return points[0][0]
    for (tau_low, low), (tau_high, high) in zip(points, points[1:]):
        if low < share <= high:
            return tau_low + (share - low) / (high - low) * (tau_high - tau_low)
    return None
