"""Run the notebooks headless with papermill and regenerate the figures.

The numbered notebooks (the walk) run in order, then the playground, whose panel saves a still
of its chart (playground_panel.png): a headless run checks that the panel the learner opens
still works. Profiles set each notebook's `parameters` cell: `ci` (small, minutes in all),
`cpu` (the default main job: the full walk on a CPU machine), `gpu` (paper scale). Executed
copies go to build/notebooks/; figures go to figures/ through `$SEQSCH_FIGURES` (the `ci`
profile writes them to build/figures-ci/ so that a test run never overwrites the committed
ones; a notebook run by hand writes to build/figures/, see `seqsch.lab.plots.figure_dir`).
Nothing is written to data/: the notebooks read the shipped results and write their own runs
under build/notebooks/.

    python -m seqsch.lab --profile cpu
    python -m seqsch.lab --profile ci --only 03 playground
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from seqsch.core.paths import BUILD_DIR, FIGURES_DIR, ROOT

NOTEBOOK_DIR = ROOT / "notebooks"
PLAYGROUND = NOTEBOOK_DIR / "playground.ipynb"  # not numbered: no step of the walk

# Values for the UPPER_CASE constants of each notebook's parameters cell; a notebook receives
# only the names its parameters cell defines.
PROFILES: dict[str, dict[str, object]] = {
    "ci": {"NUM_SEEDS": 2, "NUM_DATA": 8, "MAX_NEW_TOKENS": 32, "BATCH_SIZE": 4,
           "NUM_STEPS": 3, "NUM_SIM_DATA": 512,
           "RUN_LIVE": True,  # notebook 03: tune and evaluate live too
           "NUM_REPLAY_DATA": 64, "REPLAY_MAX_NEW_TOKENS": 512, "STEP_ROWS": [1, 4, 16],
           "NUM_CB_DATA": 6, "CB_MAX_NEW_TOKENS": 48, "CB_SLOTS": 2,
           # notebooks 02, 04 and 05: the paper's lengths replayed live on random:tiny, several
           # batches (tests/bench/test_live_slice.py checks every profile's slice)
           "NUM_LIVE_DATA": 64, "LIVE_MAX_NEW_TOKENS": 512,
           # notebook 04: batch sizes of the replay, rows of the step-cost curve
           "TRACE_BATCH_SIZES": [2, 8], "COST_ROWS": [1, 8, 16], "EMBEDDED_MAX_ROWS": 16},
    # notebook 07 replays the paper's 1,024 prompts live on random:tiny on a CPU; its committed
    # 256-prompt run on the 135M shape is the full CPU measurement (README: trace replay)
    "cpu": {"NUM_SEEDS": 8, "NUM_DATA": 16, "MAX_NEW_TOKENS": 96, "BATCH_SIZE": 16,
            "NUM_STEPS": 5, "NUM_SIM_DATA": 1024,
            "RUN_LIVE": False,  # notebook 03 reads the shipped runs only, no live tuning
            "NUM_REPLAY_DATA": 1024, "REPLAY_MAX_NEW_TOKENS": 512,
            "STEP_ROWS": [1, 4, 16, 64, 256],
            "NUM_CB_DATA": 9, "CB_MAX_NEW_TOKENS": 96, "CB_SLOTS": 3,
            "NUM_LIVE_DATA": 256, "LIVE_MAX_NEW_TOKENS": 512,
            "TRACE_BATCH_SIZES": [4, 16, 64], "COST_ROWS": [1, 4, 8, 16, 64, 256],
            "EMBEDDED_MAX_ROWS": 64},
    "gpu": {"NUM_SEEDS": 16, "NUM_DATA": 256, "MAX_NEW_TOKENS": 512, "BATCH_SIZE": 16,
            "NUM_STEPS": 200, "NUM_SIM_DATA": 10000,
            "RUN_LIVE": True,  # notebook 03: tune and evaluate live too
            "NUM_REPLAY_DATA": 1024, "REPLAY_MAX_NEW_TOKENS": 512,
            "STEP_ROWS": [1, 4, 16, 64, 256],
            "NUM_CB_DATA": 128, "CB_MAX_NEW_TOKENS": 256, "CB_SLOTS": 16,
            "NUM_LIVE_DATA": 1024, "LIVE_MAX_NEW_TOKENS": 512,
            "TRACE_BATCH_SIZES": [4, 16, 64, 256], "COST_ROWS": [1, 4, 8, 16, 64, 256],
            "EMBEDDED_MAX_ROWS": 256},
}


def notebook_paths(only: list[str] | None = None, playground: bool = False) -> list[Path]:
    """The numbered notebooks in order, then (`playground`) the playground; `only` keeps those
    whose name starts with one of its entries ("03" or "3", "playground")."""
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) + ([PLAYGROUND] if playground else [])
    if only:
        paths = [p for p in paths if any(p.name.startswith(o.zfill(2)) for o in only)]
        if not paths:
            raise SystemExit(f"no notebook matches --only {only}; see {NOTEBOOK_DIR}")
    return paths


def profile_note(name: str) -> str:
    """What each profile sets the parameter `name` to, as a parameters cell states it in its
    comment, e.g. `(profiles: ci 64 | cpu 256 | gpu 1024)`: a learner who opens an executed
    notebook sees which values `make figures` ran with."""
    if name not in PROFILES["cpu"]:
        raise ValueError(f"no profile sets {name!r}; profiles set {sorted(PROFILES['cpu'])}")
    return "(profiles: " + " | ".join(f"{profile} {values[name]!r}".replace("'", '"')
                                      for profile, values in PROFILES.items()) + ")"


def with_profile_notes(source: str) -> str:
    """A parameters cell's source with every profile-set line's comment ending in its
    `profile_note` (an older note replaced): what `tests/lab/test_notebooks.py` checks."""
    lines = []
    for line in source.splitlines():
        name = line.split("=")[0].strip() if "=" in line and line[:1].isupper() else None
        if name in PROFILES["cpu"]:
            line = line.split(" (profiles: ")[0].rstrip()
            line += (" " if "#" in line else "  # ") + profile_note(name)
        lines.append(line)
    return "\n".join(lines)


def parameter_names(path: Path) -> set[str]:
    """Names assigned in the cell tagged `parameters` (papermill needs exactly one)."""
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{path.name}: {len(tagged)} cells tagged 'parameters', need exactly 1")
    source = "".join(tagged[0]["source"])
    return {line.split("=")[0].strip() for line in source.splitlines()
            if "=" in line and line[:1].isupper()}


def run_notebook(path: Path, profile: str, out_dir: Path, figure_dir: Path) -> float:
    """Execute one notebook; raise RuntimeError naming the notebook and the failing cell."""
    import papermill

    names = parameter_names(path)
    parameters = {k: v for k, v in PROFILES[profile].items() if k in names}
    # the kernel inherits the variable; restored after, so this process keeps its own
    before = os.environ.get("SEQSCH_FIGURES")
    os.environ["SEQSCH_FIGURES"] = str(figure_dir)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(out_dir / path.name), parameters=parameters, kernel_name="python3",
            cwd=str(NOTEBOOK_DIR), progress_bar=False, log_output=False,
            # the kernel's own log (a transport warning at start, the interrupt its shutdown
            # sends) is not the notebook's output: a cell's error still fails the run
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except papermill.PapermillExecutionError as exc:
        raise RuntimeError(
            f"{path.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
            f"(executed copy with the traceback: {out_dir / path.name})"
        ) from None
    finally:
        if before is None:
            os.environ.pop("SEQSCH_FIGURES", None)
        else:
            os.environ["SEQSCH_FIGURES"] = before
    return time.perf_counter() - start


def profile_figure_dir(profile: str) -> Path:
    """Where a headless run saves its figures: the committed figures/, except for `ci`, whose
    small runs must never overwrite them."""
    return BUILD_DIR / "figures-ci" if profile == "ci" else FIGURES_DIR


def run_all(profile: str = "cpu", only: list[str] | None = None) -> dict[str, float]:
    """Run the walk, then the playground (or the notebooks `only` names); wall seconds each."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    out_dir = BUILD_DIR / "notebooks" / profile
    figure_dir = profile_figure_dir(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure_dir.mkdir(parents=True, exist_ok=True)
    wall_s = {}
    for path in notebook_paths(only, playground=True):
        print(f"running {path.name} ({profile}) ...", flush=True)
        wall_s[path.stem] = round(run_notebook(path, profile, out_dir, figure_dir), 1)
        print(f"  done in {wall_s[path.stem]} s", flush=True)
    return wall_s
