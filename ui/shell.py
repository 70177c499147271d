"""The frame every page shares: page config, navigation and the sidebar.

Streamlit runs a page file on its own (without ``dashboard.py``) when the very
first visitor of a fresh server opens a deep link such as ``/train``. Each page
therefore starts with ``page_frame()``: run through the navigation it does
nothing; run alone it runs the whole app instead (navigation, sidebar, then the
page itself through ``st.navigation``) and stops the bare run.
"""
import threading
from pathlib import Path

import streamlit as st

from .session import session
from .sidebar import render_sidebar
from .train_form import keep_settings

ROOT = Path(__file__).resolve().parent.parent
_PAGES = [
    ("pages/home.py", "Home", ":material/home:", "home"),
    ("pages/train.py", "Build & Train", ":material/model_training:", "train"),
    ("pages/draw.py", "Draw", ":material/draw:", "draw"),
    ("pages/imagine.py", "Imagine", ":material/psychology:", "imagine"),
    ("pages/evaluate.py", "Evaluate", ":material/analytics:", "evaluate"),
]
_local = threading.local()


def run():
    """The app: config, navigation, sidebar, and the selected page."""
    st.set_page_config(page_title="See a neural network learn", page_icon=":material/neurology:",
                       layout="wide")
    pages = [st.Page(ROOT / path, title=title, icon=icon, url_path=url, default=(url == "home"))
             for path, title, icon, url in _PAGES]
    current = st.navigation(pages)
    keep_settings()
    session().mark_finished_job_shown()
    render_sidebar()
    _local.inside = True
    try:
        current.run()
    finally:
        _local.inside = False


def page_frame():
    """Call first in every page file (see the module docstring)."""
    if getattr(_local, "inside", False):
        return
    run()
    st.stop()
