"""Draw page: digits drawn with the mouse on the canvas are read by the pre-trained network."""
import re

import pytest

from browser_helpers import (alert, assert_no_exception, doc_screenshot, draw_strokes, expect, main, metric,
                             metric_value, open_page, wait_for_app, wait_for_images)
from core.drawn_digits import stroke_paths

pytestmark = pytest.mark.browser

# (digit, template style of core.drawn_digits.STROKES, box inside the 280x280 canvas)
DRAWINGS = [
    (1, 0, (60, 35, 220, 245)),    # one vertical stroke
    (7, 0, (60, 40, 220, 240)),    # top bar then the diagonal, one stroke
    (0, 0, (50, 30, 230, 250)),    # a closed elliptical loop
]
NOTHING_DRAWN = "Draw a digit on the canvas"


def _canvas(page):
    canvas = main(page).locator("canvas.upper-canvas")  # Fabric.js's input layer, in the page (no iframe)
    expect(canvas).to_have_count(1)
    expect(canvas).to_be_visible()
    return canvas


def test_drawn_digits_are_read_and_cleared(page, app_url):
    """Draw a 1, a 7 and a 0 in turn; after each: its prediction and chart, then Clear empties the page."""
    open_page(page, app_url, "draw")
    area = main(page)
    for digit, style, box in DRAWINGS:
        expect(alert(area, "info", NOTHING_DRAWN)).to_be_visible()
        expect(metric(area, "Prediction")).to_have_count(0)

        frame = _canvas(page).bounding_box()
        x0, y0, x1, y1 = box
        draw_strokes(page, stroke_paths(digit, style, (frame["x"] + x0, frame["y"] + y0,
                                                       frame["x"] + x1, frame["y"] + y1)))

        expect(metric_value(area, "Prediction"), f"the drawn {digit}").to_have_text(str(digit))
        expect(metric_value(area, "Confidence")).to_have_text(re.compile(r"^\d{1,3}\.\d%$"))
        chart = area.get_by_test_id("stVegaLiteChart")
        expect(chart).to_have_count(1)
        expect(chart.locator("g.role-mark.mark-rect > path")).to_have_count(10)  # the ten probability bars
        expect(area.get_by_test_id("stImageCaption").filter(has_text="What the network sees")).to_be_visible()
        assert_no_exception(page)
        if digit == 7:
            wait_for_images(page)
            doc_screenshot(page, "draw")

        area.get_by_role("button", name="Clear").click()
        expect(metric(area, "Prediction")).to_have_count(0)
        expect(alert(area, "info", NOTHING_DRAWN)).to_be_visible()
        expect(area.get_by_test_id("stVegaLiteChart")).to_have_count(0)
        wait_for_app(page)
        assert_no_exception(page)
