"""Build & Train: train a small network, stop a long run, keep training while on another page."""
import re

import pytest

from browser_helpers import (RUN_TIMEOUT, alert, assert_no_exception, chart_data, chart_with_title, doc_screenshot,
                             epochs_in, expect, main, metric_value, navigate, open_page, sidebar, wait_for_app)

pytestmark = pytest.mark.browser

FINISHED = re.compile(r"Finished: (\d+) epochs trained, test accuracy (\d+\.\d\d%)\.")
STOPPED = re.compile(r"Stopped: .*The network keeps its (\d+) finished epochs\.")
TRAINING_TIMEOUT = 120_000  # ms


def set_training_examples(page, keys, expected):
    """Move the "Training examples" select_slider with the keyboard (``keys`` pressed in turn)."""
    slider = main(page).get_by_test_id("stSlider").filter(has_text="Training examples")
    thumb = slider.get_by_role("slider")
    thumb.focus()
    for key in keys:
        page.keyboard.press(key)
    expect(thumb).to_have_attribute("aria-valuetext", str(expected))
    # the summary under the diagram comes from the server: the value has arrived there
    expect(main(page).get_by_text(f"{expected:,} examples")).to_be_visible()
    wait_for_app(page)


def set_epochs(page, epochs):
    field = main(page).get_by_test_id("stNumberInput").filter(has_text="Epochs").locator("input")
    field.fill(str(epochs))
    field.press("Enter")
    expect(field).to_have_value(str(epochs))
    wait_for_app(page)


def train(page):
    button = main(page).get_by_role("button", name="Train a new network")
    expect(button).to_be_enabled()
    button.click()
    expect(main(page).get_by_role("button", name="Stop")).to_be_enabled(timeout=RUN_TIMEOUT)


def accuracy_chart(page):
    return chart_with_title(main(page), "Accuracy")


def wait_for_epochs(page, at_least, timeout=TRAINING_TIMEOUT):
    """Wait until the live accuracy chart shows at least ``at_least`` epochs; return its epochs."""
    expect(accuracy_chart(page)).to_be_visible(timeout=timeout)
    page.wait_for_function(
        """n => { const chart = Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart]')).find(
                   el => el.querySelector(`[aria-label="Title text 'Accuracy'"]`));
                 if (!chart) return false;
                 const epochs = new Set(Array.from(chart.querySelectorAll('g.role-mark.mark-symbol > path'))
                   .map(p => p.__data__ && p.__data__.datum && p.__data__.datum.epoch));
                 epochs.delete(undefined);
                 return epochs.size >= n; }""", arg=at_least, timeout=timeout)
    return epochs_in(accuracy_chart(page))


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


def test_train_two_epochs_on_500_examples(train_page):
    page = train_page
    set_training_examples(page, ["Home"], 500)
    set_epochs(page, 2)
    main(page).get_by_role("button", name="Train a new network").click()

    finished = alert(main(page), "success", "Finished:")
    expect(finished).to_be_visible(timeout=TRAINING_TIMEOUT)
    match = FINISHED.search(finished.inner_text())
    assert match, finished.inner_text()
    assert match.group(1) == "2"
    accuracy = match.group(2)

    chart = accuracy_chart(page)
    rows = chart_data(chart)
    assert sorted({row["epoch"] for row in rows}) == [1, 2]
    assert sorted((row["set"], row["epoch"]) for row in rows) == [
        ("training", 1), ("training", 2), ("validation", 1), ("validation", 2)]
    assert all(0.0 <= row["value"] <= 1.0 for row in rows)
    assert epochs_in(chart_with_title(main(page), "Cost")) == [1, 2]

    expect(metric_value(sidebar(page), "Test accuracy")).to_have_text(accuracy)
    expect(sidebar(page).get_by_text("2 epochs trained")).to_be_visible()
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

    assert epochs_in(accuracy_chart(page)) == list(range(1, kept + 1))
    expect(sidebar(page).get_by_text(f"{kept} epochs trained")).to_be_visible()
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
    assert_no_exception(page)
    stop_if_training(page)
    expect(main(page).get_by_role("button", name="Train a new network")).to_be_enabled()
