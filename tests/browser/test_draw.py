"""Draw page: digits drawn the way people draw them are read whole, and the page then rests.

Every check compares what the page reads ("What the network sees", the 28x28 input) with
``to_mnist`` of the canvas's own pixels, taken from the browser at that moment: the reading
must be of everything on the canvas, whatever the pace of the strokes.
"""
import re
import time

import numpy as np
import pytest

from browser_helpers import (alert, assert_no_exception, canvas_pixels, doc_screenshot, draw_strokes, expect,
                             in_canvas, main, metric, metric_value, navigate, open_page, script_runs,
                             seen_pixels, set_epochs, sideways_overflow, touch_strokes, wait_for_app, wait_for_images)
from drawn_digits import MULTI_STROKE_STYLES, hand_drawn_strokes
from core.preprocess import to_mnist

pytestmark = pytest.mark.browser

NOTHING_DRAWN = "Draw a digit on the canvas"
PACES = [0.0, 0.3, 1.5]  # seconds between lifting the pen and the next stroke
DRAWINGS = [(digit, style, seed) for seed in range(3) for digit, style in MULTI_STROKE_STYLES][:30]
READ_TIMEOUT = 15.0  # s: the reading of the last stroke must arrive within this
QUIET_WINDOW = 1.0   # s watched after the reading for any further script run


def _canvas(page):
    canvas = main(page).locator("canvas.upper-canvas")  # Fabric.js's input layer
    expect(canvas).to_have_count(1)
    expect(canvas).to_be_visible()
    return canvas


def _expected_seen(pixels):
    seen = to_mnist(pixels)
    return None if seen is None else (seen * 255).round().astype(np.uint8)


def wait_until_read(page, timeout=READ_TIMEOUT):
    """Wait until the page reads what the canvas shows; return (canvas pixels, 28x28 seen).

    Fails with both images' difference if the page settles on a reading of something else.
    """
    deadline = time.monotonic() + timeout
    while True:
        pixels = canvas_pixels(page)
        expected, seen = _expected_seen(pixels), seen_pixels(page)
        if expected is not None and seen is not None and np.abs(seen.astype(int) - expected).max() <= 1:
            return pixels, seen
        if time.monotonic() > deadline:
            detail = "nothing" if seen is None else f"an image differing by up to {np.abs(seen.astype(int) - expected).max()}"
            pytest.fail(f"after {timeout:.0f} s the page reads {detail}, not the canvas's drawing")
        page.wait_for_timeout(100)


def assert_quiet(page, app_server=None):
    """No script run (and, given the server, almost no server CPU) once the reading is shown."""
    wait_for_app(page)
    runs, cpu = script_runs(page), app_server.cpu_seconds() if app_server else None
    page.wait_for_timeout(1000 * QUIET_WINDOW)
    assert script_runs(page) == runs, "the page kept rerunning after the last stroke was read"
    if app_server:
        used = app_server.cpu_seconds() - cpu
        assert used < 0.15, f"the idle server used {used:.2f} s of CPU in {QUIET_WINDOW} s"


def assert_strokes_on_canvas(pixels, strokes):
    """Every stroke drawn is on the canvas: ink under each stroke's middle point."""
    for number, stroke in enumerate(strokes, 1):
        x, y = stroke[len(stroke) // 2]
        assert pixels[int(round(y)), int(round(x)), 3] > 0, f"stroke {number} of {len(strokes)} is missing"


def prediction(page):
    return metric_value(main(page), "Prediction").inner_text()


def clear(page):
    main(page).get_by_role("button", name="Clear").click()
    expect(alert(main(page), "info", NOTHING_DRAWN)).to_be_visible()
    expect(metric(main(page), "Prediction")).to_have_count(0)
    wait_for_app(page)


@pytest.mark.parametrize("pace", PACES, ids=lambda pace: f"{pace}s-between-strokes")
def test_digits_drawn_in_several_strokes_are_read_whole(page, app_server, pace):
    """30 multi-stroke digits (a 4 in two or three strokes, a 5 with a separate bar, a 7 with a
    crossbar, a 0 in two halves...): each reading is of the whole final canvas, no stroke is
    lost, the page rests afterwards, and the shipped model reads at least 95% of them right."""
    open_page(page, app_server.url, "draw")
    _canvas(page)
    script_runs(page)
    wrong = []
    for number, (digit, style, seed) in enumerate(DRAWINGS):
        strokes, _ = hand_drawn_strokes(digit, seed, style=style)
        draw_strokes(page, [in_canvas(page, stroke) for stroke in strokes], pause=pace)
        pixels, _ = wait_until_read(page)
        assert_strokes_on_canvas(pixels, strokes)
        if number % 5 == 0:
            assert_quiet(page, app_server)
        if prediction(page) != str(digit):
            wrong.append(f"{digit} (style {style}, seed {seed}) read as {prediction(page)}")
        clear(page)
    assert_no_exception(page)
    accuracy = 1 - len(wrong) / len(DRAWINGS)
    print(f"\n{len(DRAWINGS)} multi-stroke digits at {pace} s between strokes: {accuracy:.1%} read right; "
          f"wrong: {wrong or 'none'}")
    assert accuracy >= 0.95, wrong


def test_undo_redo_delete_reset_and_clear_are_followed_by_the_reading(page, app_url):
    open_page(page, app_url, "draw")
    area = main(page)
    strokes, _ = hand_drawn_strokes(4, 0, style=0)  # a 4 in two strokes
    draw_strokes(page, [in_canvas(page, stroke) for stroke in strokes], pause=0.3)
    whole, _ = wait_until_read(page)
    expect(metric_value(area, "Prediction")).to_have_text("4")
    wait_for_images(page)
    doc_screenshot(page, "draw")  # the README's picture: a 4 in two strokes, read

    tool = lambda name: area.get_by_role("button", name=name, exact=True)  # noqa: E731 - the canvas's toolbar
    tool("Undo").click()
    first_stroke, _ = wait_until_read(page)
    assert first_stroke[..., 3].sum() < whole[..., 3].sum()
    assert_strokes_on_canvas(first_stroke, strokes[:1])
    assert_quiet(page)

    tool("Redo").click()
    again, _ = wait_until_read(page)
    np.testing.assert_array_equal(again[..., 3] > 0, whole[..., 3] > 0)
    expect(metric_value(area, "Prediction")).to_have_text("4")

    # edit mode: select the vertical stroke and delete it, the reading is of what remains
    tool("Edit").click()
    x, y = in_canvas(page, [strokes[1][len(strokes[1]) // 2]])[0]
    page.mouse.click(x, y)
    expect(tool("Delete selected")).to_be_enabled()
    tool("Delete selected").click()
    remaining, _ = wait_until_read(page)
    assert_strokes_on_canvas(remaining, strokes[:1])
    tool("Edit").click()

    tool("Reset canvas & history").click()  # the bin: an empty canvas, nothing to read
    expect(alert(area, "info", NOTHING_DRAWN)).to_be_visible()
    expect(metric(area, "Prediction")).to_have_count(0)
    assert canvas_pixels(page)[..., 3].max() == 0
    assert_quiet(page)

    draw_strokes(page, [in_canvas(page, stroke) for stroke in strokes])
    wait_until_read(page)
    clear(page)
    assert canvas_pixels(page)[..., 3].max() == 0
    assert_quiet(page)
    assert_no_exception(page)


def _thickness(alpha, x=None, y=None):
    """Pixels of solid ink across a stroke: down column ``x`` or along row ``y``."""
    line = alpha[:, x] if x is not None else alpha[y, :]
    return int(np.count_nonzero(line > 127))


def test_changing_the_stroke_width_keeps_the_drawing(page, app_url):
    open_page(page, app_url, "draw")
    upright = [(80.0 + 0.01 * i, 40.0 + 4 * i) for i in range(51)]
    draw_strokes(page, [in_canvas(page, upright)])
    before, seen_before = wait_until_read(page)
    assert 18 <= _thickness(before[..., 3], y=140) <= 22  # the default pen: 20 px

    thumb = main(page).get_by_test_id("stSlider").filter(has_text="Stroke width").get_by_role("slider")
    thumb.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(thumb).to_have_attribute("aria-valuetext", "30")
    wait_for_app(page)
    after, seen_after = wait_until_read(page)
    np.testing.assert_array_equal(after, before)  # the stroke drawn is untouched
    np.testing.assert_array_equal(seen_after, seen_before)

    across = [(140.0 + 2 * i, 140.0 + 0.01 * i) for i in range(56)]
    draw_strokes(page, [in_canvas(page, across)])  # drawn with the wider pen
    both, _ = wait_until_read(page)
    assert_strokes_on_canvas(both, [upright, across])
    assert 18 <= _thickness(both[..., 3], y=140 - 40) <= 22
    assert 28 <= _thickness(both[..., 3], x=200) <= 32
    assert_quiet(page)


def test_the_drawing_and_its_reading_survive_a_page_switch(page, app_url):
    open_page(page, app_url, "draw")
    strokes, _ = hand_drawn_strokes(5, 2, style=0)  # a 5 with a separate top bar
    draw_strokes(page, [in_canvas(page, stroke) for stroke in strokes], pause=0.3)
    drawn, _ = wait_until_read(page)
    expect(metric_value(main(page), "Prediction")).to_have_text("5")

    navigate(page, "Imagine", "imagine")
    wait_for_app(page)
    navigate(page, "Draw", "draw")
    back, _ = wait_until_read(page)  # the canvas shows the drawing, and the page reads it
    np.testing.assert_array_equal(back[..., 3] > 0, drawn[..., 3] > 0)
    expect(metric_value(main(page), "Prediction")).to_have_text("5")
    assert_quiet(page)

    main(page).get_by_text("Upload a picture").click()
    expect(main(page).get_by_test_id("stFileUploader")).to_be_visible()
    main(page).get_by_text("Draw", exact=True).click()
    wait_until_read(page)
    expect(metric_value(main(page), "Prediction")).to_have_text("5")

    extra = [[(20, 250), (60, 262)]]  # one more stroke on the restored drawing: all of it is read
    draw_strokes(page, [in_canvas(page, stroke) for stroke in extra])
    more, _ = wait_until_read(page)
    assert_strokes_on_canvas(more, strokes + extra)
    assert_quiet(page)
    clear(page)
    navigate(page, "Home", "home")
    navigate(page, "Draw", "draw")
    expect(alert(main(page), "info", NOTHING_DRAWN)).to_be_visible()
    assert canvas_pixels(page)[..., 3].max() == 0
    assert_no_exception(page)


def test_drawing_with_a_finger_on_a_phone(phone_page, app_url):
    """390 px wide, touch only: the canvas fits, nothing scrolls sideways, the toolbar is usable,
    and the prediction shows right under the canvas, in view without scrolling."""
    page = phone_page
    open_page(page, app_url, "draw")
    canvas = _canvas(page).bounding_box()
    width = page.viewport_size["width"]
    assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= width
    strokes, _ = hand_drawn_strokes(7, 4, style=3)  # a 7: the bar, then the stem
    strokes = [stroke for stroke in strokes] + [np.array([(272.0, 6.0), (230.0, 8.0)])]  # a mark in the top right corner
    touch_strokes(page, [in_canvas(page, stroke) for stroke in strokes], pause=0.3)
    pixels, _ = wait_until_read(page)
    assert_strokes_on_canvas(pixels, strokes)
    value = metric_value(main(page), "Prediction")
    expect(value).to_be_in_viewport()
    overflow = sideways_overflow(page)
    assert overflow <= 0, f"the page scrolls {overflow} px sideways"

    main(page).get_by_role("button", name="Undo", exact=True).tap()  # the toolbar answers a finger
    without_mark, _ = wait_until_read(page)
    assert without_mark[:30, 220:, 3].max() == 0
    expect(metric_value(main(page), "Prediction")).to_have_text("7")
    assert_quiet(page)
    assert_no_exception(page)


def test_a_digit_drawn_quickly_during_a_training_is_read(page, app_url):
    """While the session trains, the sidebar polls; drawing still gets a whole, prompt reading."""
    open_page(page, app_url, "train")
    neurons = main(page).get_by_test_id("stNumberInput").filter(has_text="Layer 1 neurons").locator("input")
    neurons.fill("500")  # about 1 s an epoch: still training while the digit is drawn
    neurons.press("Enter")
    expect(neurons).to_have_value("500")
    set_epochs(page, 30)
    main(page).get_by_role("button", name="Train a new network").click()
    expect(main(page).get_by_role("button", name="Stop")).to_be_enabled()
    try:
        navigate(page, "Draw", "draw")
        strokes, _ = hand_drawn_strokes(4, 3, style=1)
        draw_strokes(page, [in_canvas(page, stroke) for stroke in strokes])
        wait_until_read(page)
        expect(metric_value(main(page), "Prediction")).to_have_text(re.compile(r"^\d$"))
        expect(page.get_by_text(re.compile("Training: (epoch|waiting)"))).to_be_visible()
    finally:
        navigate(page, "Build & Train", "train")
        stop = main(page).get_by_role("button", name="Stop")
        if stop.is_enabled():
            stop.click()
        wait_for_app(page)
    assert_no_exception(page)
