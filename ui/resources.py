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


def default_net():
    """A fresh copy of the shipped model for one session (parsed from bytes cached per process)."""
    return Net.from_bytes(_default_model_bytes())
