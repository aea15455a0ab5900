"""The package's layout rules: the tree is the data path.

Layers, from the bottom: core < scheduling < engines < perception < bench < lab. A module imports
only from its own layer or the ones below; no import cycle among seqsch modules; imports inside
functions only for optional heavy packages; command lines (argparse) only in `__main__.py`
entry points, which sit on top of every layer, beside the notebooks; no module over 320 lines."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seqsch"
LAYERS = ("core", "scheduling", "engines", "perception", "bench", "lab")
MAX_LINES = 320
MAX_IN_FUNCTION_IMPORTS = 5
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def seqsch_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported seqsch module, is_inside_a_function) for every import of `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqsch"):
            found.append((node.module, node.col_offset > 0))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.col_offset > 0) for a in node.names
                      if a.name.startswith("seqsch")]
    return found


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_belongs_to_a_layer():
    stray = [module_name(p) for p in MODULES
             if layer_of(module_name(p)) is None and p.name != "__init__.py"]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__main__.py"],
                         ids=lambda p: module_name(p))
def test_a_module_imports_only_from_its_layer_and_below(path):
    own = layer_of(module_name(path))
    upward = [m for m, _ in seqsch_imports(path)
              if layer_of(m) is not None and own is not None and layer_of(m) > own]
    assert not upward, f"{module_name(path)} ({LAYERS[own]}) imports from above: {upward}"


def test_no_import_cycle():
    graph = {module_name(p): {m for m, inner in seqsch_imports(p) if not inner}
             for p in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join(stack + [nxt])}"
            if nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_few_imports_inside_functions():
    inner = [(module_name(p), m) for p in MODULES for m, is_inner in seqsch_imports(p)
             if is_inner]
    assert len(inner) <= MAX_IN_FUNCTION_IMPORTS, inner


def test_no_module_is_too_long():
    long = {module_name(p): n for p in MODULES
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_argparse_only_in_entry_points():
    users = [module_name(p) for p in MODULES if p.name != "__main__.py"
             and "argparse" in p.read_text()]
    assert not users, f"argparse outside __main__.py: {users}"


def test_the_scheduling_layer_loads_neither_torch_nor_numpy():
    """The scheduler and the simulators are pure Python: instant to import behind a slider."""
    modules = sorted(p.stem for p in (PACKAGE / "scheduling").glob("*.py")
                     if p.stem != "__main__")
    code = ("import sys\n" + "".join(f"import seqsch.scheduling.{m}\n" for m in modules)
            + "print(sorted({'torch', 'numpy'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]", f"importing seqsch.scheduling loads {loaded}"


# Modules whose tests live in another module's test file, each with the file that covers it.
# Every other module `seqsch/<layer>/<name>.py` has `tests/<layer>/test_<name>.py`; an entry
# point `seqsch/<layer>/__main__.py` has `tests/<layer>/test_<layer>_main.py` (test files need
# distinct names: the test folders are not packages).
TESTED_ELSEWHERE = {
    "seqsch.core.__main__": "tests/test_cli_errors.py",  # a cache command: its errors only
    "seqsch.lab.__main__": "tests/test_cli_errors.py",  # runs notebooks: tests/lab does that
    "seqsch.bench.provenance": "tests/bench/test_runner.py",  # hashed into every sweep record
    "seqsch.bench.records": "tests/bench/test_report.py",  # read back by every report
    "seqsch.bench.serving_compare": "tests/bench/test_serving_measured.py",
    "seqsch.bench.specs": "tests/bench/test_runner.py",  # parsed by every sweep
    "seqsch.bench.workload": "tests/bench/test_runner.py",
    "seqsch.core.decoding": "tests/engines/test_static.py",  # what the engines decode with
    "seqsch.core.random_weights": "tests/bench/test_replay.py",  # what replay times
    "seqsch.core.requests": "tests/core/test_workloads.py",  # what a workload builds
    "seqsch.engines.reference": "tests/engines/test_static.py",  # the check against generate
    "seqsch.engines.continuous_arrivals": "tests/bench/test_serving_bench.py",
    "seqsch.engines.demo": "tests/engines/test_engines_main.py",  # the command's whole body
    "seqsch.engines.results": "tests/bench/test_report.py",
    "seqsch.engines.vllm_penalty": "tests/engines/test_vllm_engine.py",
    "seqsch.lab.panel_data": "tests/lab/test_widgets.py",  # what the panel draws
    "seqsch.lab.recorded_results": "tests/lab/test_perception_tables.py",
    "seqsch.lab.result_files": "tests/lab/test_perception_tables.py",
    "seqsch.perception.configs": "tests/perception/test_perception_main.py",  # one per command
    "seqsch.perception.lora": "tests/perception/test_experiments.py",  # trained there, tiny
    "seqsch.perception.predictors": "tests/perception/test_experiments.py",
    "seqsch.perception.probe": "tests/perception/test_experiments.py",
    "seqsch.perception.query": "tests/perception/test_experiments.py",
    "seqsch.perception.registry": "tests/perception/test_registry_recorded.py",
    "seqsch.perception.selection": "tests/perception/test_ranking.py",
    "seqsch.scheduling.serving_sweep": "tests/scheduling/test_serving.py",
}
TESTS = PACKAGE.parent / "tests"


def own_test_file(path: Path) -> Path:
    layer = path.parent.name
    name = f"{layer}_main" if path.stem == "__main__" else path.stem
    return TESTS / layer / f"test_{name}.py"


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__init__.py"],
                         ids=module_name)
def test_every_module_has_a_test_file(path):
    module = module_name(path)
    if module in TESTED_ELSEWHERE:
        covering = PACKAGE.parent / TESTED_ELSEWHERE[module]
        assert not own_test_file(path).exists(), f"{module} has its own tests: drop the entry"
        assert covering.is_file(), f"{module}: {covering} is missing"
        assert module in covering.read_text(), f"{covering.name} does not import {module}"
    else:
        assert own_test_file(path).is_file(), (
            f"{module}: add {own_test_file(path).relative_to(PACKAGE.parent)} or name the test "
            "file that covers it in TESTED_ELSEWHERE")
