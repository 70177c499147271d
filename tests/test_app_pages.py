"""Every page of the dashboard, run through the entry script with Streamlit's AppTest.

The drawing canvas (streamlit-drawable-canvas) is a custom component: AppTest cannot draw
on it (it renders as an unknown element and returns no drawing), so the Draw page's
prediction is tested in "Upload a picture" mode here, and ``ui.drawing.read_digit`` (the
function the page calls for the canvas too) in test_ui_logic.py.
"""
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from app_helpers import (PAGES, app_data, chart_with_field, charts, click, finish_training, go,  # noqa: F401
                         guard_real_models, models_folder, new_app, no_exception, percent, run, set_widgets,
                         sidebar_accuracy, texts, wait_until)
from core import Net
from drawn_digits import render_digit
from core.preprocess import load_image
from ui import resources
from ui.drawing import read_digit
from ui.sidebar import accuracy_text


@pytest.fixture(scope="module")
def test_set():
    return resources.mnist()[2]


def _sidebar_shows_current_model(at):
    data = app_data(at)
    assert data.model_name == "default (pre-trained)"
    assert data.model_name in texts(at.sidebar.caption)
    accuracy = sidebar_accuracy(at)
    assert accuracy == accuracy_text(data.net) == f"{100 * data.net.test_accuracy:.2f}%"
    assert 0.9 < percent(accuracy) <= 1.0
    summary = " ".join(texts(at.sidebar.markdown))
    assert " → ".join(str(s) for s in data.net.sizes) in summary


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_loads_with_its_title_and_the_sidebar(page):
    at = new_app(page)
    no_exception(at)
    assert texts(at.title) == [PAGES[page]]
    assert not at.error, texts(at.error)
    _sidebar_shows_current_model(at)


def test_deep_link_opens_each_page_on_a_fresh_session():
    """A first visit straight to /train etc. (page chosen before the first run)."""
    for page, title in PAGES.items():
        at = new_app(run=False)
        go(at, page)
        no_exception(at)
        assert texts(at.title) == [title], page
        _sidebar_shows_current_model(at)


def test_home_page_describes_the_current_network():
    at = new_app()
    net = app_data(at).net
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["Architecture"] == " → ".join(str(s) for s in net.sizes)
    assert metrics["Parameters"] == f"{net.n_parameters:,}"
    assert metrics["Epochs trained"] == str(len(net.history))
    assert metrics["Test accuracy"] == f"{100 * net.test_accuracy:.2f}%"


@pytest.mark.parametrize("method_index", [0, 1], ids=["backproject", "optimize"])
def test_imagine_page_shows_ten_imagined_digits(method_index):
    at = new_app("pages/imagine.py")
    radio = at.radio(key="imagine_method")
    assert len(radio.options) == 2
    if method_index:
        radio.set_value(radio.options[method_index])
        run(at)
    no_exception(at)
    assert at.radio(key="imagine_method").value == radio.options[method_index]
    captions = [c for image in at.image for c in image.captions]
    imagined = [re.fullmatch(r"imagined (\d): network says (\d) \((\d+)%\)", c) for c in captions
                if c.startswith("imagined")]
    assert [int(m[1]) for m in imagined] == list(range(10))
    net = app_data(at).net
    neurons = [c for c in captions if c.startswith("neuron ")]
    assert len(neurons) == min(net.sizes[1], 48)
    if method_index == 1:  # optimisation makes images the network reads as the digit
        read = [int(m[2]) for m in imagined]
        assert sum(r == d for d, r in enumerate(read)) >= 9, read


def test_imagine_without_a_hidden_layer_names_each_output_neuron_by_its_digit():
    at = new_app()
    app_data(at).use_network(Net([784, 10], output="softmax", cost="cross_entropy", seed=3), "flat")
    go(at, "pages/imagine.py")
    no_exception(at)
    assert "What each digit's output neuron looks for" in texts(at.subheader)
    captions = [c for image in at.image for c in image.captions]
    assert [c for c in captions if not c.startswith("imagined")] == [f"digit {d}" for d in range(10)]
    assert not any("first hidden layer" in caption for caption in texts(at.caption))


def test_evaluate_page_confusion_matrix_and_accuracy(test_set):
    at = new_app("pages/evaluate.py")
    no_exception(at)
    net = app_data(at).net
    frame = chart_with_field(at, "count")
    assert len(frame) == 100
    assert int(frame["count"].sum()) == len(test_set.y) == 10_000
    matrix = np.zeros((10, 10), dtype=int)
    for row in frame.itertuples():
        matrix[int(row.true), int(row.predicted)] = row.count
    np.testing.assert_array_equal(matrix, net.confusion_matrix(test_set.X, test_set.y))
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(test_set.y, minlength=10))

    accuracy = net.evaluate(test_set.X, test_set.y)["accuracy"]
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["Test accuracy"] == f"{100 * accuracy:.2f}%"
    assert metrics["Correct"] == f"{int(np.trace(matrix)):,} of 10,000"
    assert abs(np.trace(matrix) / 10_000 - accuracy) < 1e-12

    per_class = chart_with_field(at, "accuracy")
    np.testing.assert_allclose(per_class["accuracy"], np.diag(matrix) / matrix.sum(axis=1))

    # the gallery shows misclassified digits only, and follows the filters
    captions = [c for image in at.image for c in image.captions]
    assert len(captions) == min(40, 10_000 - np.trace(matrix))
    pairs = [c.removeprefix("true ").split(" → ") for c in captions]
    assert all(t != p for t, p in pairs)
    wrong = 10_000 - int(np.trace(matrix))
    assert texts(at.main.caption)[-1] == (f"{wrong} misclassified test images match; showing the 40 the network "
                                          "was most sure about.")
    at.selectbox(key="filter_true").set_value("3")
    run(at)
    no_exception(at)
    captions = [c for image in at.image for c in image.captions]
    assert len(captions) == min(40, int(matrix[3].sum() - matrix[3, 3]))
    assert all(c.startswith("true 3 → ") and not c.endswith("→ 3") for c in captions)


def test_evaluate_says_plainly_when_no_mistake_matches_the_filters():
    at = new_app("pages/evaluate.py")
    net = app_data(at).net
    _, _, test = resources.mnist()
    matrix = net.confusion_matrix(test.X, test.y)
    true, predicted = np.unravel_index(np.argmin(matrix + 10**9 * np.eye(10, dtype=int)), matrix.shape)
    assert matrix[true, predicted] == 0  # a pair of digits the default network never confuses
    at.selectbox(key="filter_true").set_value(str(true))
    at.selectbox(key="filter_predicted").set_value(str(predicted))
    run(at)
    no_exception(at)
    assert texts(at.main.caption)[-1] == "No misclassified test images match these filters."
    assert not [c for image in at.image for c in image.captions]


def test_evaluate_counts_thousands_of_mistakes_with_separators():
    at = new_app()
    app_data(at).use_network(Net([784, 30, 10], seed=0), "untrained")
    go(at, "pages/evaluate.py")
    no_exception(at)
    wrong = 10_000 - int(app_data(at).net.evaluate(*resources.mnist()[2])["accuracy"] * 10_000 + 0.5)
    assert wrong >= 1_000
    assert texts(at.main.caption)[-1].startswith(f"{wrong:,} misclassified test images match;")


def test_figures_shown_while_training_say_so():
    at = new_app("pages/train.py")
    set_widgets(at, cfg_train_size=500, cfg_epochs=40)
    click(at, "train_button")
    data = app_data(at)
    try:
        wait_until(lambda: data.job.snapshot().status == "running")
        for page in ("pages/evaluate.py", "pages/imagine.py"):
            go(at, page)
            no_exception(at)
            notes = [t for t in texts(at.info) if "during epoch" in t]
            assert len(notes) == 1 and "will change as it learns" in notes[0], texts(at.info)
    finally:
        data.job.stop()
        finish_training(at)
    go(at, "pages/evaluate.py")
    assert not [t for t in texts(at.info) if "during epoch" in t]


def test_draw_page_canvas_mode_renders_without_a_drawing():
    at = new_app("pages/draw.py")
    no_exception(at)
    assert at.radio(key="draw_source").value == "Draw"
    assert any("Draw a digit on the canvas" in t for t in texts(at.info))
    assert not at.main.metric  # no prediction without a drawing
    # "Clear" remounts the canvas under a new key (the component itself cannot run in AppTest)
    sketch = app_data(at).sketch
    sketch.drawing, sketch.pixels = {"objects": [{"type": "path"}]}, np.zeros((280, 280, 4), np.uint8)
    at.button(key="clear_canvas").click()
    run(at)
    no_exception(at)
    assert sketch.version == 1 and sketch.drawing is None and sketch.image() is None
    assert at.main.get_by_key("canvas_1_20") is not None


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_draw_page_reads_an_uploaded_picture():
    picture = _png(render_digit(7, 3, mode="black_on_white"))
    at = new_app("pages/draw.py")
    at.radio(key="draw_source").set_value("Upload a picture")
    run(at)
    at.file_uploader(key="digit_upload").upload("seven.png", picture, "image/png")
    run(at)
    no_exception(at)
    assert not at.error, texts(at.error)
    expected = read_digit(app_data(at).net, load_image(picture))
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["Prediction"] == str(expected.digit) == "7"
    assert metrics["Confidence"] == f"{100 * expected.confidence:.1f}%"
    bars = chart_with_field(at, "probability")
    assert list(bars["digit"]) == [str(d) for d in range(10)]
    np.testing.assert_allclose(bars["probability"], expected.probabilities, rtol=1e-6)
    assert abs(bars["probability"].sum() - 1) < 1e-5
    captions = [c for image in at.image for c in image.captions]
    assert "Your picture" in captions
    assert "What the network sees (28×28)" in captions
    assert any(c.startswith(f"Pixels for (red) and against (blue) a {expected.digit}:") for c in captions), captions


@pytest.mark.parametrize("content", [os.urandom(3000), b"", b"GIF89a" + bytes(40)], ids=["random", "empty", "bad-gif"])
def test_draw_page_refuses_a_broken_picture_with_a_message(content):
    at = new_app("pages/draw.py")
    at.radio(key="draw_source").set_value("Upload a picture")
    run(at)
    at.file_uploader(key="digit_upload").upload("digit.png", content, "image/png")
    run(at)
    no_exception(at)
    assert at.error, "a broken picture should give an error message"
    assert not at.main.metric


def test_no_page_shows_a_streamlit_warning_or_not_a_number():
    """Charts never carry NaN, and no page renders a Streamlit API warning."""
    at = new_app()
    for page in PAGES:
        go(at, page)
        no_exception(at)
        assert not at.warning, (page, texts(at.warning))
        for spec, frame in charts(at):
            assert not frame.isna().any().any(), (page, spec.get("title"))
