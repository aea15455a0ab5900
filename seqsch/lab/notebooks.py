"""Run the numbered notebooks headless with papermill and regenerate the figures.

Profiles set each notebook's `parameters` cell: `ci` (small, minutes in all), `cpu` (the
default main job: the full walk on a CPU machine), `gpu` (paper scale). Executed copies go to
build/notebooks/; figures go to figures/ (the `ci` profile writes them to build/figures-ci/ so
that a test run never overwrites the committed ones). Nothing is written to data/: the notebooks
read the shipped results and write their own runs under build/notebooks/.

    python -m seqsch.lab --profile cpu
    python -m seqsch.lab --profile ci --only 03
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from seqsch.core.paths import BUILD_DIR, FIGURES_DIR, ROOT

NOTEBOOK_DIR = ROOT / "notebooks"

# Values for the UPPER_CASE constants of each notebook's parameters cell; a notebook receives
# only the names its parameters cell defines.
# the paper's rows
ALL_REPLAY_SPECS = ("vanilla", "standin", "standin+vbs+fcr", "oracle+vbs+fcr", "oracle")
PROFILES: dict[str, dict[str, object]] = {
    "ci": {"NUM_SEEDS": 2, "NUM_DATA": 8, "MAX_NEW_TOKENS": 32, "BATCH_SIZE": 4,
           "NUM_STEPS": 3, "NUM_SIM_DATA": 512, "NUM_BENCH_DATA": 8, "BENCH_MAX_NEW_TOKENS": 32,
           "RUN_LIVE": True,  # notebook 03: tune and evaluate live too
           "NUM_REPLAY_DATA": 8, "REPLAY_MAX_NEW_TOKENS": 16, "STEP_ROWS": [1, 4, 16],
           "REPLAY_SPECS": list(ALL_REPLAY_SPECS),
           "NUM_CB_DATA": 6, "CB_MAX_NEW_TOKENS": 16, "CB_SLOTS": 2},
    # notebook 07 replays a short slice live on a CPU; its committed 256-prompt run is the
    # full measurement (README: trace replay)
    # sized so that `make figures` runs all seven in about 17 minutes on 2 cores
    "cpu": {"NUM_SEEDS": 8, "NUM_DATA": 16, "MAX_NEW_TOKENS": 96, "BATCH_SIZE": 16,
            "NUM_STEPS": 5, "NUM_SIM_DATA": 1024, "NUM_BENCH_DATA": 16,
            "RUN_LIVE": False,  # notebook 03 reads the shipped runs only, no live tuning
            "BENCH_MAX_NEW_TOKENS": 256, "NUM_REPLAY_DATA": 16, "REPLAY_MAX_NEW_TOKENS": 128,
            # notebook 07's live slice: a smoke check
            "REPLAY_SPECS": ["vanilla", "oracle+vbs+fcr"],
            "STEP_ROWS": [1, 4, 16, 64, 256],
            "NUM_CB_DATA": 9, "CB_MAX_NEW_TOKENS": 96, "CB_SLOTS": 3},
    "gpu": {"NUM_SEEDS": 16, "NUM_DATA": 256, "MAX_NEW_TOKENS": 512, "BATCH_SIZE": 16,
            "NUM_STEPS": 200, "NUM_SIM_DATA": 10000, "NUM_BENCH_DATA": 1024,
            "RUN_LIVE": True,  # notebook 03: tune and evaluate live too
            "BENCH_MAX_NEW_TOKENS": 512, "NUM_REPLAY_DATA": 256, "REPLAY_MAX_NEW_TOKENS": 512,
            "REPLAY_SPECS": list(ALL_REPLAY_SPECS),
            "STEP_ROWS": [1, 4, 16, 64, 256],
            "NUM_CB_DATA": 128, "CB_MAX_NEW_TOKENS": 256, "CB_SLOTS": 16},
}


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o.zfill(2)) for o in only)]
        if not paths:
            raise SystemExit(f"no notebook matches --only {only}; see {NOTEBOOK_DIR}")
    return paths


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
    os.environ["SEQSCH_FIGURES"] = str(figure_dir)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(out_dir / path.name), parameters=parameters, kernel_name="python3",
            cwd=str(NOTEBOOK_DIR), progress_bar=False, log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        raise RuntimeError(
            f"{path.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
            f"(executed copy with the traceback: {out_dir / path.name})"
        ) from None
    return time.perf_counter() - start


def run_all(profile: str = "cpu", only: list[str] | None = None) -> dict[str, float]:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    out_dir = BUILD_DIR / "notebooks" / profile
    figure_dir = BUILD_DIR / "figures-ci" if profile == "ci" else FIGURES_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    figure_dir.mkdir(parents=True, exist_ok=True)
    wall_s = {}
    for path in notebook_paths(only):
        print(f"running {path.name} ({profile}) ...", flush=True)
        wall_s[path.stem] = round(run_notebook(path, profile, out_dir, figure_dir), 1)
        print(f"  done in {wall_s[path.stem]} s", flush=True)
    return wall_s
