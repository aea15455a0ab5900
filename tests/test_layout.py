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
