"""The frame every page shares: page config, navigation and the sidebar.

Streamlit runs a page file on its own (without ``dashboard.py``) when the very
first visitor of a fresh server opens a deep link such as ``/train``. Each page
therefore starts with ``page_frame()``: run through the navigation it does
nothing; run alone it runs the whole app instead (navigation, sidebar, then the
page itself through ``st.navigation``) and stops the bare run.

Streamlit serves the default page (Home) at ``/`` only, so ``/home`` is a hidden
page of its own that shows Home too. The tab icon is a local file, so that the browser
fetches nothing from outside the server (a ``:material/...:`` icon comes from a font CDN).
"""
import threading
from pathlib import Path

import streamlit as st

from .session import session
from .sidebar import render_sidebar
from .train_form import keep_settings

ROOT = Path(__file__).resolve().parent.parent
PAGE_ICON = Path(__file__).resolve().parent / "favicon.png"
_PAGES = [
    ("pages/home.py", "Home", ":material/home:", ""),
    ("pages/train.py", "Build & Train", ":material/model_training:", "train"),
    ("pages/draw.py", "Draw", ":material/draw:", "draw"),
    ("pages/imagine.py", "Imagine", ":material/psychology:", "imagine"),
    ("pages/evaluate.py", "Evaluate", ":material/analytics:", "evaluate"),
]
_local = threading.local()


def run():
    """The app: config, navigation, sidebar, and the selected page."""
    st.set_page_config(page_title="See a neural network learn", page_icon=PAGE_ICON, layout="wide")
    pages = [st.Page(ROOT / path, title=title, icon=icon, url_path=url, default=(url == ""))
             for path, title, icon, url in _PAGES]
    home_alias = st.Page(ROOT / "pages/home.py", title="Home", url_path="home", visibility="hidden")
    current = st.navigation(pages + [home_alias])
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
