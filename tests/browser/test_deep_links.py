"""Deep links: the first visitor of a fresh server who opens /train (etc.) gets the whole page."""
import pytest

from browser_helpers import NAV_LABELS, PAGE_TITLES, assert_app_frame, assert_no_exception, expect, main, nav_link, wait_for_app

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["train", "draw", "imagine", "evaluate"])
def test_first_visitor_of_a_fresh_server_gets_the_complete_page(page, fresh_app_url, path):
    page.goto(f"{fresh_app_url}/{path}")
    expect(main(page).locator("h1").first).to_have_text(PAGE_TITLES[path], timeout=60_000)
    wait_for_app(page)
    assert page.url.rstrip("/").endswith(f"/{path}")
    expect(main(page).locator("h1")).to_have_count(1)  # the page ran once, not twice
    assert_app_frame(page)
    label = dict(zip(PAGE_TITLES, NAV_LABELS))[path]
    expect(nav_link(page, label)).to_have_attribute("aria-current", "page")
    assert_no_exception(page)
