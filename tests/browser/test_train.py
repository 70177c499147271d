"""Build & Train: train a small network, stop a long run, keep training while on another page."""
import re

import pytest

from browser_helpers import (RUN_TIMEOUT, alert, assert_no_exception, chart_data, chart_with_title, doc_screenshot,
                             epochs_field, epochs_in, expect, main, metric_value, navigate, open_page,
                             set_epochs, set_training_examples, sidebar, training_examples_thumb)

pytestmark = pytest.mark.browser

FINISHED = re.compile(r"Finished: (\d+) epochs trained, test accuracy (\d+\.\d\d%)\.")
STOPPED = re.compile(r"Stopped: .*The network keeps the (\d+) epochs? it finished\.")
TRAINING_TIMEOUT = 120_000  # ms


def train(page):
    button = main(page).get_by_role("button", name="Train a new network")
    expect(button).to_be_enabled()
    button.click()
    expect(main(page).get_by_role("button", name="Stop")).to_be_enabled(timeout=RUN_TIMEOUT)


def accuracy_chart(page):
    return chart_with_title(main(page), "Accuracy")


def wait_for_epochs(page, at_least, title="Accuracy", timeout=TRAINING_TIMEOUT):
    """Wait until the live chart ``title`` shows at least ``at_least`` epochs; return its epochs."""
    chart = chart_with_title(main(page), title)
    expect(chart).to_be_visible(timeout=timeout)
    page.wait_for_function(
        """([title, n]) => {
            const chart = Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart]')).find(
                el => el.querySelector(`[aria-label="Title text '${title}'"]`));
            if (!chart) return false;
            const epochs = new Set(Array.from(chart.querySelectorAll('g.role-mark.mark-symbol > path'))
                .map(p => p.__data__ && p.__data__.datum && p.__data__.datum.epoch));
            epochs.delete(undefined);
            return epochs.size >= n; }""", arg=[title, at_least], timeout=timeout)
    return epochs_in(chart)


def stop_if_training(page):
    """Leave no training running on the shared server (best effort, for failed tests)."""
    try:
        stop = main(page).get_by_role("button", name="Stop")
        if stop.count() and stop.is_enabled():
            stop.click()
            expect(alert(main(page), "info", "Stopped:")).to_be_visible()
    except Exception:  # noqa: BLE001 - cleanup must not mask the test's outcome
        pass


@pytest.fixture
def train_page(page, app_url):
    open_page(page, app_url, "train")
    yield page
    if page.url.endswith("/train"):
        stop_if_training(page)


def test_train_two_epochs_on_10000_examples(train_page):
    page = train_page
    set_training_examples(page, ["Home", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight"], 10_000)
    set_epochs(page, 2)
    main(page).get_by_role("button", name="Train a new network").click()

    finished = alert(main(page), "success", "Finished:")
    expect(finished).to_be_visible(timeout=TRAINING_TIMEOUT)
    match = FINISHED.search(finished.inner_text())
    assert match, finished.inner_text()
    assert match.group(1) == "2"
    accuracy = match.group(2)

    chart = accuracy_chart(page)
    wait_for_epochs(page, 2)  # Vega may still be drawing an earlier state of the chart
    rows = chart_data(chart)
    assert sorted({row["epoch"] for row in rows}) == [1, 2]
    assert sorted((row["set"], row["epoch"]) for row in rows) == [
        ("training", 1), ("training", 2), ("validation", 1), ("validation", 2)]
    assert all(0.0 <= row["value"] <= 1.0 for row in rows)
    assert wait_for_epochs(page, 2, "Cost") == [1, 2]

    expect(metric_value(sidebar(page), "Test accuracy")).to_have_text(accuracy)
    expect(sidebar(page).get_by_text("· 2 epochs trained")).to_be_visible()
    expect(sidebar(page).get_by_text("run-1 (trained in this session)")).to_be_visible()
    expect(main(page).get_by_role("button", name="Stop")).to_be_disabled()
    assert_no_exception(page)
    doc_screenshot(page, "train")


def test_stop_keeps_the_finished_epochs(train_page):
    page = train_page
    set_training_examples(page, ["End", "ArrowLeft"], 30_000)
    epochs = 100  # far more than the test waits for
    set_epochs(page, epochs)
    train(page)
    expect(sidebar(page).get_by_text(re.compile(r"Training: epoch \d+ of 100"))).to_be_visible()
    wait_for_epochs(page, 1)

    main(page).get_by_role("button", name="Stop").click()
    stopped = alert(main(page), "info", "Stopped:")
    expect(stopped).to_be_visible(timeout=TRAINING_TIMEOUT)
    match = STOPPED.search(stopped.inner_text())
    assert match, stopped.inner_text()
    kept = int(match.group(1))
    assert 1 <= kept < epochs

    assert wait_for_epochs(page, kept) == list(range(1, kept + 1))
    expect(sidebar(page).get_by_text(f"· {kept} epochs trained")).to_be_visible()
    expect(metric_value(sidebar(page), "Test accuracy")).to_have_text(re.compile(r"^\d{1,3}\.\d\d%$"))
    expect(main(page).get_by_role("button", name="Train a new network")).to_be_enabled()
    expect(main(page).get_by_role("button", name="Stop")).to_be_disabled()
    assert_no_exception(page)


def test_training_goes_on_while_another_page_is_shown(train_page):
    page = train_page
    set_training_examples(page, ["End", "ArrowLeft"], 30_000)
    set_epochs(page, 100)
    train(page)
    before = wait_for_epochs(page, 1)[-1]

    navigate(page, "Draw", "draw")
    expect(main(page).locator("canvas.upper-canvas")).to_be_visible()
    expect(sidebar(page).get_by_text(re.compile(r"Training: epoch \d+ of 100"))).to_be_visible()
    page.wait_for_timeout(3000)  # the point of the test: time passes on another page
    assert_no_exception(page)

    navigate(page, "Build & Train", "train")
    finished = alert(main(page), "success", "Finished:")
    after = wait_for_epochs(page, before + 1)
    assert after[-1] > before or finished.count() == 1
    # the settings of the running network are still in the form
    expect(training_examples_thumb(page)).to_have_attribute("aria-valuetext", "30000")
    expect(epochs_field(page)).to_have_value("100")
    assert_no_exception(page)
    stop_if_training(page)
    expect(main(page).get_by_role("button", name="Train a new network")).to_be_enabled()
