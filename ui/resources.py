"""Heavy things shared by every session, loaded once per server process."""
import streamlit as st

from core import Net, load_mnist

from .model_store import DEFAULT_NAME, model_path


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist():
    """train, validation, test (read-only arrays shared by all sessions)."""
    return load_mnist()


@st.cache_resource(show_spinner=False)
def _default_model_bytes():
    return model_path(DEFAULT_NAME).read_bytes()


DEFAULT_LABEL = "default (pre-trained)"


def default_net():
    """(network, its label, a problem or None): a fresh copy of the shipped model for one session.

    The file is read once per process. If it cannot be used (missing, corrupt, or over
    this server's limits), the session gets an untrained 784-30-10 network and the reason.
    """
    try:
        return Net.from_bytes(_default_model_bytes()), DEFAULT_LABEL, None
    except OSError as error:  # its message would show the server's path: name the file only
        reason = f"cannot read '{DEFAULT_NAME}.npz' ({error.strerror or type(error).__name__})"
    except ValueError as error:
        reason = str(error)
    problem = f"The pre-trained model could not be loaded ({reason}); this is an untrained network."
    return Net([784, 30, 10], seed=0), "untrained 784-30-10", problem
