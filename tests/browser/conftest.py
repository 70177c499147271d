"""Fixtures of the browser tests: a Streamlit server of the dashboard, Chromium, one page per test.

* ``app_url``: one server for the whole session (``streamlit run dashboard.py`` on a free port);
* ``fresh_app_url``: a server of its own for one test (first-visitor behaviour, e.g. deep links);
* ``browser`` (session) and ``page`` (a new browser context per test, 1400x1000), or
  ``laptop_page`` (1024x768) or ``phone_page`` (390x844 with a touch screen).

Every test leaves a screenshot ``test-artifacts/<test name>.png`` (also when it fails), and each
server's output goes to ``test-artifacts/streamlit-<port>.log``.

Without ``/usr/bin/chromium`` or the ``playwright`` package the tests are skipped, unless the
environment variable ``CI`` is set: then they fail.
"""
import re

import pytest

from app_server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer
from browser_helpers import ARTIFACTS, expect, fail_or_skip, full_screenshot

VIEWPORT = {"width": 1400, "height": 1000}
PHONE_VIEWPORT = {"width": 390, "height": 844}
LAPTOP_VIEWPORT = {"width": 1024, "height": 768}


# ----- the Streamlit server -----------------------------------------------------------------------


def _serve():
    server = StreamlitServer(ARTIFACTS)
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    return server


@pytest.fixture
def own_server(browser_available):
    """A dashboard server of the test's own: its own training queue, and the environment the test
    set before asking for it."""
    server = _serve()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_available():
    """Skip (or, on CI, fail) when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        fail_or_skip(f"{CHROMIUM} is not installed")
    if expect is None:
        fail_or_skip("the 'playwright' Python package is not installed")


@pytest.fixture(scope="session")
def app_server(browser_available):
    """A dashboard server shared by the tests of the session."""
    server = _serve()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_url(app_server):
    """Base URL of the shared dashboard server."""
    return app_server.url


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


def _page_in_new_context(browser, request, **context_options):
    """A page in a new browser context (a new Streamlit session); screenshot saved at the end."""
    context = browser.new_context(accept_downloads=True, **context_options)
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


@pytest.fixture
def page(browser, request):
    """A desktop page, 1400x1000, with a mouse."""
    yield from _page_in_new_context(browser, request, viewport=VIEWPORT)


@pytest.fixture
def laptop_page(browser, request):
    """A small laptop screen, 1024x768, with a mouse (the sidebar stays open)."""
    yield from _page_in_new_context(browser, request, viewport=LAPTOP_VIEWPORT)


@pytest.fixture
def phone_page(browser, request):
    """A phone: 390x844, touch screen, mobile layout."""
    yield from _page_in_new_context(browser, request, viewport=PHONE_VIEWPORT, has_touch=True, is_mobile=True,
                                    device_scale_factor=2)
