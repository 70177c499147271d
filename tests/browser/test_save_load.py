"""Sidebar: download the current network, upload it back; a corrupt upload changes nothing."""
import random
import re

import pytest

from browser_helpers import (alert, assert_no_exception, expect, main, metric_value, open_page, sidebar,
                             wait_for_app)

pytestmark = pytest.mark.browser

PERCENT = re.compile(r"^\d{1,3}\.\d\d%$")


def open_expander(page, title):
    expander = sidebar(page).get_by_test_id("stExpander").filter(has_text=title)
    expander.locator("summary").click()
    details = expander.get_by_test_id("stExpanderDetails")
    expect(details).to_be_visible()
    return details


def upload(page, details, path):
    details.locator("input[type=file]").set_input_files(str(path))


def test_download_then_upload_the_network(page, app_url, tmp_path):
    # a freshly trained network, so that the round trip is told apart from the default one
    open_page(page, app_url, "train")
    slider = main(page).get_by_test_id("stSlider").filter(has_text="Training examples").get_by_role("slider")
    slider.focus()
    page.keyboard.press("Home")
    expect(main(page).get_by_text("500 examples")).to_be_visible()
    wait_for_app(page)
    epochs = main(page).get_by_test_id("stNumberInput").filter(has_text="Epochs").locator("input")
    epochs.fill("1")
    epochs.press("Enter")
    wait_for_app(page)
    main(page).get_by_role("button", name="Train a new network").click()
    expect(alert(main(page), "success", "Finished:")).to_be_visible(timeout=120_000)
    wait_for_app(page)
    accuracy = metric_value(sidebar(page), "Test accuracy")
    expect(accuracy).to_have_text(PERCENT)
    trained = accuracy.inner_text()

    save = open_expander(page, "Save this network")
    with page.expect_download() as download_info:
        save.get_by_test_id("stDownloadButton").get_by_role("button", name="Download (.npz)").click()
    download = download_info.value
    assert download.suggested_filename == "run-1.npz"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"  # an .npz is a zip archive

    load = open_expander(page, "Load a network")
    load.get_by_role("button", name="Default").click()
    expect(alert(sidebar(page), "success", "Back to the pre-trained default network")).to_be_visible()
    expect(sidebar(page).get_by_text("default (pre-trained)")).to_be_visible()
    expect(accuracy).not_to_have_text(trained)
    wait_for_app(page)

    load = open_expander(page, "Load a network") if not load.is_visible() else load
    upload(page, load, saved)
    expect(alert(sidebar(page), "success", "Loaded 'run-1.npz'")).to_be_visible()
    expect(sidebar(page).get_by_text("run-1.npz (uploaded)")).to_be_visible()
    expect(accuracy).to_have_text(trained)
    expect(sidebar(page).get_by_text("1 epochs trained")).to_be_visible()
    assert_no_exception(page)


def test_a_corrupt_upload_is_refused(page, app_url, tmp_path):
    open_page(page, app_url, "")
    accuracy = metric_value(sidebar(page), "Test accuracy")
    expect(accuracy).to_have_text(PERCENT)
    before = accuracy.inner_text()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(random.Random(1234).randbytes(4096))

    upload(page, open_expander(page, "Load a network"), bad)
    expect(alert(sidebar(page), "error", "'bad.npz' was not loaded")).to_be_visible()
    expect(alert(sidebar(page), "error", "The current network is unchanged")).to_be_visible()
    expect(sidebar(page).get_by_text("default (pre-trained)")).to_be_visible()
    expect(accuracy).to_have_text(before)
    expect(sidebar(page).get_by_text("bad.npz (uploaded)")).to_have_count(0)
    expect(main(page).get_by_role("heading", name="See a neural network learn")).to_be_visible()
    assert_no_exception(page)
