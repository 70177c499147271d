"""The model store is private by default: what another session, a hostile visitor, can see and do.

Two AppTest sessions share one temporary models folder (``models_folder``). A session sees its
own models and the published ones; only the owner can publish, replace, unpublish or delete a
model; a session and the server have quotas, the oldest unpublished models going first.
"""
import os
import re
import zipfile

import numpy as np
import pytest

from app_helpers import (app_data, click, guard_real_models, models_folder, new_app, no_exception,  # noqa: F401
                         run, same_weights, set_widgets, texts)
from core import ModelFileError, Net, limits
from ui import model_store
from ui.sidebar import plain

MESSAGE_KINDS = ("success", "error", "warning", "info", "caption", "markdown")


def _net(seed, dtype=np.float32):
    return Net([784, 16, 10], output="softmax", cost="cross_entropy", init="he", seed=seed, dtype=dtype)


def _owner(at):
    return at.session_state["model_owner"]


def _save(at, name, replace=False):
    set_widgets(at, save_name=name, save_replace=replace)
    return click(at, "save_button")


def _choose(at, value):
    at.selectbox(key="load_choice").set_value(value)
    return run(at)


def _upload(at, net):
    uploader, = at.sidebar.get("file_uploader")
    uploader.upload("upload.npz", net.to_bytes())
    return run(at)


def _messages(at):
    return [t for kind in MESSAGE_KINDS for t in texts(getattr(at.sidebar, kind))]


def _own_file(folder, owner, name):
    return folder / "private" / owner / f"{name}.npz"


def _has_button(at, key):
    try:
        at.button(key=key)
    except KeyError:
        return False
    return True


# ----- two sessions -----------------------------------------------------------------------------

def test_another_session_sees_a_model_only_once_it_is_published_and_cannot_change_it(models_folder):
    a, b = new_app(), new_app()
    a_net = app_data(a).net
    _save(a, "mine")
    no_exception(a)
    assert texts(a.sidebar.success) == ["Saved as 'mine'."]
    a_file = _own_file(models_folder, _owner(a), "mine")
    a_bytes = a_file.read_bytes()

    # B neither lists nor loads A's private model, whatever it types
    run(b)
    assert b.selectbox(key="load_choice").options == ["default"]
    for guess in ("mine", "mine (published)", f"private/{_owner(a)}/mine"):
        with pytest.raises((ModelFileError, ValueError)):
            model_store.load_model(guess, owner=_owner(b))

    # B saves its own "mine": a private namespace, A's file untouched
    b_net = _net(seed=7)
    _upload(b, b_net)
    _save(b, "mine")
    assert texts(b.sidebar.success) == ["Saved as 'mine'."]
    assert a_file.read_bytes() == a_bytes

    # A publishes: B lists it beside its own, loads it, and gets no way to change it
    _choose(a, "mine")
    click(a, "publish_button")
    no_exception(a)
    assert texts(a.sidebar.success) == [plain("Published 'mine': every visitor can load it now.")]
    run(a)
    assert a.selectbox(key="load_choice").options == ["default", "mine (yours, published)"]
    run(b)
    assert b.selectbox(key="load_choice").options == ["default", "mine (yours)", "mine (published)"]
    _choose(b, "mine (published)")
    assert not _has_button(b, "publish_button") and not _has_button(b, "delete_button")
    click(b, "load_button")
    no_exception(b)
    assert texts(b.sidebar.success) == ["Loaded 'mine'."]
    assert same_weights(app_data(b).net, a_net)
    assert b.text_input(key="save_name").value == ""  # A's name is not offered to B
    assert not b.checkbox(key="save_replace").value

    # B cannot publish its own "mine" over A's, nor replace or delete A's through its own
    _choose(b, "mine")
    click(b, "publish_button")
    no_exception(b)
    assert texts(b.sidebar.error) == ["A model named 'mine' is already published; save yours under another name "
                                      "to publish it."]
    _upload(b, b_net)
    _save(b, "mine", replace=True)
    assert texts(b.sidebar.success) == ["Saved as 'mine'."]
    _choose(b, "mine")
    click(b, "delete_button")
    assert texts(b.sidebar.success) == ["Deleted 'mine'."]
    assert (models_folder / "mine.npz").read_bytes() == a_bytes and a_file.read_bytes() == a_bytes
    for change in (model_store.delete_model, model_store.publish_model):
        with pytest.raises(ModelFileError, match="no longer saved"):
            change("mine", _owner(b))  # B has no "mine" now
    model_store.unpublish_model("mine", _owner(b))  # not B's: nothing happens
    assert (models_folder / "mine.npz").read_bytes() == a_bytes
    run(b)
    assert b.selectbox(key="load_choice").options == ["default", "mine"]

    # A deletes it: gone for B too
    _choose(a, "mine")
    click(a, "delete_button")
    assert texts(a.sidebar.success) == ["Deleted 'mine'."]
    run(b)
    assert b.selectbox(key="load_choice").options == ["default"]
    assert sorted(p.name for p in models_folder.iterdir()) == ["default.npz"]
    for at in (a, b):
        assert all(_owner(at) not in message for message in _messages(at))


def test_an_owner_can_unpublish_and_replace_a_published_model_in_place(models_folder):
    owner = model_store.new_owner()
    model_store.save_model(_net(1), "shared", owner=owner)
    model_store.publish_model("shared", owner)
    model_store.save_model(_net(2), "shared", overwrite=True, owner=owner)
    assert model_store.published_models() == ["default", "shared"]
    assert same_weights(model_store.load_model("shared"), _net(2))  # the published copy was replaced too
    model_store.unpublish_model("shared", owner)
    assert model_store.published_models() == ["default"]
    assert model_store.own_models(owner) == {"shared": False}


def test_the_replace_box_is_unticked_after_a_save_and_a_load(models_folder):
    at = new_app()
    _save(at, "first", replace=True)
    assert texts(at.sidebar.success) == ["Saved as 'first'."]
    assert not at.checkbox(key="save_replace").value
    set_widgets(at, save_replace=True)
    _choose(at, "first")
    click(at, "load_button")
    assert texts(at.sidebar.success) == ["Loaded 'first'."]
    assert not at.checkbox(key="save_replace").value
    assert at.text_input(key="save_name").value == "first"  # the session's own model keeps its name


# ----- quotas -------------------------------------------------------------------------------------

def test_a_session_has_a_quota_and_is_told_to_delete_one(models_folder, monkeypatch):
    monkeypatch.setattr(limits, "MAX_MODELS_PER_SESSION", 2)
    at = new_app()
    for name in ("one", "two"):
        _save(at, name)
        assert texts(at.sidebar.success) == [f"Saved as '{name}'."]
    _save(at, "three")
    no_exception(at)
    errors = texts(at.sidebar.error)
    assert len(errors) == 1 and "2 saved models" in errors[0] and "delete one" in errors[0], errors
    assert model_store.own_models(_owner(at)) == {"one": False, "two": False}
    _save(at, "two", replace=True)  # replacing one of them needs no room
    assert texts(at.sidebar.success) == ["Saved as 'two'."]
    model_store.delete_model("one", _owner(at))
    _save(at, "three")
    assert texts(at.sidebar.success) == ["Saved as 'three'."]


def _age(folder, owner, name, seconds_ago):
    path = _own_file(folder, owner, name) if owner else folder / f"{name}.npz"
    then = path.stat().st_mtime - seconds_ago
    os.utime(path, (then, then))


def test_the_server_cap_removes_the_oldest_unpublished_models_first(models_folder, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SAVED_MODELS", 4)  # the default counts too
    a, b = model_store.new_owner(), model_store.new_owner()
    model_store.save_model(_net(1), "a-old", owner=a)
    model_store.publish_model("a-old", a)
    model_store.save_model(_net(2), "b-old", owner=b)
    model_store.save_model(_net(3), "a-new", owner=a)
    _age(models_folder, a, "a-old", 300)  # the oldest, but published
    _age(models_folder, b, "b-old", 200)
    _age(models_folder, a, "a-new", 100)

    model_store.save_model(_net(4), "b-new", owner=b)
    assert model_store.own_models(b) == {"b-new": False}  # b-old went
    assert model_store.own_models(a) == {"a-new": False, "a-old": True}

    model_store.save_model(_net(5), "a-newer", owner=a)
    assert model_store.own_models(a) == {"a-newer": False, "a-old": True}  # a-new was the oldest unpublished
    assert model_store.own_models(b) == {"b-new": False}


def test_the_server_byte_cap_evicts_too_and_only_published_models_are_never_evicted(models_folder, monkeypatch):
    size = len(_net(0).to_bytes())
    default_size = (models_folder / "default.npz").stat().st_size
    monkeypatch.setattr(limits, "MAX_SAVED_MODEL_BYTES", default_size + 2 * size + size // 2)
    owner = model_store.new_owner()
    model_store.save_model(_net(1), "first", owner=owner)
    model_store.save_model(_net(2), "second", owner=owner)
    _age(models_folder, owner, "first", 100)
    model_store.save_model(_net(3), "third", owner=owner)
    assert model_store.own_models(owner) == {"second": False, "third": False}

    model_store.publish_model("second", owner)
    model_store.publish_model("third", owner)
    with pytest.raises(model_store.ModelQuotaError, match="no room for another saved model"):
        model_store.save_model(_net(4), "fourth", owner=owner)
    assert model_store.own_models(owner) == {"second": True, "third": True}


# ----- files --------------------------------------------------------------------------------------

def test_a_float64_network_is_saved_as_float32(models_folder):
    owner = model_store.new_owner()
    net = _net(5, dtype=np.float64)
    model_store.save_model(net, "wide", owner=owner)
    with zipfile.ZipFile(_own_file(models_folder, owner, "wide")) as archive:
        with archive.open("w0.npy") as member:
            assert np.lib.format.read_array(member).dtype == np.float32
    loaded = model_store.load_model("wide", owner=owner)
    assert loaded.dtype == np.float32 and net.dtype == np.float64  # the session's network is unchanged
    np.testing.assert_allclose(loaded.weights[0], net.weights[0], rtol=1e-6)


def test_owner_tokens_are_random_hex_and_anything_else_is_refused(models_folder, tmp_path):
    tokens = {model_store.new_owner() for _ in range(50)}
    assert len(tokens) == 50 and all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tokens)
    a, b = new_app(), new_app()
    assert _owner(a) != _owner(b) and re.fullmatch(r"[0-9a-f]{32}", _owner(a))
    for bad in ("..", "../x", "", "ABCDEF" * 6, "g" * 32, 3, _owner(a) + "/..", "0" * 31):
        with pytest.raises(ValueError):
            model_store.save_model(_net(1), "x", owner=bad)
        with pytest.raises(ValueError):
            model_store.own_models(bad)
    assert sorted(p.name for p in models_folder.iterdir()) == ["default.npz"]
