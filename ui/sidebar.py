"""The sidebar on every page: the current network at a glance, and save / load controls."""
import re
import weakref
from dataclasses import dataclass

import streamlit as st

from core import ModelFileError, Net

from . import model_store
from .resources import default_net
from .session import flash, session, show_flash


def describe(net):
    """'784 → 30 → 10' and a one-line summary of the network's settings."""
    arrows = " → ".join(str(s) for s in net.sizes)
    hidden = f"{net.hidden} hidden" if len(net.sizes) > 2 else "no hidden layer"
    return arrows, f"{hidden}, {net.output} output, {net.cost.replace('_', '-')} cost"


def plain(text):
    """``text`` shown as written: Streamlit renders messages as Markdown, which would eat a
    backslash, turn '_x_' into italics, ':smile:' into an emoji, '$x$' into maths and so on."""
    return re.sub(r"([\\`*_{}\[\]<>#$~|:&])", r"\\\1", text)


def epochs_text(count):
    return f"{count} epoch{'' if count == 1 else 's'}"


def accuracy_text(net):
    return "–" if net.test_accuracy is None else f"{100 * net.test_accuracy:.2f}%"


def render_sidebar():
    data = session()
    with st.sidebar:
        _current_model(data)
        show_flash()
        with st.expander("Save this network", icon=":material/save:"):
            _save_controls(data)
        with st.expander("Load a network", icon=":material/folder_open:"):
            _load_controls(data)


def _current_model(data):
    @st.fragment(run_every=1.0 if data.training else None)
    def current_model():
        net = data.net
        arrows, settings = describe(net)
        st.subheader("Current network")
        st.caption(data.model_name)
        st.metric("Test accuracy", accuracy_text(net),
                  help="On the 10,000 MNIST test images, measured when training ends")
        st.markdown(f"**{arrows}**  \n{settings}  \n{net.n_parameters:,} parameters · "
                    f"{epochs_text(len(net.history))} trained")
        if data.training:
            snap = data.job.snapshot()
            where = "waiting for a training slot" if snap.status == "queued" else \
                f"epoch {max(snap.run_epoch, 1)} of {snap.run_epochs}"
            st.info(f"Training: {where}", icon=":material/hourglass_top:")
        data.rerun_if_job_finished()

    current_model()


OWNER_KEY = "model_owner"          # this session's private owner token (see ui.model_store)
BORROWED_KEY = "borrowed_net"       # a weak reference to a network loaded from another session's model
RESET_REPLACE_KEY = "reset_save_replace"


@dataclass(frozen=True)
class Choice:
    """One entry of the load list."""

    name: str
    own: bool
    published: bool

    def label(self, value):
        """What the list shows for ``value``: the session's own models are marked as such."""
        if self.own:
            return f"{self.name} (yours, published)" if self.published else f"{self.name} (yours)"
        return value


def _owner():
    """This session's owner token: made once, random, never shown."""
    if OWNER_KEY not in st.session_state:
        st.session_state[OWNER_KEY] = model_store.new_owner()
    return st.session_state[OWNER_KEY]


def _save_controls(data):
    if data.training:
        st.caption("Saving is possible once training has finished or been stopped.")
        return
    if st.session_state.pop(RESET_REPLACE_KEY, False):
        st.session_state["save_replace"] = False
    _suggest_save_name(data)
    name = st.text_input("Name", key="save_name", placeholder="e.g. my-first-net",
                         help=plain(model_store.NAME_HELP))
    replace = st.checkbox("Replace your saved model of that name", key="save_replace")
    if st.button("Save to the server", icon=":material/save:", key="save_button",
                 help="Only you see the models you save, until you publish them (under Load a network)."):
        _save(data, name, replace)
    net = data.net
    st.download_button("Download (.npz)", data=lambda: net.to_bytes(),
                       file_name=f"{model_store.suggested_name(data.model_name) or 'network'}.npz",
                       mime="application/octet-stream", on_click="ignore", icon=":material/download:",
                       key="download_button")


def _suggest_save_name(data):
    """Fill in the save name when the current network changes; otherwise keep what the user typed.

    A network loaded from another session's model gets no suggestion: its name is theirs.
    """
    net, label = st.session_state.get("save_name_for", (None, None))
    if "save_name" not in st.session_state or net is not data.net or label != data.model_name:
        borrowed = st.session_state.get(BORROWED_KEY)
        own = borrowed is None or borrowed() is not data.net
        st.session_state["save_name"] = model_store.suggested_name(data.model_name) if own else ""
        st.session_state["save_name_for"] = (data.net, data.model_name)


def _save(data, name, replace):
    try:
        saved = model_store.save_model(data.net, name, overwrite=replace, owner=_owner())
    except model_store.ModelExistsError as error:
        st.warning(plain(f"{error} Tick “Replace your saved model of that name” to overwrite it."))
    except (ValueError, model_store.ModelSaveError) as error:
        st.error(plain(str(error)))
    else:
        data.model_name = saved
        st.session_state.pop(BORROWED_KEY, None)
        st.session_state[RESET_REPLACE_KEY] = True
        flash("success", plain(f"Saved as '{saved}'."))
        st.rerun()


def _load_choices(owner):
    """{selectbox value: Choice}: the default, this session's models, then the others' published ones.

    Another session's published model whose name this session also uses is listed as
    "<name> (published)" (a value no model name can have).
    """
    own = model_store.own_models(owner)
    choices = {}
    for name in model_store.published_models():
        if name not in own:
            choices[name] = Choice(name, own=False, published=True)
        elif not own[name]:
            choices[f"{name} (published)"] = Choice(name, own=False, published=True)
    choices.update({name: Choice(name, own=True, published=published) for name, published in own.items()})
    return dict(sorted(choices.items(), key=lambda item: (item[1].name != model_store.DEFAULT_NAME,
                                                          not item[1].own, item[1].name)))


def _load_controls(data):
    if data.training:
        st.caption("Loading another network is possible once training has finished or been stopped.")
        return
    choices = _load_choices(_owner())
    value = st.selectbox("Saved on the server", list(choices), key="load_choice",
                         format_func=lambda v: choices[v].label(v) if v in choices else v) if choices else None
    choice = choices.get(value)
    columns = st.columns(2)
    if columns[0].button("Load", disabled=choice is None, key="load_button"):
        _load_saved(data, choice)
    if columns[1].button("Default", help="Go back to the pre-trained network", key="default_button"):
        net, name, problem = default_net()
        data.use_network(net, name)
        if problem:
            flash("warning", problem)
        else:
            flash("success", "Back to the pre-trained default network.")
        st.rerun()
    if choice is not None and choice.own:
        _own_model_controls(choice)
    key = f"model_upload_{st.session_state.get('model_uploads', 0)}"
    st.file_uploader("Or upload a .npz model file", type=["npz"], key=key, on_change=_load_upload, args=(key,))


def _own_model_controls(choice):
    """Publish or unpublish, and delete, one of this session's models."""
    columns = st.columns(2)
    if choice.published:
        if columns[0].button("Unpublish", key="unpublish_button", help="Make it private to you again"):
            _change_own_model(model_store.unpublish_model, choice.name, f"'{choice.name}' is private again.")
    elif columns[0].button("Publish", key="publish_button",
                           help="Let every visitor load it; only you can replace or delete it"):
        _change_own_model(model_store.publish_model, choice.name,
                          f"Published '{choice.name}': every visitor can load it now.")
    if columns[1].button("Delete", key="delete_button", help="Delete it from the server"):
        _change_own_model(model_store.delete_model, choice.name, f"Deleted '{choice.name}'.")


def _change_own_model(change, name, done):
    try:
        change(name, _owner())
    except ModelFileError as error:
        st.error(plain(f"'{name}' was not changed: {error}."))
    except (ValueError, model_store.ModelSaveError) as error:
        st.error(plain(str(error)))
    else:
        flash("success", plain(done))
        st.rerun()


def _not_for_mnist(net):
    """Why a (valid) model file cannot be used by the pages, or None: they need 784 inputs and 10 outputs."""
    if net.sizes[0] != 784 or net.sizes[-1] != 10:
        return f"it is a {describe(net)[0]} network; this app needs 784 inputs (28×28 pixels) and 10 outputs"
    return None


def _load_saved(data, choice):
    name = choice.name
    try:
        net = model_store.load_model(name, owner=_owner(), published=not choice.own)
    except ModelFileError as error:
        st.error(plain(f"Could not load '{name}': {error}."))
        return
    if _not_for_mnist(net):
        st.error(plain(f"Could not load '{name}': {_not_for_mnist(net)}."))
        return
    data.use_network(net, name)
    if choice.own:
        st.session_state.pop(BORROWED_KEY, None)
    else:
        st.session_state[BORROWED_KEY] = weakref.ref(net)
    st.session_state[RESET_REPLACE_KEY] = True
    flash("success", plain(f"Loaded '{name}'."))
    st.rerun()


def _load_upload(key):
    """on_change of the uploader: runs once per new file, before the page.

    The uploader is then replaced by an empty one (a new key), so that a refused file
    does not stay in it looking loaded, and the same file can be uploaded again.
    """
    upload = st.session_state.get(key)
    if upload is None:
        return
    st.session_state["model_uploads"] = st.session_state.get("model_uploads", 0) + 1
    try:
        net = Net.from_bytes(upload.getvalue())
    except ModelFileError as error:
        flash("error", plain(f"'{upload.name}' was not loaded: {error}. The current network is unchanged."))
        return
    if _not_for_mnist(net):
        flash("error", plain(f"'{upload.name}' was not loaded: {_not_for_mnist(net)}. "
                             "The current network is unchanged."))
        return
    session().use_network(net, f"{upload.name} (uploaded)")
    flash("success", plain(f"Loaded '{upload.name}'."))
