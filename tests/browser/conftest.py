"""Fixtures of the browser tests: a Streamlit server of the dashboard, Chromium, one page per test.

* ``app_url``: one server for the whole session (``streamlit run dashboard.py`` on a free port);
* ``fresh_app_url``: a server of its own for one test (first-visitor behaviour, e.g. deep links);
* ``browser`` (session) and ``page`` (a new browser context per test, 1400x1000).

Every test leaves a screenshot ``test-artifacts/<test name>.png`` (also when it fails), and each
server's output goes to ``test-artifacts/streamlit-<port>.log``.

Without ``/usr/bin/chromium`` or the ``playwright`` package the tests are skipped, unless the
environment variable ``CI`` is set: then they fail.
"""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_helpers import ARTIFACTS, ROOT, expect, fail_or_skip, full_screenshot

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT = 60.0


# ----- the Streamlit server -----------------------------------------------------------------------


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url):
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except OSError:
        return False


class StreamlitServer:
    """``python -m streamlit run dashboard.py`` in the project root, stopped by its PID."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"streamlit-{self.port}.log"
        self.process = None

    def start(self):
        command = [sys.executable, "-m", "streamlit", "run", "dashboard.py",
                   "--server.headless", "true", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.process.returncode} before answering; "
                                   f"its output:\n{self.log()}")
            if _healthy(self.url):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit did not answer {self.url}/_stcore/health within {SERVER_START_TIMEOUT:.0f} s; "
                           f"its output:\n{self.log()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # this process only, by its PID
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]


def _serve():
    server = StreamlitServer()
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    return server


@pytest.fixture(scope="session")
def browser_available():
    """Skip (or, on CI, fail) when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        fail_or_skip(f"{CHROMIUM} is not installed")
    if expect is None:
        fail_or_skip("the 'playwright' Python package is not installed")


@pytest.fixture(scope="session")
def app_url(browser_available):
    """Base URL of a dashboard server shared by the tests of the session."""
    server = _serve()
    yield server.url
    server.stop()


@pytest.fixture
def fresh_app_url(browser_available):
    """Base URL of a dashboard server started for this test alone (its first visitor is the test)."""
    server = _serve()
    yield server.url
    server.stop()


# ----- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(browser_available):
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``item.rep_call``) for the screenshot finalizer."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _artifact_name(node):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")


@pytest.fixture
def page(browser, request):
    """A page in a new browser context (a new Streamlit session); screenshot saved at the end."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed
    ARTIFACTS.mkdir(exist_ok=True)
    name = _artifact_name(request.node)
    try:
        full_screenshot(page, ARTIFACTS / f"{name}.png", settle=False)
    except Exception as error:  # a crashed page must not hide the test's own failure
        print(f"could not save the screenshot of {name}: {error}")
    if failed and errors:
        (ARTIFACTS / f"{name}.js-errors.txt").write_text("\n".join(errors))
    context.close()
