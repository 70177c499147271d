"""Shared fixtures and helpers for the dashboard tests (Streamlit AppTest).

Import ``guard_real_models`` and ``models_folder`` into every test module (pytest finds
fixtures in the module's namespace). ``guard_real_models`` is autouse there: each test gets
its own temporary models folder (``ui.model_store.MODELS_DIR`` points at it, with a copy of
the shipped default), and a test that wrote into the real data/models/ fails.

AppTest replaces process-wide Streamlit state for the length of one script run
(``Runtime._instance``, the pages manager, config options), so two AppTest runs must never
overlap. Everything that runs a script goes through ``RUN_LOCK`` (``run``, ``click``, ``go``
and friends); the training threads the runs start are not affected and do run concurrently.
"""
import hashlib
import json
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ui import model_store  # noqa: E402
from ui.training_job import wait_for  # noqa: E402

DASHBOARD = ROOT / "dashboard.py"
REAL_MODELS_DIR = ROOT / "data" / "models"
DEFAULT_MODEL = REAL_MODELS_DIR / "default.npz"
RUN_TIMEOUT = 60.0

PAGES = {  # page file -> its title
    "pages/home.py": "See a neural network learn",
    "pages/train.py": "Build & Train",
    "pages/draw.py": "Draw a digit",
    "pages/imagine.py": "What does the network imagine?",
    "pages/evaluate.py": "How good is the network?",
}

RUN_LOCK = threading.RLock()


# ----- running the app ------------------------------------------------------------------------

def new_app(page=None, run=True):
    """A fresh browser session of the dashboard, run once (on ``page`` if given)."""
    at = AppTest.from_file(str(DASHBOARD), default_timeout=RUN_TIMEOUT)
    if run:
        with RUN_LOCK:
            at.run()
            if page is not None:
                at.switch_page(page).run()
    return at


def run(at):
    with RUN_LOCK:
        return at.run()


def go(at, page):
    with RUN_LOCK:
        return at.switch_page(page).run()


def click(at, key):
    with RUN_LOCK:
        return at.button(key=key).click().run()


def set_widgets(at, **values):
    """Set widget values by key (number_input, select_slider, selectbox, text_input, checkbox...).

    Widgets that only appear once others are set (e.g. the size of a second hidden layer)
    are set after a rerun.
    """
    pending = dict(values)
    for _ in range(3):
        for key in list(pending):
            try:
                widget = at.get_by_key(key)
            except KeyError:
                continue
            widget.set_value(pending.pop(key))
        if not pending:
            return at
        run(at)
    raise KeyError(f"no widgets with the keys {sorted(pending)}")


def app_data(at):
    """The session's ui.session.SessionData."""
    return at.session_state["app"]


def finish_training(at, timeout=60.0):
    """Wait for the session's training job, then rerun so the page shows the final state."""
    job = app_data(at).job
    assert job is not None, "no training job was started"
    status = wait_for(job, timeout)
    assert not job.active, f"training did not finish within {timeout} s (status {status})"
    run(at)
    return job


def wait_until(predicate, timeout=30.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def texts(elements):
    return [e.value for e in elements]


def sidebar_accuracy(at):
    """The value of the sidebar's "Test accuracy" metric."""
    metrics = [m for m in at.sidebar.metric if m.label == "Test accuracy"]
    assert len(metrics) == 1, [m.label for m in at.sidebar.metric]
    return metrics[0].value


def percent(value):
    """'97.21%' -> 0.9721 (asserts the text is a percentage)."""
    assert isinstance(value, str) and value.endswith("%"), value
    return float(value[:-1]) / 100


# ----- charts ---------------------------------------------------------------------------------

def charts(at):
    """[(spec dict, DataFrame of its data)] of every Altair chart on the page, in page order."""
    found = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        spec = json.loads(proto.spec)
        frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets]
        if not frames and proto.HasField("data"):
            frames = [convert_arrow_bytes_to_pandas_df(proto.data.data)]
        assert len(frames) == 1, f"expected one dataset per chart, got {len(frames)}"
        found.append((spec, frames[0]))
    return found


def chart_titled(at, title):
    matches = [(spec, frame) for spec, frame in charts(at) if _title(spec) == title]
    assert len(matches) == 1, f"{len(matches)} charts titled {title!r}: {[_title(s) for s, _ in charts(at)]}"
    return matches[0][1]


def chart_with_field(at, field):
    """The data of the one chart whose encoding uses ``field``."""
    matches = [frame for spec, frame in charts(at) if field in json.dumps(spec) and field in frame.columns]
    assert len(matches) == 1, f"{len(matches)} charts use the field {field!r}"
    return matches[0]


def _title(spec):
    title = spec.get("title")
    return title.get("text") if isinstance(title, dict) else title


# ----- networks -------------------------------------------------------------------------------

def same_weights(a, b):
    return (a.sizes == b.sizes and
            all(np.array_equal(x, y) for x, y in zip(a.weights + a.biases, b.weights + b.biases)))


def weights_finite(net):
    return all(np.isfinite(p).all() for p in net.weights + net.biases)


def history_is_finite(history):
    return all(value is None or (isinstance(value, (int, float)) and np.isfinite(value))
               for entry in history for value in entry.values())


# ----- fixtures -------------------------------------------------------------------------------

def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def models_folder(tmp_path, monkeypatch):
    """A temporary models folder (holding a copy of the shipped default) used by the whole app."""
    folder = tmp_path / "server" / "models"
    folder.mkdir(parents=True)
    shutil.copyfile(DEFAULT_MODEL, folder / "default.npz")
    monkeypatch.setattr(model_store, "MODELS_DIR", folder)
    return folder


@pytest.fixture(autouse=True)
def guard_real_models(models_folder):
    """Every test gets its own models folder; fail one that wrote into the real data/models/.

    The check is limited to the shipped default and to the names the test saved in its own
    folder, so that files others put in data/models/ meanwhile do not fail it.
    """
    assert DEFAULT_MODEL.is_file(), "data/models/default.npz (the shipped model) is missing"
    default_hash = _sha256(DEFAULT_MODEL)
    before = {p.name for p in REAL_MODELS_DIR.iterdir()}
    yield
    assert _sha256(DEFAULT_MODEL) == default_hash, "a test changed data/models/default.npz"
    added = {p.name for p in REAL_MODELS_DIR.iterdir()} - before
    written = {p.name for p in models_folder.iterdir()}
    assert not added & written, f"a test wrote {sorted(added & written)} into the real data/models/"
