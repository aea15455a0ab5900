"""The scheduling panel in a real browser: JupyterLab on loopback, driven by headless Chromium.

The test opens notebooks/playground.ipynb in JupyterLab, runs every cell from the Run menu,
presses the right arrow key on the focused batch-size slider handle a few times and, for each
press, waits for the panel's chart (an SVG string in an HTML widget, class `seqsch-chart`) and
its numbers (class `seqsch-numbers`) to be rewritten. The redraw time is measured in the page,
from the key event's timestamp to the moment the new chart is in the DOM (and, separately, to
the second animation frame after it, when it has been painted), and likewise for the numbers.
The panel's state (`panel.summaries`, `panel.title()`, `panel.describe()`) is read from the
notebook's own kernel after each redraw: it must change with the slider, the chart on the page
must carry the kernel's title and the numbers on the page must be the kernel's text. Times land
in build/browser/redraw.json (with a screenshot, panel.png) and on one JSON line on stdout.

Needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`) and the
dev extras (`pip install -e .[dev]`: jupyterlab, selenium). Missing pieces skip the test, unless
SEQSCH_REQUIRE_BROWSER=1 (set by .ci/run), which makes them a failure. The notebook file is never
written: autosave is off, and its bytes are restored if anything saved it anyway.

    pytest -m browser -s tests/lab/test_browser.py
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOK = "playground.ipynb"
OUT_DIR = ROOT / "build" / "browser"
CHROMIUM = os.environ.get("SEQSCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SEQSCH_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRED = os.environ.get("SEQSCH_REQUIRE_BROWSER") == "1"

TARGET_MS = 100  # the target, reported
BOUND_MS = 2000  # asserted: generous, so that a loaded 2-core machine does not fail it
NUM_MOVES = 5  # arrow-key presses, one redraw each
SERVER_START_S = 60
NOTEBOOK_RUN_S = 120  # Run All Cells to an idle kernel, all waits together
REDRAW_WAIT_S = 20

# The batch-size slider of the panel: its noUiSlider handle, its readout; the panel's chart.
SLIDER = ("//div[contains(@class,'widget-slider')]"
          "[.//label[normalize-space()='batch size']]")
HANDLE = SLIDER + "//div[contains(@class,'noUi-handle')]"
READOUT = SLIDER + "//div[contains(@class,'widget-readout')]"
CHART = ".seqsch-chart"
NUMBERS = ".seqsch-numbers"
# JupyterLab settings for the test's server: never save the notebook, never ask about news.
SETTINGS = {"docmanager-extension/plugin": {"autosave": False},
            "apputils-extension/notification": {"fetchNews": "false"}}


def _missing() -> list[str]:
    """What this test needs and does not find, each with how to install it."""
    missing = []
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append(f"{path} (apt-get install --no-install-recommends {package})")
    for module, package in (("jupyterlab", "jupyterlab"), ("selenium", "selenium")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"python module {module} (pip install -e '.[dev]', or {package})")
    return missing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http(url: str, method: str = "GET", timeout: float = 5) -> bytes:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


class Lab:
    """A JupyterLab server on 127.0.0.1, token-less, with its config, data, runtime, settings,
    workspaces and checkpoints in a temporary folder (nothing of the user's, nothing written
    beside the notebooks), serving the repository's notebooks with autosave off."""

    def __init__(self, home: Path):
        self.home, self.port, self.start_s = home, _free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyter.log"
        settings = home / "settings"
        for plugin, values in SETTINGS.items():
            path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ)
        for name in ("config", "data", "runtime", "ipython"):
            (home / name).mkdir()
        env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
                   JUPYTER_PLATFORM_DIRS="1")
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
            f"--ServerApp.root_dir={NOTEBOOK_DIR}", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.news_url=None",
            # JupyterLab checkpoints a notebook on opening it: not beside the committed one.
            f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=NOTEBOOK_DIR, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_ready(self, timeout: float = SERVER_START_S) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyter lab exited with {self.process.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                _http(f"{self.url}/api/status", timeout=2)
                self.start_s = time.monotonic() - start
                return self.start_s
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise AssertionError(f"jupyter lab did not answer on {self.url} within {timeout:.0f} s:\n"
                             f"{self.log_tail()}")

    def kernel_ids(self) -> list[str]:
        return [k["id"] for k in json.loads(_http(f"{self.url}/api/kernels"))]

    def stop(self):
        """Kernels first, then the server (its own shutdown, then SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            try:
                for kernel_id in self.kernel_ids():
                    _http(f"{self.url}/api/kernels/{kernel_id}", "DELETE", timeout=10)
                _http(f"{self.url}/api/shutdown", "POST")
            except (OSError, urllib.error.URLError, ValueError):
                pass
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None and self.process.poll() is None:
                    os.killpg(self.process.pid, sig)
                try:
                    self.process.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.log.close()


@pytest.fixture(scope="module")
def stack():
    missing = _missing()
    if missing:
        message = "browser test needs: " + "; ".join(missing)
        if REQUIRED:
            pytest.fail(message + " (SEQSCH_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def notebook_guard():
    """The committed notebook comes out of the test byte for byte as it went in."""
    path = NOTEBOOK_DIR / NOTEBOOK
    before = path.read_bytes()
    yield path
    if path.read_bytes() != before:
        path.write_bytes(before)
        pytest.fail(f"{path} was written during the test (restored)", pytrace=False)


@pytest.fixture
def lab(stack, tmp_path, notebook_guard):
    server = Lab(tmp_path / "jupyter")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def driver(stack, tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a driver
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    browser = webdriver.Chrome(options=options, service=service)
    browser.set_page_load_timeout(60)
    browser.set_script_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


class Page:
    """Waits with readable failures: what was awaited, the server's log, a screenshot."""

    def __init__(self, driver, lab: Lab):
        self.driver, self.lab = driver, lab

    def fail(self, what: str) -> AssertionError:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        shot = OUT_DIR / "failure.png"
        try:
            self.driver.save_screenshot(str(shot))
        except Exception:  # noqa: BLE001 - the screenshot is a courtesy
            shot = None
        return AssertionError(f"{what}\nscreenshot: {shot}\njupyter log tail:\n"
                              f"{self.lab.log_tail()}")

    def until(self, condition, timeout: float, what: str):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition)
        except TimeoutException:
            raise self.fail(f"timed out after {timeout:.0f} s waiting for {what}") from None

    def xpath(self, xpath: str, timeout: float, what: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.until(ec.visibility_of_element_located((By.XPATH, xpath)), timeout, what)

    def kernel_idle(self) -> bool:
        """The notebook has its kernel (not the "No Kernel" it shows while loading), the kernel
        is idle, and no cell waits to run."""
        return self.driver.execute_script(KERNEL_IDLE)

    def raise_on_error(self):
        """Fail at once, with the traceback, when a cell has raised."""
        errors = self.driver.execute_script(NOTEBOOK_ERRORS)
        if errors:
            raise self.fail(f"{NOTEBOOK} raised:\n" + "\n".join(errors))

    def running(self, condition):
        """`condition`, failing fast where the notebook raised meanwhile."""
        def check(driver):
            self.raise_on_error()
            return condition(driver)
        return check

    def chart_text(self) -> str | None:
        """The chart's text (title, bar values, labels) where an SVG chart is on the page."""
        return self.driver.execute_script(
            f"const c = document.querySelector('{CHART} svg'); return c ? c.textContent : null;")

    def dom_numbers(self) -> str | None:
        return self.driver.execute_script(
            f"const n = document.querySelector('{NUMBERS}'); return n ? n.textContent : null;")


def _kernel_numbers(lab: Lab) -> dict:
    """`panel.summaries`, its title and text and the slider's value, from the notebook's
    kernel."""
    kernels = lab.kernel_ids()
    assert len(kernels) == 1, f"expected the notebook's one kernel, the server runs {kernels}"
    kernel_id = kernels[0]
    client = BlockingKernelClient()
    client.load_connection_file(str(lab.home / "runtime" / f"kernel-{kernel_id}.json"))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=10)
        code = ("import json as _json; print(_json.dumps({'batch_size': panel.batch_size.value,"
                " 'summaries': panel.summaries, 'title': panel.title(),"
                " 'text': panel.describe()}))")
        chunks = []
        reply = client.execute_interactive(
            code, store_history=False, timeout=30,
            output_hook=lambda m: chunks.append(m["content"].get("text", ""))
            if m["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return json.loads("".join(chunks))
    finally:
        client.stop_channels()


def _numbers(page: Page) -> dict:
    """The panel's numbers: from its kernel (`panel.summaries`, which the chart is drawn from,
    the chart's title, the numbers' text) and what the page shows (NUMBERS, CHART)."""
    numbers = _kernel_numbers(page.lab)
    summaries = numbers["summaries"]
    return {"batch_size": numbers["batch_size"], "title": numbers["title"],
            "text": numbers["text"],
            "etr": {k: round(v["effective_token_ratio"], 4) for k, v in summaries.items()},
            "samples_per_s": {k: round(v["samples_per_s"], 4) for k, v in summaries.items()},
            "page": page.dom_numbers(), "chart": page.chart_text()}


NOTEBOOK_ERRORS = r"""
return [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
               && /Traceback|^\w+(Error|Exception)\b/m.test(o.textContent))
  .map(o => o.textContent.slice(-2000));
"""

KERNEL_IDLE = """
const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
if (!panel) return false;
const name = panel.querySelector('[data-jp-item-name="kernelName"]');
const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
const queued = [...panel.querySelectorAll('.jp-InputPrompt')]
  .some(p => p.textContent.includes('*'));
return !!name && !!name.textContent.trim() && !name.textContent.includes('No Kernel')
  && !!status && status.getAttribute('data-status') === 'idle' && !queued;
"""

# Armed before each key press: records the key event's timestamp on the handle and, through a
# MutationObserver on the panel's cell, when the chart's markup changes, the second animation
# frame after that (the new chart painted) and when the numbers change, all on the page's clock.
ARM = """
const [handle, chart, numbers] = arguments;
const cell = document.querySelector(chart).closest('.jp-Cell');
const htmlOf = sel => (cell.querySelector(sel) || {}).innerHTML;
const chartBefore = htmlOf(chart), numbersBefore = htmlOf(numbers);
const t = window.__redraw = {key: null, dom: null, painted: null, numbers: null};
handle.addEventListener('keydown', e => { if (t.key === null) t.key = e.timeStamp; },
                        {capture: true, once: true});
const observer = new MutationObserver(() => {
  const now = performance.now();
  if (t.numbers === null && htmlOf(numbers) !== numbersBefore) t.numbers = now;
  if (t.dom === null && htmlOf(chart) !== chartBefore) {
    t.dom = now;
    requestAnimationFrame(() => requestAnimationFrame(() => { t.painted = performance.now(); }));
  }
  if (t.dom !== null && t.numbers !== null) observer.disconnect();
});
observer.observe(cell, {childList: true, subtree: true, characterData: true});
"""


def _ms(timing: dict, key: str) -> float | None:
    return None if timing[key] is None else round(timing[key] - timing["key"], 1)


@pytest.mark.browser
def test_batch_size_slider_redraws_the_chart(lab, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = Page(driver, lab)
    started = time.monotonic()
    driver.get(f"{lab.url}/lab/tree/{NOTEBOOK}")
    page.until(lambda d: d.execute_script(
        "return !document.getElementById('jupyterlab-splash')"
        " && !!document.querySelector('.jp-NotebookPanel .jp-Cell');"),
        60, f"JupyterLab to open {NOTEBOOK}")
    page.until(lambda _: page.kernel_idle(), 60, "the notebook's kernel to start (idle)")
    open_s = time.monotonic() - started

    # Run > Run All Cells, as a reader would.
    started = time.monotonic()
    left = lambda: max(1.0, started + NOTEBOOK_RUN_S - time.monotonic())  # noqa: E731
    page.xpath("//div[contains(@class,'lm-MenuBar-itemLabel')][normalize-space()='Run']",
               10, "the Run menu").click()
    page.xpath("//div[contains(@class,'lm-Menu-itemLabel')][normalize-space()='Run All Cells']",
               10, "Run All Cells in the Run menu").click()
    page.until(page.running(lambda _: page.kernel_idle() and page.chart_text()), left(),
               "the notebook to finish running and the panel's chart")
    page.raise_on_error()
    handle = page.xpath(HANDLE, 10, "the batch-size slider")
    run_s = time.monotonic() - started

    readout = driver.find_element(By.XPATH, READOUT)
    first = int(readout.text)
    numbers, redraws = [_numbers(page)], []
    assert numbers[0]["batch_size"] == first
    for move in range(1, NUM_MOVES + 1):
        driver.execute_script(ARM, handle, CHART, NUMBERS)
        handle.send_keys(Keys.ARROW_RIGHT)  # the focused handle steps by one
        timing = page.until(
            lambda d: (lambda t: t if None not in (t["dom"], t["painted"], t["numbers"])
                       else None)(d.execute_script("return window.__redraw;")),
            REDRAW_WAIT_S, f"the chart and numbers to redraw after key press {move}")
        assert timing["key"] is not None, "the key press never reached the slider handle"
        page.until(lambda _, m=move: readout.text == str(first + m), 5,
                   f"the batch-size readout to show {first + move}")
        redraws.append({"ms": _ms(timing, "dom"), "painted_ms": _ms(timing, "painted"),
                        "numbers_ms": _ms(timing, "numbers")})
        numbers.append(_numbers(page))

    assert [n["batch_size"] for n in numbers] == list(range(first, first + NUM_MOVES + 1))
    for shown in numbers:  # the page shows the kernel's state, not a stale one
        assert shown["title"] in shown["chart"], (shown["title"], shown["chart"])
        assert shown["page"] == shown["text"], (shown["page"], shown["text"])
    for last, new in zip(numbers, numbers[1:]):
        assert (new["etr"], new["samples_per_s"]) != (last["etr"], last["samples_per_s"]), (
            f"the panel's numbers did not change: {new}")
        assert new["page"] != last["page"] and new["chart"] != last["chart"]

    redraw_ms = [r["ms"] for r in redraws]
    record = {
        "test": "browser_redraw", "redraw_ms": redraw_ms,
        "redraw_painted_ms": [r["painted_ms"] for r in redraws],
        "numbers_ms": [r["numbers_ms"] for r in redraws],
        "median_ms": statistics.median(redraw_ms), "max_ms": max(redraw_ms),
        "target_ms": TARGET_MS, "meets_target": max(redraw_ms) < TARGET_MS,
        "median_meets_target": statistics.median(redraw_ms) < TARGET_MS, "bound_ms": BOUND_MS,
        "server_start_s": round(lab.start_s, 2), "open_s": round(open_s, 2),
        "run_all_s": round(run_s, 2), "numbers": numbers,
        "chromium": driver.capabilities.get("browserVersion"),
        "jupyterlab": importlib.metadata.version("jupyterlab"),
        "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    driver.save_screenshot(str(OUT_DIR / "panel.png"))
    (OUT_DIR / "redraw.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))
    assert max(redraw_ms) < BOUND_MS, (
        f"a redraw took {max(redraw_ms):.0f} ms (bound {BOUND_MS} ms, target {TARGET_MS} ms)")


def test_playground_notebook_is_committed_clean():
    book = json.loads((NOTEBOOK_DIR / NOTEBOOK).read_text())
    assert book["metadata"]["kernelspec"]["name"] == "python3"
    assert book["cells"][0]["cell_type"] == "markdown"
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in book["cells"] if c["cell_type"] == "code")
    tagged = [c for c in book["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    names = re.findall(r"^([A-Za-z_]\w*)\s*=", "".join(tagged[0]["source"]), re.M)
    assert names and all(name.isupper() for name in names)
    assert any("shipped_panel(" in "".join(c["source"]) for c in book["cells"])
