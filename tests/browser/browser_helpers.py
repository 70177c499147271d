"""Helpers for the browser tests: waiting for Streamlit, reading metrics and charts, drawing.

Selectors relied on (Streamlit 1.5x-1.6x DOM, ``data-testid`` attributes):

* ``[data-testid=stApp][data-test-script-state=notRunning]`` and ``[data-testid=stStatusWidget]``:
  whether a script run is going on;
* ``stSidebar``, ``stSidebarNav`` / ``stSidebarNavLink``: the sidebar and its page navigation;
* ``stMetric`` > ``stMetricLabel`` / ``stMetricValue``: metrics;
* ``stAlertContentSuccess`` / ``stAlertContentInfo`` / ``stAlertContentError``: st.success/info/error;
* ``stException``: an ``st.exception`` (or an uncaught error shown by Streamlit);
* ``stVegaLiteChart``: an Altair chart, rendered by vega-embed as SVG; each mark is an SVG element
  whose ``__data__.datum`` is the data row it draws (``g.role-mark.mark-symbol > path`` for points);
* ``stImageContainer`` (one image, in a list too) / ``stImageCaption``: st.image;
* ``canvas.upper-canvas``: the Fabric.js drawing canvas of streamlit-drawable-canvas, inside the open
  shadow root of its component's host ``stBidiComponentIsolated``.
"""
import base64
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixtures skip (or fail on CI) before anything here is used
    expect = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"

PAGE_TITLES = {  # url path -> the page's st.title
    "home": "See a neural network learn",
    "train": "Build & Train",
    "draw": "Draw a digit",
    "imagine": "What does the network imagine?",
    "evaluate": "How good is the network?",
}
NAV_LABELS = ["Home", "Build & Train", "Draw", "Imagine", "Evaluate"]
RUN_TIMEOUT = 60_000  # ms: a script run (the first one loads MNIST and the model)


# ----- Streamlit state ---------------------------------------------------------------------------


def wait_for_app(page, timeout=RUN_TIMEOUT):
    """Wait until the app is connected, no script run is going on and the status widget is gone.

    A click starts a run only after a round trip to the server, so right after an action this can
    still see the previous idle state: always also wait for what the action should show.
    """
    page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=timeout)
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=timeout)


def open_page(page, base_url, path=""):
    """Go to ``base_url/path`` and wait for the page's title and the end of the run."""
    page.goto(f"{base_url}/{path}")
    expect(main(page).locator("h1").first).to_have_text(PAGE_TITLES[path or "home"], timeout=RUN_TIMEOUT)
    wait_for_app(page)


def main(page):
    return page.get_by_test_id("stMain")


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def nav_link(page, label):
    return page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(label, exact=True))


def navigate(page, label, path):
    """Switch page with the sidebar navigation (a client-side page switch, same session)."""
    nav_link(page, label).click()
    expect(page).to_have_url(re.compile(r"/(home)?$" if path == "home" else rf"/{path}$"))
    expect(main(page).locator("h1").first).to_have_text(PAGE_TITLES[path], timeout=RUN_TIMEOUT)


def _page_of(scope):
    """The Page of a Page or Locator (``filter(has=...)`` needs a locator relative to the page)."""
    return getattr(scope, "page", scope)


def metric(scope, label):
    """The ``stMetric`` whose label is exactly ``label`` inside ``scope`` (a page or locator)."""
    return scope.get_by_test_id("stMetric").filter(
        has=_page_of(scope).get_by_test_id("stMetricLabel").get_by_text(label, exact=True))


def metric_value(scope, label):
    return metric(scope, label).get_by_test_id("stMetricValue")


def alert(scope, kind, text):
    """An st.success / st.info / st.warning / st.error box (``kind``) containing ``text``."""
    return scope.get_by_test_id(f"stAlertContent{kind.capitalize()}").filter(has_text=text)


def assert_no_exception(page):
    """No ``st.exception`` box and no Python traceback anywhere on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    text = page.locator("body").inner_text()
    assert "Traceback" not in text, f"a Python traceback is shown on {page.url}"
    assert "Error running app" not in text


_CLIPPED_TEXTS = """root => [root, ...root.querySelectorAll('*')].filter(e => {
    const style = getComputedStyle(e);
    const text = e.textContent.trim();
    if (text && style.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1) return true;  // cut with '…'
    if (e.clientWidth <= 1 || ['auto', 'scroll'].includes(style.overflowX)) return false;  // hidden or scrolls
    if (e.tagName === 'INPUT') {  // a select box or field whose value does not fit its box
        if (['checkbox', 'radio', 'file', 'hidden', 'range'].includes(e.type)) return false;
        const context = document.createElement('canvas').getContext('2d');
        context.font = style.font;
        const room = e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return context.measureText(e.value || e.placeholder || '').width > room + 1;
    }
    return style.overflowX !== 'visible' && text !== '' && e.scrollWidth > e.clientWidth + 1;
}).map(e => e.value || e.placeholder || e.textContent.trim())"""


def clipped_texts(scope):
    """Texts shown cut off in ``scope`` (a page: the whole app; or a locator): wider than a box that
    hides its overflow (a metric's value, a label, the value in a select box or field, text ending
    in an ellipsis); scrolling boxes (tables) are not counted."""
    root = scope.locator("[data-testid=stApp]") if scope is _page_of(scope) else scope
    return root.evaluate(_CLIPPED_TEXTS)


def assert_not_truncated(scope):
    cut = clipped_texts(scope)
    assert not cut, f"text cut off: {cut}"


def sideways_overflow(page):
    """How far the page's content sticks out sideways, in px (0: none): the main area or the document."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid=stMain]');
        return Math.max(main.scrollWidth - main.clientWidth, document.scrollingElement.scrollWidth - innerWidth);
    }""")


def assert_app_frame(page):
    """The frame every page shares: the navigation with all five pages and the current network."""
    links = page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
    expect(links).to_have_count(len(NAV_LABELS))
    for label in NAV_LABELS:
        expect(nav_link(page, label)).to_be_visible()
    expect(sidebar(page).get_by_role("heading", name="Current network")).to_be_visible()
    expect(metric_value(sidebar(page), "Test accuracy")).to_have_text(re.compile(r"^\d{1,3}\.\d\d%$"))


# ----- the Build & Train form ------------------------------------------------------------------------


def training_examples_thumb(page):
    return main(page).get_by_test_id("stSlider").filter(has_text="Training examples").get_by_role("slider")


def epochs_field(page):
    return main(page).get_by_test_id("stNumberInput").filter(has_text="Epochs").locator("input")


def set_training_examples(page, keys, expected):
    """Move the "Training examples" select_slider with the keyboard (``keys`` pressed in turn)."""
    thumb = training_examples_thumb(page)
    thumb.focus()
    for key in keys:
        page.keyboard.press(key)
    expect(thumb).to_have_attribute("aria-valuetext", str(expected))
    # the summary under the diagram comes from the server: the value has arrived there
    expect(main(page).get_by_text(f"{expected:,} examples")).to_be_visible()
    wait_for_app(page)


def set_epochs(page, epochs):
    field = epochs_field(page)
    field.fill(str(epochs))
    field.press("Enter")
    expect(field).to_have_value(str(epochs))
    wait_for_app(page)


def set_first_layer(page, neurons):
    """Set "Layer 1 neurons" and wait until the diagram's summary shows 784→neurons→10."""
    field = main(page).get_by_test_id("stNumberInput").filter(has_text="Layer 1 neurons").locator("input")
    field.fill(str(neurons))
    field.press("Enter")
    expect(main(page).get_by_text(f"784→{neurons}→10")).to_be_visible()
    wait_for_app(page)


LONG_TRAINING_EPOCHS = 200


def prepare_long_training(page, base_url):
    """Open Build & Train and set up a run of many minutes: 200 epochs of 20,000 examples on
    784→300→10 (about 9.5×10¹¹ of the default run budget of 2×10¹²; some 0.6 s an epoch alone on
    an idle 2-core machine, several seconds while others train too)."""
    open_page(page, base_url, "train")
    set_training_examples(page, ["End", "ArrowLeft", "ArrowLeft"], 20_000)
    set_first_layer(page, 300)
    set_epochs(page, LONG_TRAINING_EPOCHS)


def start_training(page):
    """Press "Train a new network" and wait until Stop is enabled (the run is going on or queued)."""
    button = main(page).get_by_role("button", name="Train a new network")
    expect(button).to_be_enabled()
    button.click()
    expect(main(page).get_by_role("button", name="Stop")).to_be_enabled(timeout=RUN_TIMEOUT)


# ----- charts ------------------------------------------------------------------------------------


def chart_with_title(scope, title):
    """The Altair chart (``stVegaLiteChart``) in ``scope`` whose Vega title is ``title``."""
    return scope.get_by_test_id("stVegaLiteChart").filter(
        has=_page_of(scope).locator(f"[aria-label=\"Title text '{title}'\"]"))


def chart_data(chart, mark="symbol", timeout=RUN_TIMEOUT):
    """The data rows drawn by the ``mark`` marks ("symbol", "rect", "line"...) of a Vega SVG chart.

    Vega's SVG renderer binds each scenegraph item to its element as ``__data__``; the item's
    ``datum`` is the row of the chart's data it draws. Waits until the chart has such marks.
    """
    script = """(el, mark) => Array.from(el.querySelectorAll(`g.role-mark.mark-${mark} > *`))
                  .map(node => node.__data__ && node.__data__.datum).filter(Boolean)"""
    chart.page.wait_for_function(
        f"el => el.querySelectorAll('g.role-mark.mark-{mark} > *').length > 0",
        arg=chart.element_handle(timeout=timeout), timeout=timeout)
    return chart.evaluate(script, mark)


def epochs_in(chart):
    """Sorted epochs with at least one point in a history chart (accuracy or cost)."""
    return sorted({row["epoch"] for row in chart_data(chart, "symbol")})


# ----- drawing -----------------------------------------------------------------------------------


_HITS_CANVAS = """([x, y]) => {
    let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) {  // the canvas lives in an open shadow root
        const inner = el.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === el) break;
        el = inner;
    }
    return !!el && el.matches('canvas.upper-canvas');
}"""


def draw_strokes(page, strokes, pause=0.0):
    """Draw ``strokes`` (lists of (x, y) page coordinates) with the mouse, one press per stroke.

    ``pause``: seconds between lifting the mouse and starting the next stroke (0: at once, while
    the previous stroke's rerun is still going on). Each stroke starts only once its first point
    hits the drawing layer: nothing (such as the canvas's toolbar) may lie over the canvas.
    """
    for i, stroke in enumerate(strokes):
        if i and pause:
            page.wait_for_timeout(1000 * pause)
        page.mouse.move(*stroke[0])
        page.wait_for_function(_HITS_CANVAS, arg=[float(v) for v in stroke[0]], timeout=5_000)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(float(x), float(y))
        page.mouse.up()


def touch_strokes(page, strokes, pause=0.0):
    """Draw ``strokes`` with a finger (touch events through the DevTools protocol; needs a context
    with ``has_touch``). Playwright's own touchscreen only taps."""
    cdp = page.context.new_cdp_session(page)
    try:
        for i, stroke in enumerate(strokes):
            if i and pause:
                page.wait_for_timeout(1000 * pause)
            (x, y), rest = stroke[0], stroke[1:]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
            for x, y in rest:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                                      "touchPoints": [{"x": float(x), "y": float(y)}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def in_canvas(page, points):
    """Canvas pixel coordinates (x, y) -> page coordinates of the drawing canvas on ``page``."""
    box = main(page).locator("canvas.upper-canvas").bounding_box()
    return [(box["x"] + float(x), box["y"] + float(y)) for x, y in points]


def canvas_pixels(page):
    """The drawing canvas's RGBA pixels (what the user sees on it), as a uint8 array.

    Fabric.js paints a finished stroke onto this canvas at the next animation frame after the
    mouse is lifted, so this waits two frames first.
    """
    return _data_url_pixels(main(page).locator("canvas.dc-canvas.lower-canvas").evaluate("""c => new Promise(
        done => requestAnimationFrame(() => requestAnimationFrame(() => done(c.toDataURL('image/png')))))"""))


def seen_pixels(page):
    """The 28x28 "What the network sees" image on the Draw page as uint8, or None when not shown.

    The page sends it inline (a data: URL), enlarged 6x with nearest-neighbour scaling, so every
    6th pixel is one input.
    """
    image = main(page).get_by_test_id("stImageContainer").filter(
        has=page.get_by_test_id("stImageCaption").filter(has_text="What the network sees")).locator("img")
    if image.count() != 1:
        return None
    src = image.get_attribute("src")
    if not src:
        return None
    pixels = _data_url_pixels(src)
    return pixels[::6, ::6] if pixels.ndim == 2 else pixels[::6, ::6, 0]


def _data_url_pixels(url):
    """The pixels of a ``data:image/png;base64,...`` URL as a uint8 array."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


COUNT_SCRIPT_RUNS = """() => {
    if (window.__scriptRuns !== undefined) return;
    window.__scriptRuns = 0;
    const app = document.querySelector('[data-testid=stApp]');
    new MutationObserver(records => {  // each change out of "running" is a finished run
        for (const record of records) if (record.oldValue === 'running') window.__scriptRuns++;
    }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""


def script_runs(page):
    """How many script runs the page has seen finish since this was first called on it."""
    page.evaluate(COUNT_SCRIPT_RUNS)
    return page.evaluate("() => window.__scriptRuns")


# ----- mouse-up to reading on screen -------------------------------------------------------------


WATCH_NEXT_READING = """() => {
    window.__latency = undefined;
    const seen = () => Array.from(document.querySelectorAll('[data-testid=stImageContainer]')).find(
        el => el.textContent.includes('What the network sees'));
    const source = () => { const figure = seen(), img = figure && figure.querySelector('img');
                           return img && img.complete && img.naturalWidth > 0 ? img.src : null; };
    document.addEventListener('pointerup', event => {
        const lifted = event.timeStamp, before = source();
        const poll = () => {
            const now = source();
            if (now && now !== before) window.__latency = performance.now() - lifted;
            else requestAnimationFrame(poll);
        };
        requestAnimationFrame(poll);
    }, {capture: true, once: true});
}"""
"""Arms a one-shot watcher in the page: from the next ``pointerup`` to the first animation frame in
which the "What the network sees" image is a new, loaded one, in ms, left in ``window.__latency``."""


_CANVAS_IN_PLACE = """() => {
    const canvases = [];
    for (const host of document.querySelectorAll('[data-testid=stMain] [data-testid=stBidiComponentIsolated]')) {
        const found = host.shadowRoot ? host.shadowRoot.querySelectorAll('canvas.upper-canvas') : [];
        found.forEach(canvas => canvases.push([host, canvas]));
    }
    if (canvases.length !== 1) return false;
    const [host, canvas] = canvases[0].map(el => el.getBoundingClientRect());
    return ['left', 'top', 'width', 'height'].every(side => Math.abs(host[side] - canvas[side]) < 1);
}"""


def wait_for_canvas_in_place(page, timeout=RUN_TIMEOUT):
    """Wait until the page has one drawing canvas and it fills its component's box.

    Clear mounts a new canvas; for a moment (seconds on a loaded machine, after the script run has
    ended) it sits below where it settles, so coordinates taken from it then miss the canvas.
    """
    page.wait_for_function(_CANVAS_IN_PLACE, timeout=timeout)


def clear_drawing(page):
    """Press the Draw page's Clear and wait for its "nothing drawn" state."""
    main(page).get_by_role("button", name="Clear").click()
    alert(main(page), "info", "Draw a digit on the canvas").wait_for()
    wait_for_app(page)


def measure_reading_latency(page, digit, style, seed, clear=True):
    """Draw one digit (``drawn_digits.hand_drawn_strokes``) on the Draw page; the milliseconds
    from its last mouse-up to its reading on screen (see ``WATCH_NEXT_READING``).

    Earlier strokes are drawn 0.3 s apart and their reading is awaited first, so the figure is the
    last stroke's. ``clear``: press Clear afterwards (False leaves the drawing and its reading shown).
    """
    from drawn_digits import hand_drawn_strokes

    strokes, _ = hand_drawn_strokes(digit, seed, style=style)
    wait_for_canvas_in_place(page)
    strokes = [in_canvas(page, stroke) for stroke in strokes]
    draw_strokes(page, strokes[:-1], pause=0.3)
    page.wait_for_timeout(300)
    wait_for_app(page)  # the earlier strokes' reading is on screen: the next one is the last stroke's
    page.evaluate(WATCH_NEXT_READING)
    draw_strokes(page, strokes[-1:])
    page.wait_for_function("() => window.__latency !== undefined", timeout=30_000)
    latency = page.evaluate("() => window.__latency")
    wait_for_app(page)
    if clear:
        clear_drawing(page)
    return latency


# ----- screenshots -------------------------------------------------------------------------------


def _content_height(page):
    """Height the viewport needs to show all of the main area and the sidebar.

    Streamlit scrolls inside ``stMain`` (not the document), so Playwright's ``full_page`` does not
    help; the viewport is made tall enough instead.
    """
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid=stMain]');
        const side = document.querySelector('[data-testid=stSidebarContent]');
        return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0, window.innerHeight);
    }""")


def wait_for_images(page, timeout=RUN_TIMEOUT):
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=timeout)


def full_screenshot(page, path, settle=True):
    """A screenshot of the whole page (all of the scrolling main area), then the old viewport."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    height = min(_content_height(page), 6000)
    if height > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": height})
        if settle:
            page.wait_for_timeout(300)  # layout and Vega charts react to the resize
    try:
        if settle:
            wait_for_images(page)
        page.screenshot(path=str(path), animations="disabled", caret="hide")
    finally:
        page.set_viewport_size(viewport)


def doc_screenshot(page, name):
    """docs/screenshots/<name>.png for the README, only when UPDATE_SCREENSHOTS=1."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    wait_for_app(page)
    size = page.viewport_size
    page.mouse.move(size["width"] - 5, size["height"] - 5)  # an empty corner: no hover effects or tooltips
    full_screenshot(page, DOC_SCREENSHOTS / f"{name}.png")


def fail_or_skip(reason):
    """Skip with ``reason``, except on CI (``CI`` set), where a missing browser is an error."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"browser tests cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)
