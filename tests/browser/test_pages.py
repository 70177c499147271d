"""Home, Imagine and Evaluate render their content; no page shows a traceback."""
import re

import pytest

from browser_helpers import (NAV_LABELS, PAGE_TITLES, assert_app_frame, assert_no_exception, assert_not_truncated,
                             chart_data, doc_screenshot, expect, main, metric_value, navigate, open_page, sidebar,
                             wait_for_app, wait_for_images)

pytestmark = pytest.mark.browser


def test_home(page, app_url):
    open_page(page, app_url, "")
    area = main(page)
    assert_app_frame(page)
    expect(metric_value(area, "Architecture")).to_have_text(re.compile(r"^784( → \d+)* → 10$"))
    for label in ["Architecture", "Parameters", "Epochs trained", "Test accuracy"]:
        assert_not_truncated(metric_value(area, label))
    expect(metric_value(area, "Test accuracy")).to_have_text(re.compile(r"^\d{1,3}\.\d\d%$"))
    for label in NAV_LABELS[1:]:  # the "Where to go next" links
        expect(area.get_by_test_id("stPageLink").filter(has_text=label)).to_have_count(1)
    assert_no_exception(page)
    doc_screenshot(page, "home")


def test_imagine_shows_ten_digits_and_the_neuron_grid(page, app_url):
    open_page(page, app_url, "imagine")
    area = main(page)
    captions = area.get_by_test_id("stImageCaption")
    for digit in range(10):
        expect(captions.filter(has_text=re.compile(rf"^imagined {digit}: network says \d \(\d+%\)$"))).to_have_count(1)
    neurons = captions.filter(has_text=re.compile(r"^neuron \d+$"))
    expect(neurons.first).to_be_visible()
    first_layer = int(sidebar(page).locator("strong").filter(has_text=re.compile(r"^784 → ")).inner_text().split(" → ")[1])
    assert neurons.count() == min(first_layer, 48)  # at most 48 neurons of the first layer are shown
    wait_for_images(page)
    assert page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=stImage] img'))
                                   .every(img => img.naturalWidth > 0)""")
    assert_no_exception(page)
    doc_screenshot(page, "imagine")


def test_evaluate_shows_the_confusion_matrix_and_the_mistakes(page, app_url):
    open_page(page, app_url, "evaluate")
    area = main(page)
    expect(metric_value(area, "Test accuracy")).to_have_text(re.compile(r"^\d{1,3}\.\d\d%$"))
    expect(metric_value(area, "Correct")).to_have_text(re.compile(r"^[\d,]+ of 10,000$"))

    confusion = area.get_by_test_id("stVegaLiteChart").first
    cells = chart_data(confusion, "rect")
    assert len(cells) == 100
    assert {(cell["true"], cell["predicted"]) for cell in cells} == {(str(t), str(p)) for t in range(10)
                                                                     for p in range(10)}
    assert sum(cell["count"] for cell in cells) == 10_000
    correct = int(metric_value(area, "Correct").inner_text().split(" of ")[0].replace(",", ""))
    assert sum(cell["count"] for cell in cells if cell["true"] == cell["predicted"]) == correct

    gallery = area.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"^true \d → \d$"))
    expect(gallery).to_have_count(min(40, 10_000 - correct))  # retried until all have rendered
    wait_for_images(page)
    assert_no_exception(page)
    doc_screenshot(page, "evaluate")


def test_no_page_shows_a_traceback(page, app_url):
    """Every page through the sidebar navigation, in one session, twice round."""
    open_page(page, app_url, "")
    for _ in range(2):
        for label, path in zip(NAV_LABELS, PAGE_TITLES):
            navigate(page, label, path)
            wait_for_app(page)
            expect(main(page).locator("h1")).to_have_count(1)
            assert_app_frame(page)
            assert_no_exception(page)
