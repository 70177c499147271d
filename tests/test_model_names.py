"""Model names through the sidebar (AppTest): what is listed loads, names round-trip, every
refused name gets a message saying what is wrong with it, and no message shows a server path.

Messages are Markdown; ``rendered`` reads them as a person sees them.
"""
import os
import re

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from app_helpers import (app_data, click, guard_real_models, models_folder, new_app, no_exception,  # noqa: F401
                         run, same_weights, set_widgets, texts)
from core import ModelFileError, Net
from ui import model_store

RULE = "a model name uses only letters, digits, '-', '_' and '.'."
MARKDOWN = set("\\`*_{}[]<>#$~|:&")  # characters that are Markdown syntax unless escaped


def rendered(markdown):
    """The text a reader sees: backslash escapes resolved (CommonMark); any other Markdown fails."""
    shown, chars = [], iter(markdown)
    for char in chars:
        if char == "\\":
            char = next(chars)
            assert char in MARKDOWN | set("'.-!()"), f"stray backslash in {markdown!r}"
        else:
            assert char not in MARKDOWN, f"unescaped Markdown {char!r} in {markdown!r}"
        shown.append(char)
    return "".join(shown)


def sidebar_messages(at, kind):
    return [rendered(t) for t in texts(getattr(at.sidebar, kind))]


def save(at, name, replace=False):
    set_widgets(at, save_name=name, save_replace=replace)
    return click(at, "save_button")


def load(at, name):
    at.selectbox(key="load_choice").set_value(name)
    return click(at, "load_button")


def upload(at, name, content):
    uploader, = at.sidebar.get("file_uploader")
    uploader.upload(name, content)
    return run(at)


def no_folder_in(messages, folder):
    for message in messages:
        assert str(folder) not in message and "/" not in message, message


# ----- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, name", [
    ("x.npz.npz", "x"), ("x.npz", "x"), ("X.NPZ", "X"), ("a.b", "a.b"), ("v1.2_final", "v1.2_final"),
    ("my first net", "my-first-net"), ("café", "café"), ("cafe\u0301 2", "café-2"), ("ネット", "ネット"),
])
def test_a_saved_name_is_listed_loads_and_is_suggested_again(models_folder, typed, name):
    first = new_app()
    save(first, typed)
    no_exception(first)
    assert sidebar_messages(first, "success") == [f"Saved as '{name}'."]
    assert first.text_input(key="save_name").value == name  # saving the suggestion again means the same model
    assert new_app().selectbox(key="load_choice").options == ["default"]  # private until published
    first.selectbox(key="load_choice").set_value(name)
    run(first)  # choosing one of the session's own models shows its Publish button
    click(first, "publish_button")
    no_exception(first)

    second = new_app()
    assert second.selectbox(key="load_choice").options == ["default", name]
    load(second, name)
    no_exception(second)
    assert sidebar_messages(second, "success") == [f"Loaded '{name}'."]
    assert app_data(second).model_name == name
    assert same_weights(app_data(second).net, app_data(first).net)
    assert second.text_input(key="save_name").value == ""  # another session's name is not suggested


def test_a_file_saved_with_a_double_extension_is_listed_and_loads(models_folder):
    """Before names were cleaned of every '.npz', saving 'x.npz.npz' wrote x.npz.npz; it is listed as 'x.npz'."""
    net = Net([784, 12, 10], output="softmax", cost="cross_entropy", seed=4)
    net.save(models_folder / "x.npz.npz")
    at = new_app()
    assert at.selectbox(key="load_choice").options == ["default", "x.npz"]
    load(at, "x.npz")
    no_exception(at)
    assert not at.sidebar.error, sidebar_messages(at, "error")
    assert sidebar_messages(at, "success") == ["Loaded 'x.npz'."]
    assert same_weights(app_data(at).net, net)
    assert at.text_input(key="save_name").value == ""  # a published model's name is not this session's


@pytest.mark.parametrize("uploaded, download", [("network.npz", "network.npz"), ("x.npz.npz", "x.npz"),
                                                ("my net (2).npz", "my-net-2.npz")])
def test_an_upload_is_downloaded_under_its_own_name(monkeypatch, uploaded, download):
    names = []
    add_deferred = MediaFileManager.add_deferred

    def record(self, *args, file_name=None, **kwargs):
        names.append(file_name)
        return add_deferred(self, *args, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    at = new_app()
    upload(at, uploaded, Net([784, 10], output="softmax", cost="cross_entropy", seed=2).to_bytes())
    no_exception(at)
    assert sidebar_messages(at, "success") == [f"Loaded '{uploaded}'."]
    assert names[-1] == download
    assert at.text_input(key="save_name").value == download[:-len(".npz")]


# ----- messages without a server path -------------------------------------------------------------

def test_a_model_deleted_after_listing_gives_a_message_without_the_folder(models_folder):
    Net([784, 10], output="softmax", cost="cross_entropy", seed=5).save(models_folder / "gone.npz")
    assert model_store.saved_models() == ["default", "gone"]
    (models_folder / "gone.npz").unlink()
    with pytest.raises(ModelFileError) as error:
        model_store.load_model("gone")
    assert str(error.value) == "it is no longer saved on the server"


def test_a_failed_write_gives_a_message_without_the_folder(models_folder, monkeypatch):
    def disk_full(source, target, *args, **kwargs):
        raise OSError(28, "No space left on device", str(source), None, str(target))

    monkeypatch.setattr(os, "link", disk_full)
    at = new_app()
    save(at, "big")
    no_exception(at)
    assert sidebar_messages(at, "error") == ["The server could not write the model 'big' (No space left on device)."]
    assert sorted(p.name for p in models_folder.iterdir()) == ["default.npz"]


# ----- refused names ----------------------------------------------------------------------------

@pytest.mark.parametrize("typed, message", [
    ("", "Give the model a name."),
    ("   ", "Give the model a name."),
    (".npz", "'.npz' has no name before '.npz'; give the model a name."),
    ("a\\b", f"'a\\b' contains '\\'; {RULE}"),
    ("a/b", f"'a/b' contains '/'; {RULE}"),
    ("../../x", f"'../../x' contains '/'; {RULE}"),
    ("semi;colon", f"'semi;colon' contains ';'; {RULE}"),
    ("*bold* $x$", f"'*bold*-$x$' contains '*' and '$'; {RULE}"),
    ("a:b|c<d", f"'a:b|c<d' contains ':', '|' and '<'; {RULE}"),
    ("bell\x07", f"'bell?' contains the invisible character U+0007; {RULE}"),
    ("-dash", "'-dash' starts with '-'; a model name starts with a letter or a digit."),
    (".hidden", "'.hidden' starts with '.'; a model name starts with a letter or a digit."),
    ("_x", "'_x' starts with '_'; a model name starts with a letter or a digit."),
    ("é" * 51, f"'{'é' * 39}…' has 51 characters; a model name has at most 50."),
    ("default", "'default' is the name of the pre-trained model, which cannot be replaced; choose another name."),
    ("DEFAULT.npz", "'DEFAULT' is the name of the pre-trained model, which cannot be replaced; choose another name."),
])
def test_a_refused_name_is_told_what_is_wrong_with_it(models_folder, typed, message):
    at = new_app()
    save(at, typed, replace=True)
    no_exception(at)
    assert sidebar_messages(at, "error") == [message]
    assert not at.sidebar.success
    assert sorted(p.name for p in models_folder.iterdir()) == ["default.npz"]


def test_a_name_differing_only_in_capitals_is_refused(models_folder):
    at = new_app()
    save(at, "Keep")
    save(at, "keep", replace=True)
    no_exception(at)
    assert sidebar_messages(at, "error") == [
        "'keep' differs from the saved model 'Keep' only in capitals; choose another name, "
        "or type 'Keep' to replace that model."]
    own = models_folder / "private" / at.session_state["model_owner"]
    assert sorted(p.name for p in own.iterdir()) == ["Keep.npz"]


def test_the_help_states_the_rule_the_messages_apply():
    at = new_app()
    help_text = rendered(at.text_input(key="save_name").help)
    assert help_text == ("A model name uses letters, digits, '-', '_' and '.', starting with a letter or a digit, "
                         "at most 50 characters. Spaces become '-', and a final '.npz' is dropped.")
    longest = "Ab3_-.é" * 7 + "z"  # every kind of character the help allows, 50 of them
    save(at, longest)
    assert sidebar_messages(at, "success") == [f"Saved as '{longest}'."]


def test_upload_names_are_shown_as_written(models_folder):
    at = new_app()
    upload(at, "a_b_c [1] $x$.npz", os.urandom(100))
    errors = sidebar_messages(at, "error")
    assert len(errors) == 1 and errors[0].startswith("'a_b_c [1] $x$.npz' was not loaded: "), errors
    assert re.search(r"The current network is unchanged\.$", errors[0])
