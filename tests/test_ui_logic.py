"""The dashboard's logic without Streamlit: reading a drawing, model names and files, the
training queue and the training job's life cycle, chart data."""
import math
import threading

import numpy as np
import pytest
from PIL import Image

from app_helpers import DEFAULT_MODEL, guard_real_models, models_folder, wait_until, weights_finite  # noqa: F401
from core import Net, Progress
from drawn_digits import render_digit
from ui import charts, model_store
from ui.drawing import Reading, Sketch, read_digit
from ui.session import MAX_RUNS_KEPT, Run, SessionData
from ui.training_job import SERVER_QUEUE, TrainingJob, TrainingQueue, failure_to_learn, wait_for


@pytest.fixture(scope="module")
def default_net():
    return Net.load(DEFAULT_MODEL)


# ----- reading a drawing ----------------------------------------------------------------------

@pytest.mark.parametrize("digit", [1, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_read_digit_on_a_drawn_digit(default_net, digit, seed):
    # 280x280 RGBA, ink in the alpha channel, like the canvas; style 0 is the plain form of each digit
    # (the model's accuracy over every drawing style is tests/test_default_model.py's business)
    canvas = render_digit(digit, seed, style=0)
    assert canvas.shape == (280, 280, 4)
    reading = read_digit(default_net, canvas)
    assert isinstance(reading, Reading)
    p = reading.probabilities
    assert p.shape == (10,) and np.all(p >= 0) and abs(float(p.sum()) - 1) < 1e-5
    assert reading.digit == int(np.argmax(p)) == digit
    assert reading.confidence == pytest.approx(float(p[digit]))
    assert reading.seen.shape == (28, 28)
    assert reading.seen.min() >= 0 and reading.seen.max() <= 1 and reading.seen.max() > 0.5
    assert reading.saliency.shape == (28, 28)
    assert np.isfinite(reading.saliency).all() and np.abs(reading.saliency).max() > 0


def test_saliency_points_towards_the_digit(default_net):
    reading = read_digit(default_net, render_digit(7, 5))
    step = 0.05 * reading.saliency / np.abs(reading.saliency).max()
    log_p = lambda image: math.log(default_net.predict_proba(image.reshape(1, -1))[0, reading.digit])  # noqa: E731
    assert log_p(reading.seen + step) > log_p(reading.seen) > log_p(reading.seen - step)


def test_read_digit_accepts_pictures_as_well(default_net):
    rgb = render_digit(1, 4, mode="black_on_white")
    for image in (rgb, Image.fromarray(rgb), Image.fromarray(render_digit(1, 4)).convert("RGBA")):
        reading = read_digit(default_net, image)
        assert reading is not None and reading.digit == 1


def test_read_digit_returns_none_when_nothing_is_drawn(default_net):
    empty = np.zeros((280, 280, 4), np.uint8)
    assert read_digit(default_net, empty) is None
    white_transparent = empty.copy()
    white_transparent[..., :3] = 255  # white strokes colour, but no alpha: nothing drawn
    assert read_digit(default_net, white_transparent) is None
    dot = empty.copy()
    dot[140, 140] = 255
    assert read_digit(default_net, dot) is None


# ----- the drawing across reruns (ui.drawing.Sketch) -------------------------------------------

def _path(n):
    return {"type": "path", "path": [["M", n, n], ["L", n + 10, n + 10]]}


def test_a_mounted_canvas_keeps_its_initial_drawing_while_strokes_arrive():
    """Feeding the canvas its own output made it reload, resend and rerun forever."""
    sketch = Sketch()
    assert sketch.start(mounted=False) is None  # a new canvas starts empty
    pixels = np.zeros((280, 280, 4), np.uint8)
    for strokes in range(1, 4):  # each stroke: the canvas sends, the page reruns
        sketch.update({"objects": [_path(i) for i in range(strokes)]}, pixels + strokes)
        assert sketch.start(mounted=True) is None  # unchanged: the canvas is not reloaded
        assert sketch.strokes == strokes and sketch.image()[0, 0, 0] == strokes


def test_a_canvas_that_reappears_shows_the_last_drawing_and_it_is_still_read():
    sketch = Sketch()
    sketch.start(mounted=False)
    drawing, pixels = {"objects": [_path(1), _path(2)]}, np.full((280, 280, 4), 7, np.uint8)
    sketch.update(drawing, pixels)
    assert sketch.start(mounted=False) == drawing  # back from another page: a new canvas with the drawing
    sketch.update(drawing, None)  # it has sent nothing yet: it shows the drawing kept
    assert sketch.image() is pixels
    assert sketch.start(mounted=True) == drawing
    sketch.update({"objects": []}, np.zeros((280, 280, 4), np.uint8))  # undone to nothing
    assert sketch.image() is None and sketch.start(mounted=True) == drawing


def test_each_stroke_width_is_a_canvas_of_its_own_that_starts_from_the_drawing():
    sketch = Sketch()
    assert sketch.key(20) != sketch.key(30)
    sketch.start(mounted=False)
    drawing = {"objects": [_path(1)]}
    sketch.update(drawing, np.ones((280, 280, 4), np.uint8))
    assert sketch.start(mounted=False) == drawing  # the canvas for the new width shows the drawing


def test_clear_gives_a_new_empty_canvas():
    sketch = Sketch()
    sketch.start(mounted=False)
    sketch.update({"objects": [_path(1)]}, np.ones((280, 280, 4), np.uint8))
    old_key = sketch.key(20)
    sketch.clear()
    assert sketch.key(20) != old_key and sketch.image() is None and sketch.strokes == 0
    assert sketch.start(mounted=False) is None


# ----- model names and files ------------------------------------------------------------------

@pytest.mark.parametrize("typed, cleaned", [
    ("mine", "mine"), ("my first net", "my-first-net"), ("  run-1  ", "run-1"), ("v1.2_final", "v1.2_final"),
    ("model.npz", "model"), ("Model.NPZ", "Model"), ("x.npz.npz", "x"), ("a" * 50, "a" * 50),
    ("default2", "default2"), ("new\nline", "new-line"), ("x..y", "x..y"), ("naïve", "naïve"),
    ("nai\u0308ve", "naïve"),  # the same letter typed as two code points: one name
])
def test_clean_name_accepts(typed, cleaned):
    assert model_store.clean_name(typed) == cleaned


@pytest.mark.parametrize("typed", [
    "", "   ", None, 3, "../x", "../../x", "a/b", "a\\b", "/etc/passwd", "..", "_x", ".hidden", "-dash-first",
    "default", "Default", "default.npz", "a" * 51, "semi;colon", "tab\tname\0", ".npz",
])
def test_clean_name_refuses(typed):
    with pytest.raises(ValueError):
        model_store.clean_name(typed)


def test_model_store_uses_the_folder_it_is_given_at_call_time(models_folder, tmp_path):
    net = Net([784, 10], output="softmax", cost="cross_entropy", seed=3)
    assert model_store.saved_models() == ["default"]
    assert model_store.save_model(net, "a net") == "a-net"
    assert (models_folder / "a-net.npz").is_file()
    assert model_store.saved_models() == ["default", "a-net"]
    with pytest.raises(model_store.ModelExistsError):
        model_store.save_model(net, "a-net")
    assert np.array_equal(model_store.load_model("a-net").weights[0], net.weights[0])
    assert model_store.load_model("default").sizes[0] == 784
    other = tmp_path / "elsewhere"
    assert model_store.saved_models(other) == []
    model_store.save_model(net, "x", folder=other)
    assert model_store.saved_models(other) == ["x"] and model_store.saved_models() == ["default", "a-net"]
    with pytest.raises(ValueError):
        model_store.model_path("../x")


# ----- the training queue ---------------------------------------------------------------------

class _Job:
    """Just what TrainingQueue needs of a job."""

    def __init__(self, name):
        self.name = name
        self.stop_requested = threading.Event()
        self.release = threading.Event()


def test_queue_runs_at_most_its_slots_in_arrival_order():
    queue = TrainingQueue(2)
    jobs = [_Job(i) for i in range(5)]
    lock = threading.Lock()
    running, peak, started, results = set(), [0], [], {}

    def work(job):
        ok = queue.acquire(job)
        results[job.name] = ok
        if not ok:
            return
        with lock:
            running.add(job.name)
            started.append(job.name)
            peak[0] = max(peak[0], len(running))
        job.release.wait(10)
        with lock:
            running.discard(job.name)
        queue.release(job)

    threads = []
    for job in jobs:  # one after the other, so that the arrival order is known
        thread = threading.Thread(target=work, args=(job,), daemon=True)
        thread.start()
        threads.append(thread)
        assert wait_until(lambda: job.name in running or queue.position(job) > 0, timeout=5)

    assert queue.running == 2 and sorted(running) == [0, 1]
    assert [queue.position(job) for job in jobs] == [0, 0, 1, 2, 3]
    jobs[1].release.set()
    assert wait_until(lambda: 2 in running, timeout=5)
    assert [queue.position(job) for job in jobs[2:]] == [0, 1, 2]
    jobs[4].stop_requested.set()  # leaves the queue without running
    assert wait_until(lambda: 4 in results, timeout=5) and results[4] is False
    assert queue.position(jobs[4]) == 0 and queue.position(jobs[3]) == 1
    for job in jobs:
        job.release.set()
    for thread in threads:
        thread.join(10)
    assert started == [0, 1, 2, 3]
    assert peak[0] == 2 and queue.running == 0


def test_the_server_queue_uses_the_configured_number_of_slots():
    from core import limits
    assert SERVER_QUEUE.slots == limits.MAX_CONCURRENT_TRAININGS >= 1


# ----- the training job -----------------------------------------------------------------------

def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def _job(net, options, queue, n=500):
    X, y = _data(n)
    return TrainingJob(net, (X, y), (X[:200], y[:200]), (X[:300], y[:300]), options, queue=queue)


def test_job_waits_in_the_queue_runs_and_stops_on_request():
    queue = TrainingQueue(1)
    blocker = _Job("other")
    assert queue.acquire(blocker)
    net = Net([784, 30, 10], seed=0)
    job = _job(net, {"epochs": 200, "eta": 1.0, "batch_size": 10, "progress_every": 5}, queue, n=2000).start()
    assert wait_until(lambda: queue.position(job) == 1, timeout=5)
    snap = job.snapshot()
    assert (snap.status, snap.queue_position, snap.history) == ("queued", 1, [])
    assert job.active and job.status == "queued"

    queue.release(blocker)
    assert wait_until(lambda: job.status == "running", timeout=5)
    assert wait_until(lambda: len(job.snapshot().history) >= 1, timeout=30)
    snap = job.snapshot()
    assert snap.status == "running" and snap.run_epochs == 200 and snap.batches == 200
    assert 0 <= snap.batch <= snap.batches and snap.queue_position == 0
    assert queue.running == 1
    job.stop()
    assert wait_for(job, 30) == "stopped"
    assert not job.active and "stopped during epoch" in job.message
    assert 1 <= len(net.history) < 200 and weights_finite(net)
    assert net.test_accuracy is not None
    assert queue.running == 0


def test_job_completes():
    queue = TrainingQueue(1)
    net = Net([784, 20, 10], seed=1)
    job = _job(net, {"epochs": 2, "eta": 1.0, "batch_size": 10}, queue)
    assert job.status == "queued" and job.snapshot().status == "queued"
    job.start()
    assert wait_for(job, 30) == "completed"
    assert [e["epoch"] for e in net.history] == [1, 2]
    assert job.snapshot().history == net.history and job.snapshot().status == "completed"
    assert 0 <= net.test_accuracy <= 1 and queue.running == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_job_diverges_and_keeps_finite_weights():
    queue = TrainingQueue(1)
    net = Net([784, 100, 100, 10], hidden="relu", output="softmax", cost="cross_entropy", init="he", seed=0)
    before = [w.copy() for w in net.weights]
    job = _job(net, {"epochs": 2, "eta": 1e6, "batch_size": 10}, queue).start()
    assert wait_for(job, 30) == "diverged"
    assert "diverged" in job.message and "smaller learning rate" in job.message
    assert net.history == [] and weights_finite(net)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))
    assert queue.running == 0


def test_job_with_impossible_options_fails_with_a_message():
    queue = TrainingQueue(1)
    job = _job(Net([784, 10]), {"epochs": 1, "eta": 1.0, "batch_size": 1024}, queue).start()
    assert wait_for(job, 30) == "failed"
    assert job.message.startswith("training failed:") and "mini-batch size" in job.message
    assert queue.running == 0


def test_job_that_crashes_tells_the_user_without_the_servers_details(caplog):
    class Crashing(Net):
        def fit(self, *args, **kwargs):
            raise OSError(28, "No space left on device", "/srv/secret/path/buffer")

    queue = TrainingQueue(1)
    job = _job(Crashing([784, 10]), {"epochs": 1, "eta": 1.0, "batch_size": 10}, queue).start()
    assert wait_for(job, 30) == "failed"
    assert job.message.startswith("training failed because of an error on the server")
    assert "/srv" not in job.message and "No space" not in job.message
    assert "/srv/secret/path/buffer" in caplog.text  # the details are in the server's log
    assert queue.running == 0


def test_job_cancelled_while_queued_never_runs():
    queue = TrainingQueue(1)
    blocker = _Job("other")
    assert queue.acquire(blocker)
    net = Net([784, 10])
    job = _job(net, {"epochs": 1, "eta": 1.0, "batch_size": 10}, queue).start()
    assert wait_until(lambda: queue.position(job) == 1, timeout=5)
    job.stop()
    assert wait_for(job, 10) == "cancelled"
    assert "cancelled before it started" in job.message
    assert net.history == [] and queue.position(job) == 0 and queue.running == 1
    queue.release(blocker)


def test_readers_get_a_frozen_copy_of_a_training_network():
    """Draw reads the network while it trains: it must get a state the network really had, which
    the trainer never changes under it, and the live network once training is over."""
    queue = TrainingQueue(1)
    net = Net([784, 30, 10], seed=0)
    data = SessionData(net=net, model_name="x")
    data.job = _job(net, {"epochs": 100, "eta": 1.0, "batch_size": 10, "progress_every": 5}, queue, n=2000)
    data.job.start()
    try:
        assert wait_until(lambda: data.job.snapshot().batch >= 5, timeout=30)
        held = data.reading_net
        assert held is not net and held.weights[0] is not net.weights[0]
        frozen = [w.copy() for w in held.weights]
        assert wait_until(lambda: data.reading_net is not held, timeout=30)  # a newer state is published...
        assert all(np.array_equal(a, b) for a, b in zip(frozen, held.weights))  # ...the held one is untouched
        assert not np.array_equal(held.weights[0], net.weights[0])  # while the live network moved on
        assert held.predict_proba(np.zeros(784)).shape == (1, 10)
    finally:
        data.job.stop()
    assert wait_for(data.job, 30) == "stopped"
    assert data.reading_net is net


# ----- session data and chart data ------------------------------------------------------------

def test_session_keeps_the_latest_runs_and_counts_them_all():
    data = SessionData(net=None, model_name="x")
    for number in range(1, MAX_RUNS_KEPT + 4):
        data.add_run(Run(f"run {number}", "", []))
    assert len(data.runs) == MAX_RUNS_KEPT and data.runs_added == MAX_RUNS_KEPT + 3
    assert data.runs[-1].label == f"run {MAX_RUNS_KEPT + 3}"


def test_history_chart_data_leaves_out_missing_and_non_finite_values():
    history = [
        {"epoch": 1, "train_accuracy": 0.5, "train_cost": 0.4, "validation_accuracy": None, "validation_cost": None},
        {"epoch": 2, "train_accuracy": float("nan"), "train_cost": float("inf"), "validation_accuracy": 0.6,
         "validation_cost": 0.3},
    ]
    frame = charts.history_frame(history)
    assert not frame.isna().any().any()
    assert sorted(zip(frame.epoch, frame.metric, frame.set)) == [
        (1, "accuracy", "training"), (1, "cost", "training"), (2, "accuracy", "validation"), (2, "cost", "validation")]
    runs = charts.runs_chart([Run("a", "", history)]).data
    assert list(runs.accuracy) == [0.5, 0.6]


def test_a_second_training_click_in_a_session_is_refused_with_a_warning():
    from streamlit.testing.v1 import AppTest

    def script():
        from types import SimpleNamespace

        import streamlit as st

        from ui.training_view import _busy

        st.session_state["busy"] = _busy(SimpleNamespace(training=True))
        st.session_state["idle"] = _busy(SimpleNamespace(training=False))

    at = AppTest.from_function(script).run(timeout=30)
    assert at.session_state["busy"] is True and at.session_state["idle"] is False
    assert len(at.warning) == 1 and "already training" in at.warning[0].value


def test_session_remembers_slow_views_per_network_state():
    from types import SimpleNamespace

    from ui.session import SessionData

    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    net = SimpleNamespace(history=[])
    data = SessionData(net=net, model_name="x")
    assert data.remember("view", compute) == 1 and data.remember("view", compute) == 1
    assert data.remember("other view", compute) == 2 and data.remember("view", compute) == 1
    net.history.append({})  # a new epoch
    assert data.remember("view", compute) == 3
    data.job = SimpleNamespace(active=False)  # a run stopped mid-epoch: same epochs, new weights
    assert data.remember("view", compute) == 4
    data.use_network(SimpleNamespace(history=[{}]), "y")  # another network with as many epochs
    assert data.remember("view", compute) == 5
    data.job = SimpleNamespace(active=True, net=data.net)  # while training: once per epoch, not per rerun
    assert data.remember("view", compute) == 6 and data.remember("view", compute) == 6
    data.net.history.append({})
    assert data.remember("view", compute) == 7 and data.remember("view", compute) == 7
    data.job.active = False  # the run ends (mid-epoch): its final weights are a new state
    assert data.remember("view", compute) == 8


# ----- time left, charts' axes, did a run learn ----------------------------------------------------

def _report(job, seconds, batch, batches=100, epoch_done=False):
    """What the trainer reports to the job (epoch 1 of a 2-epoch run)."""
    job._on_progress(Progress(len(job.net.history) + (0 if epoch_done else 1), 1, 2, batch, batches, 0.5, 1.0,
                              0.1, seconds, epoch_done, job.net.history))


def test_time_left_is_not_thrown_off_by_a_slow_first_batch():
    job = _job(Net([784, 10], seed=0), {"epochs": 2}, TrainingQueue(1))
    job.status = "running"
    _report(job, 10.0, 1)  # warm-up: the first batch took 10 s, the others take 0.1 s each
    assert job.snapshot().eta_seconds() is None  # no pace measured yet: no estimate rather than ~2000 s
    for batch in range(2, 6):
        _report(job, 10.0 + 0.1 * (batch - 1), batch)
    left = job.snapshot().eta_seconds()
    assert left == pytest.approx(195 * 0.1, rel=0.05)  # 95 batches of this epoch and 100 of the next


def test_time_left_uses_only_this_runs_epochs():
    net = Net([784, 10], seed=0)
    net.history.append({"epoch": 1, "seconds": 600.0})  # an earlier run on many more examples
    job = _job(net, {"epochs": 2}, TrainingQueue(1))
    job.epochs_before, job.status = 1, "running"
    net.history.append({"epoch": 2, "seconds": 4.0})
    _report(job, 4.0, 100, epoch_done=True)
    snap = job.snapshot()
    assert snap.seconds_per_epoch == 4.0 and snap.eta_seconds() == pytest.approx(4.0)


def _axis(spec, channel):
    return spec["encoding"][channel].get("axis", {})


def test_chart_axes_have_formats_that_suit_one_epoch_as_well_as_many():
    history = [{"epoch": 1, "train_accuracy": 0.2374, "train_cost": 0.53065, "validation_accuracy": 0.25,
                "validation_cost": 0.5}]
    accuracy = charts.history_chart(history, "accuracy").to_dict()
    cost = charts.history_chart(history, "cost").to_dict()
    runs = charts.runs_chart([Run("run 1", "", history)]).to_dict()
    for spec in (accuracy, cost, runs):
        assert _axis(spec, "x")["format"] == "d" and _axis(spec, "x")["tickMinStep"] == 1  # whole epochs
    assert _axis(accuracy, "y")["format"] == _axis(runs, "y")["format"] == ".2~%"  # 23.74%, 90%
    assert _axis(cost, "y")["format"] == ".3~g"  # 0.531, 0.5


def test_a_run_is_described_stretch_by_stretch_leaving_out_calls_that_finished_no_epoch():
    run = Run("run 1", "784 → 10", [{"epoch": e} for e in range(1, 6)],
              [(1, "sgd η 3"), (4, "adam η 0.001"), (6, "sgd η 1000")])  # the last call diverged at once
    assert run.training_text() == "epochs 1–3: sgd η 3; epochs 4–5: adam η 0.001"
    run.history.append({"epoch": 6})
    assert run.training_text().endswith("; epoch 6: sgd η 1000")


def test_a_run_whose_cost_does_not_move_failed_to_learn():
    net = Net([784, 10], seed=0)
    net.test_accuracy = 0.6  # better than guessing, so only the cost tells
    job = _job(net, {"epochs": 3, "eta": 1e-9, "optimizer": "sgd"}, TrainingQueue(1))
    job.status = "completed"
    net.history[:] = [{"epoch": e, "train_cost": 0.9 - 1e-5 * e} for e in (1, 2, 3)]
    assert "training cost did not move over its 3 epochs" in failure_to_learn(job)
    assert "too high" not in failure_to_learn(job)
    net.history[:] = [{"epoch": e, "train_cost": 0.9 - 0.01 * e} for e in (1, 2, 3)]
    assert failure_to_learn(job) is None
