"""Draw page for a newcomer, in Chromium: a tap is not read as a digit at any pen width, the canvas
is never clipped (1024 px with the sidebar open), and the reading sits beside the canvas on a
desktop and right under it on a phone."""
import time

import numpy as np
import pytest

from browser_helpers import (alert, assert_no_exception, assert_not_truncated, canvas_pixels, draw_strokes, expect,
                             in_canvas, main, metric, metric_value, open_page, sideways_overflow, touch_strokes,
                             wait_for_app)
from drawn_digits import hand_drawn_strokes

pytestmark = pytest.mark.browser

NOTHING_TO_READ = "Nothing to read"
SCREENS = {"1024x768": {"width": 1024, "height": 768}, "1400x1000": {"width": 1400, "height": 1000}}

_NOT_CANVAS_AT = """points => points.filter(([x, y]) => {
    let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) {  // the canvas lives in an open shadow root
        const inner = el.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === el) break;
        el = inner;
    }
    return !(el && el.matches('canvas.upper-canvas'));
})"""


def _canvas_box(page):
    canvas = main(page).locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    return canvas.bounding_box()


def _rim(box, inset=2, step=10):
    """Points just inside the edges of ``box``, every ``step`` px: where clipping or a cover shows."""
    left, top = box["x"] + inset, box["y"] + inset
    right, bottom = box["x"] + box["width"] - inset, box["y"] + box["height"] - inset
    xs, ys = np.arange(left, right, step).tolist() + [right], np.arange(top, bottom, step).tolist() + [bottom]
    return [(x, y) for x in xs for y in (top, bottom)] + [(x, y) for y in ys for x in (left, right)]


def _points_off_the_canvas(page, points, timeout=3.0):
    """Those of ``points`` where something else than the canvas is hit, once the page has had
    ``timeout`` s to settle (the script that moves the canvas's toolbar up needs a frame or two)."""
    deadline = time.monotonic() + timeout
    while (missed := page.evaluate(_NOT_CANVAS_AT, points)) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return missed


def _draw_a_seven(page, draw=draw_strokes):
    strokes, _ = hand_drawn_strokes(7, 4, style=3)  # the bar, then the stem
    draw(page, [in_canvas(page, stroke) for stroke in strokes], pause=0.3)
    expect(metric_value(main(page), "Prediction")).to_have_text("7")
    wait_for_app(page)


def _set_stroke_width(page, key, width):
    thumb = main(page).get_by_test_id("stSlider").filter(has_text="Stroke width").get_by_role("slider")
    thumb.focus()
    page.keyboard.press(key)
    expect(thumb).to_have_attribute("aria-valuetext", str(width))
    wait_for_app(page)
    _canvas_box(page)  # a new pen is a new canvas: wait until it is there


def _ink_extent(pixels):
    rows, cols = np.flatnonzero(pixels[..., 3].max(axis=1) > 127), np.flatnonzero(pixels[..., 3].max(axis=0) > 127)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_a_tap_is_not_read_at_any_pen_width(page, app_url):
    open_page(page, app_url, "draw")
    for key, width in [(None, 20), ("Home", 8), ("End", 40)]:
        if key:
            _set_stroke_width(page, key, width)
        draw_strokes(page, [in_canvas(page, [(140, 140)])])  # a single tap
        expect(alert(main(page), "info", NOTHING_TO_READ)).to_be_visible()
        expect(metric(main(page), "Prediction")).to_have_count(0)
        height, across = _ink_extent(canvas_pixels(page))  # the tap did leave a dot of the pen
        assert width - 2 <= height <= width + 2 and width - 2 <= across <= width + 2, (width, height, across)
        main(page).get_by_role("button", name="Clear").click()
        expect(alert(main(page), "info", "Draw a digit on the canvas")).to_be_visible()
        wait_for_app(page)
    assert_no_exception(page)


@pytest.mark.parametrize("screen", SCREENS)
def test_the_canvas_is_whole_and_the_reading_beside_it(page, app_url, screen):
    """1024 px wide with the sidebar open (a small laptop) and 1400 px: no part of the canvas is
    clipped or covered, and the reading is to its right, its texts whole."""
    page.set_viewport_size(SCREENS[screen])  # before the page loads: as a browser of that size
    open_page(page, app_url, "draw")
    expect(page.get_by_test_id("stSidebar")).to_be_visible()
    box = _canvas_box(page)
    viewport = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    missed = _points_off_the_canvas(page, _rim(box))
    assert not missed, f"the canvas is clipped or covered at {missed}"

    _draw_a_seven(page)
    reading = metric(main(page), "Prediction").bounding_box()
    assert reading["x"] >= box["x"] + box["width"], "the reading is not beside the canvas"
    assert_not_truncated(main(page))
    overflow = sideways_overflow(page)
    assert overflow <= 0, f"the page scrolls {overflow} px sideways"
    assert_no_exception(page)


def test_on_a_phone_the_prediction_is_right_under_the_canvas(phone_page, app_url):
    """390x844: after a digit drawn with a finger, the prediction is the next thing under the canvas
    (within 48 px) and whole on the first screen, without scrolling."""
    page = phone_page
    open_page(page, app_url, "draw")
    canvas = _canvas_box(page)
    _draw_a_seven(page, draw=touch_strokes)
    assert main(page).evaluate("el => el.scrollTop") == 0
    prediction = metric(main(page), "Prediction").bounding_box()
    gap = prediction["y"] - (canvas["y"] + canvas["height"])
    assert 0 <= gap <= 48, f"{gap:.0f} px between the canvas and the prediction"
    assert prediction["y"] + prediction["height"] <= page.viewport_size["height"]
    assert_no_exception(page)
