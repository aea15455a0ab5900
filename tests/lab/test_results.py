"""The README's headline numbers, the results page, data/'s manifest and figures/ agree with
the files they stand for."""

import json
import re

from seqsch.core.paths import DATA_DIR, FIGURES_DIR, ROOT
from seqsch.lab.notebooks import NOTEBOOK_DIR
from seqsch.lab.results import RESULTS_PAGE, headline_numbers, results_page

README = ROOT / "README.md"


def test_readme_headline_numbers_come_from_the_data():
    n = headline_numbers()
    text = " ".join(README.read_text().split())  # line breaks do not matter
    expected = [
        f"**{n['replay_oracle_x']:.2f}x** vanilla", f"within {n['replay_max_sim_gap']:.0%}",
        f"ETR {n['replay_vanilla_etr']:.1%}", f"sorting alone gives {n['replay_sort_x']:.2f}x",
        f"stand-in drawn to its accuracy reaches {n['replay_standin_x']:.2f}x",
        f"gain shrinks to {n['static_oracle_x']:.2f}x",
        f"already {n['static_vanilla_etr']:.1%}", f"sorting alone: {n['static_sort_x']:.2f}x",
        f"error {n['head_error']:.1f} tokens", f"Acc-100 {n['head_acc100']:.1%}",
        f"module's {n['lora_error']:.1f} tokens",
        f"{n['head_ms']:.0f} ms per prompt against {n['lora_ms']:.0f}",
        f"at {n['vllm_oracle_steps']:.2f} of first come",
        f"order gain {n['rank_order_gain']:.2f} of the oracle's cut",
        f"Kendall's tau {n['rank_tau']:.2f})",
        f"order alone gives {n['vllm_rank_order_steps']:.2f} and "
        f"{n['vllm_rank_order_steps_second']:.2f}",
        f"(the oracle: {n['vllm_oracle_steps']:.2f} and {n['vllm_oracle_steps_second']:.2f})",
        f"costs it {min(n['vllm_rank_predict_s'], n['vllm_rank_predict_s_second']):.0f}-"
        f"{max(n['vllm_rank_predict_s'], n['vllm_rank_predict_s_second']):.0f} s for 128 prompts",
        f"ends at {n['vllm_rank_steps']:.2f} and {n['vllm_rank_steps_second']:.2f} of first come",
        f"orders {n['recorded_num_test']:,} unseen test prompts at Kendall's tau "
        f"{n['recorded_tau']:.2f}", f"order gain {n['recorded_order_gain']:.2f}, for "
        f"{n['recorded_ms']:.0f} ms per prompt, {n['recorded_flops_share']:.2%} of a 7B",
        f"sort by it runs at {n['recorded_sort_x']:.2f}x vanilla (the oracle: "
        f"{n['recorded_oracle_sort_x']:.2f}x; by prompt length: {n['recorded_prompt_sort_x']:.2f}x",
        f"needs tau {n['recorded_static_half_tau']:.2f} for half the oracle's gain, an order "
        f"{n['recorded_order_half_tau']:.2f}",
        f"its prediction counted: {n['recorded_replay_sort_x']:.2f}x (the oracle: "
        f"{n['recorded_replay_oracle_sort_x']:.2f}x)",
    ]
    missing = [phrase for phrase in expected if phrase not in text]
    assert not missing, f"README.md no longer says what data/ says: {missing}"
    assert 0.95 <= n["vllm_oracle_throughput"] <= 1.05  # "at the same throughput"


def test_readme_is_a_guide_and_its_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    page = RESULTS_PAGE.read_text()
    slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
             for h in re.findall(r"^## (.+)$", page, flags=re.M)}
    for anchor in re.findall(r"docs/results\.md#([a-z0-9-]+)", text):
        assert anchor in slugs, f"README links to a missing section: #{anchor}"
    for link in re.findall(r"\]\(((?:notebooks|docs|data|figures)/[^)#]+)", text):
        assert (ROOT / link).exists(), f"README links to a missing file: {link}"


def test_results_page_is_regenerated_not_edited():
    assert RESULTS_PAGE.read_text() == results_page(), (
        "docs/results.md is stale: python -m seqsch.lab --results")


def test_manifest_lists_exactly_what_data_holds():
    text = (DATA_DIR / "MANIFEST.md").read_text()
    listed = set()
    for cell in re.findall(r"^\| (`[^|]+) \|", text, flags=re.M):
        listed |= {name.rstrip("/") for name in re.findall(r"`([^`]+)`", cell)}
    present = {p.name for p in DATA_DIR.iterdir() if not p.name.startswith(".")}
    assert listed == present, f"unlisted: {present - listed}; listed but absent: {listed - present}"


def _saved_figure_names() -> set[str]:
    names = set()
    for path in NOTEBOOK_DIR.glob("*.ipynb"):
        source = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        names |= set(re.findall(
            r"save_figure\([^\n]*?\"(\d\d_[a-z0-9_]+|playground_[a-z0-9_]+)\"", source))
    return names


def test_figures_holds_only_what_the_notebooks_write():
    saved = _saved_figure_names()
    assert saved, "no save_figure call found in the notebooks"
    stray = {p.stem for p in FIGURES_DIR.glob("*")} - saved
    assert not stray, f"figures/ holds files no notebook writes: {sorted(stray)}"
