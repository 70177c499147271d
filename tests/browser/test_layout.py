"""Layout at the screens people use: nothing cut off on a 1024 px laptop, grids that stay grids on a phone."""
import re

import pytest

from browser_helpers import (PAGE_TITLES, clipped_texts, expect, main, open_page, sideways_overflow,
                             wait_for_app, wait_for_images)
from core import limits

pytestmark = pytest.mark.browser

PHONE_PAGE_HEIGHT = 5_000  # px: a page a person can still scroll through on a phone


def _number_field(page, label):
    return main(page).get_by_test_id("stNumberInput").filter(has_text=label).locator("input")


def _set_number(page, label, value):
    field = _number_field(page, label)
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))
    wait_for_app(page)


@pytest.mark.parametrize("path", ["home", "train", "imagine", "evaluate"])
def test_nothing_is_cut_off_on_a_1024_px_screen(laptop_page, app_url, path):
    open_page(laptop_page, app_url, "" if path == "home" else path)
    wait_for_images(laptop_page)
    assert clipped_texts(laptop_page) == []
    assert sideways_overflow(laptop_page) <= 1


def test_build_and_train_at_1024_px_with_the_longest_settings(laptop_page, app_url):
    """The modern preset (longest names) and the deepest network the server allows."""
    page = laptop_page
    open_page(page, app_url, "train")
    main(page).get_by_test_id("stSelectbox").filter(has_text="Start from a preset").click()
    page.get_by_role("option", name=re.compile("^Modern")).click()
    expect(_number_field(page, "Epochs")).to_have_value("8")
    wait_for_app(page)
    _set_number(page, "Hidden layers", limits.MAX_HIDDEN_LAYERS)
    expect(main(page).get_by_text(re.compile(f"^Layer {limits.MAX_HIDDEN_LAYERS} neurons$"))).to_be_visible()
    assert clipped_texts(page) == []
    assert sideways_overflow(page) <= 1


def test_the_architecture_diagram_stays_legible_at_the_largest_depth(laptop_page, app_url):
    page = laptop_page
    open_page(page, app_url, "train")
    _set_number(page, "Hidden layers", limits.MAX_HIDDEN_LAYERS)
    diagram = main(page).get_by_test_id("stGraphVizChart")
    expect(diagram.locator("g.node")).to_have_count(limits.MAX_HIDDEN_LAYERS + 2)
    heights = diagram.locator("g.node text").evaluate_all("texts => texts.map(t => t.getBoundingClientRect().height)")
    assert min(heights) >= 10, f"layer labels {min(heights):.1f} px high: too small to read"
    box, column = diagram.bounding_box(), diagram.locator("xpath=ancestor::*[@data-testid='stColumn'][1]").bounding_box()
    assert box["x"] >= column["x"] - 1 and box["x"] + box["width"] <= column["x"] + column["width"] + 1


def _rows(images):
    """The distinct rows (tops, to the pixel) that a list of images occupies."""
    return sorted({round(box["y"]) for box in (image.bounding_box() for image in images)})


@pytest.mark.parametrize("path, caption, count", [
    ("imagine", re.compile(r"^imagined \d: network says \d \(\d+%\)$"), 10),
    ("evaluate", re.compile(r"^true \d → \d$"), 40),
])
def test_thumbnails_stay_a_grid_on_a_phone(phone_page, app_url, path, caption, count):
    page = phone_page
    open_page(page, app_url, path)
    images = main(page).get_by_test_id("stImageContainer").filter(
        has=page.get_by_test_id("stImageCaption").filter(has_text=caption))
    expect(images).to_have_count(count)
    wait_for_images(page)
    rows = _rows(images.all())
    assert len(rows) <= count / 3 + 2, f"{count} thumbnails on {len(rows)} rows: they stack instead of a grid"
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    assert height < PHONE_PAGE_HEIGHT, f"the {PAGE_TITLES[path]} page is {height} px tall on a phone"
    assert sideways_overflow(page) <= 1
