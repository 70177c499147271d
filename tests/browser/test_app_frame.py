"""The frame around every page, in Chromium: nothing is fetched from outside the server, ``/home``
opens Home, and the sidebar's save / upload messages read as written.

Streamlit's own frontend probes ``/<page>/_stcore/health`` and ``/<page>/_stcore/host-config``
(404) when a page is opened by its URL, looking for the server's base path; that is why the
request test opens ``/`` and reaches the other pages through the navigation.
"""
import random
import re
from urllib.parse import urlsplit

import pytest

from browser_helpers import (NAV_LABELS, PAGE_TITLES, alert, assert_app_frame, assert_no_exception, expect, main,
                             navigate, open_page, sidebar, wait_for_app)

pytestmark = pytest.mark.browser

BASE_PATH_PROBES = re.compile(r"/home/_stcore/(health|host-config)$")


class Traffic:
    """Every request, failed response and console error of a page."""

    def __init__(self, page):
        self.requests, self.failures, self.errors = [], [], []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", lambda response: response.status >= 400 and self.failures.append(
            f"{response.status} {response.url}"))
        page.on("requestfailed", lambda request: self.failures.append(f"{request.failure} {request.url}"))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))

    def outside(self, base_url):
        host = urlsplit(base_url).netloc
        return sorted({url for url in self.requests if urlsplit(url).netloc != host})


def test_the_pages_fetch_nothing_from_outside_the_server(page, app_url):
    traffic = Traffic(page)
    open_page(page, app_url)
    for label, path in zip(NAV_LABELS[1:] + NAV_LABELS[:1], list(PAGE_TITLES)[1:] + ["home"]):
        navigate(page, label, path)
        wait_for_app(page)
    icon = page.locator("link[rel='shortcut icon']").get_attribute("href")
    assert urlsplit(icon).path.endswith(".png") and icon in traffic.requests, icon  # the local tab icon, fetched
    assert traffic.outside(app_url) == []
    assert traffic.failures == [] and traffic.errors == []
    assert_no_exception(page)


@pytest.mark.parametrize("server", ["fresh_app_url", "app_url"])
def test_slash_home_opens_home(page, request, server):
    base_url = request.getfixturevalue(server)
    traffic = Traffic(page)
    page.goto(f"{base_url}/home")
    expect(main(page).locator("h1").first).to_have_text(PAGE_TITLES["home"], timeout=60_000)
    wait_for_app(page)
    expect(main(page).locator("h1")).to_have_count(1)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.url.rstrip("/").endswith("/home")
    assert_app_frame(page)
    assert traffic.outside(base_url) == []
    assert [f for f in traffic.failures if not BASE_PATH_PROBES.search(f)] == []
    assert [e for e in traffic.errors if "404" not in e] == []  # the two base-path probes
    assert_no_exception(page)


def _open_expander(page, title):
    expander = sidebar(page).get_by_test_id("stExpander").filter(has_text=title)
    expander.locator("summary").click()
    details = expander.get_by_test_id("stExpanderDetails")
    expect(details).to_be_visible()
    return details


def test_a_refused_save_name_is_shown_as_typed(page, app_url):
    open_page(page, app_url)
    save = _open_expander(page, "Save this network")
    name = save.get_by_role("textbox", name="Name")
    name.fill("my\\net_v*1*")
    name.press("Enter")
    wait_for_app(page)
    save.get_by_role("button", name="Save to the server").click()
    message = alert(sidebar(page), "error", "contains")
    expect(message).to_have_text("'my\\net_v*1*' contains '\\' and '*'; a model name uses only letters, digits, "
                                 "'-', '_' and '.'.")


def test_a_refused_upload_leaves_the_uploader_empty(page, app_url, tmp_path):
    open_page(page, app_url)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(random.Random(7).randbytes(2048))
    _open_expander(page, "Load a network").locator("input[type=file]").set_input_files(str(bad))
    expect(alert(sidebar(page), "error", "'bad.npz' was not loaded")).to_be_visible()
    wait_for_app(page)
    expect(sidebar(page).get_by_test_id("stFileChip")).to_have_count(0)
    expect(sidebar(page).get_by_text("bad.npz", exact=True)).to_have_count(0)
    expect(alert(sidebar(page), "error", "'bad.npz' was not loaded")).to_be_visible()  # the message stays
    assert_no_exception(page)
