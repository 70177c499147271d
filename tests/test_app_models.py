"""Saving, loading and uploading models through the sidebar (AppTest), in a temporary models folder.

``models_folder`` points ``ui.model_store.MODELS_DIR`` at a temporary folder holding a copy
of the shipped default; ``guard_real_models`` fails any test that touches data/models/.
AppTest 1.67 drives ``st.file_uploader`` (``upload(...)``), so the uploader's on_change
handler runs exactly as in a browser.
"""
import os
from pathlib import Path

import numpy as np
import pytest

from app_helpers import (app_data, click, finish_training, go, guard_real_models, models_folder,  # noqa: F401
                         new_app, no_exception, run, same_weights, set_widgets, sidebar_accuracy, texts)
from core import Net


def _folder_files(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def _trained_session():
    """A session whose current network was trained here (1 epoch on 500 examples)."""
    at = new_app("pages/train.py")
    set_widgets(at, cfg_train_size=500, cfg_epochs=1)
    click(at, "train_button")
    assert finish_training(at).status == "completed"
    return at


def _save(at, name, replace=False):
    set_widgets(at, save_name=name, save_replace=replace)
    return click(at, "save_button")


def _own_file(folder, at, name):
    """Where the session ``at`` keeps its private model ``name`` (ui.model_store's layout)."""
    return folder / "private" / at.session_state["model_owner"] / f"{name}.npz"


def _publish(at, name):
    at.selectbox(key="load_choice").set_value(name)
    run(at)  # choosing one of the session's own models shows its Publish button
    return click(at, "publish_button")


def test_save_then_load_in_another_session_round_trips(models_folder):
    first = _trained_session()
    net = app_data(first).net
    assert first.text_input(key="save_name").value == "run-1"  # suggested from the run's name
    _save(first, "my first net")
    no_exception(first)
    assert texts(first.sidebar.success) == ["Saved as 'my-first-net'."]
    assert app_data(first).model_name == "my-first-net"
    assert sorted(p.name for p in models_folder.iterdir()) == ["default.npz", "private"]
    assert same_weights(Net.load(_own_file(models_folder, first, "my-first-net")), net)
    assert new_app().selectbox(key="load_choice").options == ["default"]  # private until published
    _publish(first, "my-first-net")
    no_exception(first)

    second = new_app()
    assert second.selectbox(key="load_choice").options == ["default", "my-first-net"]
    second.selectbox(key="load_choice").set_value("my-first-net")
    click(second, "load_button")
    no_exception(second)
    assert texts(second.sidebar.success) == ["Loaded 'my-first-net'."]
    loaded = app_data(second).net
    assert loaded is not net and same_weights(loaded, net)
    assert loaded.test_accuracy == net.test_accuracy
    assert loaded.history == net.history
    assert app_data(second).model_name == "my-first-net"
    assert second.text_input(key="save_name").value == ""  # not pre-filled with another session's name
    assert sidebar_accuracy(second) == sidebar_accuracy(first) == f"{100 * net.test_accuracy:.2f}%"
    # the loaded network is what the pages use
    go(second, "pages/home.py")
    assert {m.label: m.value for m in second.main.metric}["Epochs trained"] == "1"

    # "Default" goes back to the shipped model
    click(second, "default_button")
    assert app_data(second).model_name == "default (pre-trained)"
    assert same_weights(app_data(second).net, Net.load(models_folder / "default.npz"))


def test_an_existing_name_is_only_replaced_when_asked(models_folder):
    at = _trained_session()
    _save(at, "keep")
    path = _own_file(models_folder, at, "keep")
    saved = path.read_bytes()
    click(at, "default_button")  # now the current network differs from the saved one
    _save(at, "keep")
    no_exception(at)
    assert any("already exists" in t and "Replace" in t for t in texts(at.sidebar.warning)), texts(at.sidebar.warning)
    assert path.read_bytes() == saved
    assert app_data(at).model_name == "default (pre-trained)"

    _save(at, "keep", replace=True)
    no_exception(at)
    assert texts(at.sidebar.success) == ["Saved as 'keep'."]
    assert path.read_bytes() != saved
    assert same_weights(Net.load(path), app_data(at).net)
    assert sorted(p.name for p in models_folder.iterdir()) == ["default.npz", "private"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["keep.npz"]


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", ".hidden", "default", "DEFAULT.npz", "a/b", "..",
                                  "   ", "x" * 65, "semi;colon"])
def test_unsafe_names_are_refused_and_nothing_is_written(models_folder, tmp_path, name):
    at = new_app()
    default_bytes = (models_folder / "default.npz").read_bytes()
    before = _folder_files(tmp_path)
    _save(at, name, replace=True)
    no_exception(at)
    assert at.sidebar.error, f"no message for {name!r}"
    assert not at.sidebar.success
    assert _folder_files(tmp_path) == before
    assert (models_folder / "default.npz").read_bytes() == default_bytes
    for outside in (Path("/etc/passwd.npz"), (models_folder / "../../x.npz").resolve(), Path("/x.npz")):
        assert not outside.exists(), outside
    assert app_data(at).model_name == "default (pre-trained)"


def test_a_broken_file_in_the_folder_gives_a_message(models_folder):
    (models_folder / "broken.npz").write_bytes(os.urandom(2000))
    at = new_app()
    net = app_data(at).net
    at.selectbox(key="load_choice").set_value("broken")
    click(at, "load_button")
    no_exception(at)
    assert any(t.startswith("Could not load 'broken'") for t in texts(at.sidebar.error)), texts(at.sidebar.error)
    assert app_data(at).net is net


def test_saved_models_list_hides_hidden_files_and_puts_default_first(models_folder):
    for name in ("zeta", "alpha"):
        tiny = Net([784, 10], output="softmax", cost="cross_entropy", seed=1)
        tiny.save(models_folder / f"{name}.npz")
    (models_folder / ".secret.npz").write_bytes(b"x")
    (models_folder / "notes.txt").write_text("not a model")
    at = new_app()
    assert at.selectbox(key="load_choice").options == ["default", "alpha", "zeta"]


# ----- uploads --------------------------------------------------------------------------------

def _uploader(at):
    uploader, = at.sidebar.get("file_uploader")
    return uploader


def _upload(at, name, content):
    _uploader(at).upload(name, content)
    return run(at)


def _valid_model_bytes():
    net = Net([784, 16, 10], output="softmax", cost="cross_entropy", init="he", seed=7)
    net.test_accuracy = 0.1234
    return net, net.to_bytes()


@pytest.mark.parametrize("kind", ["random", "truncated", "empty", "wrong-architecture", "not-finite"])
def test_a_bad_upload_leaves_the_current_network_untouched(kind, modelfiles):
    good_net, good = _valid_model_bytes()
    if kind == "random":
        content = os.urandom(4096)
    elif kind == "truncated":
        content = good[: len(good) // 2]
    elif kind == "empty":
        content = b""
    elif kind == "wrong-architecture":  # a valid model file, but not 784 pixels in, 10 digits out
        content = modelfiles.tiny_net().to_bytes()
    else:
        metadata, arrays = modelfiles.split(good)
        arrays["w0"] = arrays["w0"].copy()
        arrays["w0"][0, 0] = np.nan
        content = modelfiles.build(metadata, arrays)
    at = new_app()
    data = app_data(at)
    net, name = data.net, data.model_name
    weights = [w.copy() for w in net.weights]
    _upload(at, f"{kind}.npz", content)
    no_exception(at)
    errors = texts(at.sidebar.error)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"'{kind}.npz' was not loaded") and "unchanged" in errors[0], errors
    assert data.net is net and data.model_name == name
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.weights))
    # every page still works with the network the session kept
    for page in ("pages/imagine.py", "pages/evaluate.py"):
        go(at, page)
        no_exception(at)


def test_a_valid_upload_becomes_the_current_network():
    good_net, good = _valid_model_bytes()
    at = new_app()
    _upload(at, "mine.npz", good)
    no_exception(at)
    assert texts(at.sidebar.success) == ["Loaded 'mine.npz'."]
    data = app_data(at)
    assert data.model_name == "mine.npz (uploaded)"
    assert same_weights(data.net, good_net)
    assert sidebar_accuracy(at) == "12.34%"
    run(at)  # the message is shown once, and the uploader does not load the file again
    assert not at.sidebar.success and data.model_name == "mine.npz (uploaded)"


def test_a_refused_upload_is_cleared_from_the_uploader_and_its_message_stays():
    at = new_app()
    _upload(at, "bad.npz", os.urandom(4096))
    no_exception(at)
    errors = texts(at.sidebar.error)
    assert len(errors) == 1 and errors[0].startswith("'bad.npz' was not loaded"), errors
    assert _uploader(at).value is None  # an empty uploader: nothing looks loaded
    assert app_data(at).model_name == "default (pre-trained)"
    _, good = _valid_model_bytes()
    _upload(at, "good.npz", good)  # the emptied uploader takes the next file
    assert texts(at.sidebar.success) == ["Loaded 'good.npz'."]
    assert app_data(at).model_name == "good.npz (uploaded)"


def test_an_upload_fills_in_the_save_name():
    at = new_app()
    set_widgets(at, save_name="typed before")
    run(at)
    assert at.text_input(key="save_name").value == "typed before"  # what the user types is kept
    _, good = _valid_model_bytes()
    _upload(at, "my-net.npz", good)
    no_exception(at)
    assert at.text_input(key="save_name").value == "my-net"
    click(at, "save_button")
    assert texts(at.sidebar.success) == ["Saved as 'my-net'."]
    click(at, "default_button")  # the pre-trained model has no save name of its own
    assert at.text_input(key="save_name").value == ""


def test_a_network_without_hidden_layers_is_described_truly():
    at = new_app()
    _upload(at, "flat.npz", Net([784, 10], output="softmax", cost="cross_entropy", seed=3).to_bytes())
    no_exception(at)
    summary = [t for t in texts(at.sidebar.markdown) if "784 → 10" in t]
    assert len(summary) == 1 and "no hidden layer, softmax output, cross-entropy cost" in summary[0], summary
    assert "hidden," not in summary[0].replace("no hidden layer,", "")


def test_a_missing_default_model_is_reported_without_the_servers_path(models_folder):
    from ui import resources

    (models_folder / "default.npz").unlink()
    resources._default_model_bytes.clear()
    try:
        at = new_app()
        no_exception(at)
        warnings = texts(at.sidebar.warning) + texts(at.main.warning)
        assert len(warnings) == 1 and "The pre-trained model could not be loaded" in warnings[0], warnings
        assert "'default.npz'" in warnings[0]
        assert str(models_folder) not in warnings[0] and "/" not in warnings[0], warnings[0]
        assert app_data(at).model_name == "untrained 784-30-10"
    finally:
        resources._default_model_bytes.clear()
