"""Close the tab during a long training: the server stops it after the grace period and goes idle.

The test's own server gets a short grace period (``NN_DISCONNECTED_TRAINING_SECONDS``), so the
test takes seconds rather than minutes; everything else is as in production: a real tab closed,
the server process's CPU time measured.
"""
import re
import time

import pytest

from browser_helpers import (RUN_TIMEOUT, expect, main, open_page, set_epochs, set_first_layer, set_training_examples,
                             sidebar)

pytestmark = pytest.mark.browser

GRACE_SECONDS = 6
BUSY = 0.3    # CPU seconds per second: a training is running (on a shared machine)
IDLE = 0.1    # CPU seconds per second: nothing is running
QUIET_SECONDS = 4.0   # idle must last this long
IDLE_DEADLINE = GRACE_SECONDS + 30.0   # seconds after the tab closed


@pytest.fixture
def server(monkeypatch, request):
    """A dashboard server of this test's own, with the short grace period."""
    monkeypatch.setenv("NN_DISCONNECTED_TRAINING_SECONDS", str(GRACE_SECONDS))
    return request.getfixturevalue("own_server")


def cpu_rate(server, seconds):
    """CPU seconds per second the server used over the next ``seconds``."""
    before, started = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) / (time.monotonic() - started)


def seconds_until_idle(server, since):
    """Seconds from ``since`` until the server's CPU had been idle for QUIET_SECONDS; None if it never was."""
    while time.monotonic() - since < IDLE_DEADLINE:
        window_start = time.monotonic()
        if cpu_rate(server, QUIET_SECONDS) < IDLE:
            return window_start - since
        time.sleep(0.5)  # windows overlap enough to catch the stop soon after it happens
    return None


def test_closing_the_tab_during_a_long_training_stops_it_and_the_server_goes_idle(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        open_page(page, server.url, "train")
        set_training_examples(page, ["End", "ArrowLeft"], 30_000)
        set_first_layer(page, 300)
        set_epochs(page, 100)  # about 7×10¹¹ example-parameter steps: several minutes on 2 cores
        main(page).get_by_role("button", name="Train a new network").click()
        expect(sidebar(page).get_by_text(re.compile(r"Training: epoch \d+ of 100"))).to_be_visible(
            timeout=RUN_TIMEOUT)
        training = cpu_rate(server, 3.0)
        assert training > BUSY, f"the server used only {training:.2f} CPU s/s while training"

        page.close()  # the tab is closed: its websocket closes
        closed = time.monotonic()
        within_grace = cpu_rate(server, GRACE_SECONDS - 2)
        assert within_grace > BUSY, f"training stopped before the grace period ended ({within_grace:.2f} CPU s/s)"
        idle_after = seconds_until_idle(server, closed)
    finally:
        context.close()
    assert idle_after is not None, f"the server was still busy {IDLE_DEADLINE:.0f} s after the tab closed"
    print(f"\nwhile training: {training:.2f} CPU s/s; after the tab closed: {within_grace:.2f} CPU s/s within "
          f"the {GRACE_SECONDS} s grace period, idle (< {IDLE} CPU s/s for {QUIET_SECONDS:.0f} s) from "
          f"{idle_after:.1f} s after closing")
    assert idle_after <= GRACE_SECONDS + 10
