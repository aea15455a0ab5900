"""A live slice's orders: each run labelled by what orders it, and first come's answer lengths
handed to the specs after it as the oracle's (the engine calls replaced by a stand-in)."""

from types import SimpleNamespace

import pytest

from seqsch.bench import order_runs
from seqsch.bench.order_runs import LiveOrders, run_orders
from seqsch.bench.specs import SweepConfig


def fake_live() -> LiveOrders:
    requests = [SimpleNamespace(id=f"q{i}") for i in range(3)]
    return LiveOrders(SweepConfig(specs=("continuous",), quiet=True), "model", "tokenizer",
                      requests, [[1], [2], [3]], "decoding")


def test_first_come_lengths_become_the_oracle_of_the_runs_after_it(monkeypatch):
    seen = []

    def fake_run_spec(spec, model, tokenizer, requests, prompts, decoding, known, config):
        seen.append((spec.name, dict(known)))
        lengths = [5, 1, 3]
        run = SimpleNamespace(results=[SimpleNamespace(id=r.id, num_output_tokens=n)
                                       for r, n in zip(requests, lengths)])
        return run, (None if spec.source == "vanilla" else lengths)

    monkeypatch.setattr(order_runs, "run_spec", fake_run_spec)
    runs, predicted = run_orders(fake_live(), ["continuous", "continuous+oracle"])
    assert list(runs) == ["first come", "oracle order"]
    assert seen == [("continuous", {}), ("continuous+oracle", {"q0": 5, "q1": 1, "q2": 3})]
    assert predicted == {"first come": None, "oracle order": [5, 1, 3]}


def test_two_specs_of_one_label_are_refused():
    with pytest.raises(ValueError, match="share a label"):
        run_orders(fake_live(), ["continuous+rank-head", "continuous+length-head"])
