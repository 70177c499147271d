"""Build & Train in Chromium: the "Compare runs" picker and chart after several short runs, and the
axis labels of charts with a single epoch."""
import re
import time

import pytest

from browser_helpers import RUN_TIMEOUT, assert_no_exception, expect, main, open_page, set_epochs, \
    set_training_examples, sidebar, wait_for_app

pytestmark = pytest.mark.browser

RUNS = 4
TRAINING_TIMEOUT = 60_000  # ms

# The chips of the "Runs to overlay" picker, and the runs with points in the runs chart (each point's
# SVG element carries the data row it draws as __data__.datum).
_OVERLAY = """() => {
    const main = document.querySelector('[data-testid=stMain]');
    const chips = Array.from(main.querySelectorAll('[data-testid=stMultiSelect] [data-tag]'))
        .map(tag => tag.getAttribute('aria-label'));
    const plotted = new Set();
    for (const point of main.querySelectorAll('[data-testid=stVegaLiteChart] g.role-mark.mark-symbol > path')) {
        const row = point.__data__ && point.__data__.datum;
        if (row && 'run' in row) plotted.add(row.run);
    }
    return {chips: chips.sort(), plotted: Array.from(plotted).sort()};
}"""

# The tick labels of each axis of each chart: {"<axis description>": [labels]}.
_TICK_LABELS = """() => Array.from(document.querySelectorAll('[data-testid=stMain] [data-testid=stVegaLiteChart]'))
    .flatMap(chart => Array.from(chart.querySelectorAll('g.role-axis[aria-label]')).map(axis => [
        axis.getAttribute('aria-label'),
        Array.from(axis.querySelectorAll('g.role-axis-label text')).map(text => text.textContent)]))"""


def _overlay_becomes(page, expected, timeout=20.0):
    """Wait until the picker's chips and the chart's runs are both ``expected``; return what is shown."""
    expected = sorted(expected)
    deadline = time.monotonic() + timeout
    while True:
        shown = page.evaluate(_OVERLAY)
        if (shown["chips"] == expected and shown["plotted"] == expected) or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(100)


def _train_a_short_run(page, number):
    main(page).get_by_role("button", name="Train a new network").click()
    expect(sidebar(page).get_by_text(f"run-{number} (trained in this session)")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(main(page).get_by_role("button", name="Train a new network")).to_be_enabled(timeout=TRAINING_TIMEOUT)
    wait_for_app(page)


def _picker(page):
    return main(page).get_by_test_id("stMultiSelect").filter(has_text="Runs to overlay")


def _remove(page, label):
    _picker(page).get_by_role("button", name=f"Remove {label}").click()


def _add(page, label):
    _picker(page).locator("input").click()
    page.get_by_role("option", name=label, exact=True).click()
    page.keyboard.press("Escape")


def _assert_readable_ticks(page):
    """Axis labels of charts with one epoch: whole epochs, percentages and costs without padding zeros."""
    axes = page.evaluate(_TICK_LABELS)
    assert len(axes) == 6, axes  # accuracy, cost, runs: an x and a y axis each
    for description, labels in axes:
        assert labels, description
        for label in labels:
            if description.startswith("X-axis"):
                assert re.fullmatch(r"\d+", label), (description, label)
            elif label.endswith("%"):
                assert re.fullmatch(r"\d{1,3}(\.\d{1,2})?%", label), (description, label)
            else:  # a cost: three significant digits at most
                assert re.fullmatch(r"\d+(\.\d+)?", label), (description, label)
                assert len(label.replace(".", "").lstrip("0")) <= 3, (description, label)


def test_the_runs_picker_always_shows_the_runs_plotted(page, app_url):
    open_page(page, app_url, "train")
    set_training_examples(page, ["Home"], 500)
    set_epochs(page, 1)
    labels = [f"run {number}" for number in range(1, RUNS + 1)]
    for number in range(1, RUNS + 1):
        _train_a_short_run(page, number)
        shown = _overlay_becomes(page, labels[:number])
        assert shown == {"chips": labels[:number], "plotted": labels[:number]}, f"after run {number}: {shown}"
        if number == 1:
            _assert_readable_ticks(page)

    for label in labels:  # each chip removes exactly its line, and the run can be picked again
        _remove(page, label)
        others = [other for other in labels if other != label]
        shown = _overlay_becomes(page, others)
        assert shown == {"chips": others, "plotted": others}, f"{label} removed: {shown}"
        _add(page, label)
        shown = _overlay_becomes(page, labels)
        assert shown == {"chips": labels, "plotted": labels}, f"{label} added back: {shown}"
    assert_no_exception(page)
