"""Abandoned trainings: a job stops once its browser session has no open tab, the server's
queue is bounded (a clear "server busy" beyond it), and each run has a compute budget."""
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from app_helpers import (app_data, click, guard_real_models, models_folder, new_app, set_widgets,  # noqa: F401
                         wait_until)
from core import Net, limits
from core.validation import parameter_count
from ui import session as session_module
from ui import training_job
from ui.train_settings import PRESETS
from ui.training_job import (SERVER_QUEUE, QueueFull, TrainingJob, TrainingQueue, check_run_budget,
                             wait_for)

LONG_RUN = {"epochs": 200, "eta": 1.0, "batch_size": 10, "progress_every": 5}


class _Job:
    """Just what TrainingQueue needs of a job."""

    def __init__(self):
        self.stop_requested = threading.Event()


def _job(queue, session_alive=None, n=10_000):
    rng = np.random.default_rng(0)
    X, y = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    return TrainingJob(Net([784, 30, 10], seed=0), (X, y), (X[:200], y[:200]), (X[:300], y[:300]),
                       dict(LONG_RUN), queue=queue, session_alive=session_alive)


def _wait_in(queue, job):
    """Start a thread that waits for ``job``'s turn; return it once the job is in the queue."""
    thread = threading.Thread(target=queue.acquire, args=(job,), daemon=True)
    thread.start()
    assert wait_until(lambda: queue.position(job) > 0, timeout=5)
    return thread


# ----- the bounded queue --------------------------------------------------------------------------

def test_the_queue_refuses_a_job_once_its_waiting_places_are_taken():
    queue = TrainingQueue(1, max_waiting=2)
    runner = _Job()
    assert queue.acquire(runner)
    waiting = [_Job(), _Job()]
    threads = [_wait_in(queue, job) for job in waiting]

    late = _Job()
    with pytest.raises(QueueFull) as refused:
        queue.enter(late)
    assert (refused.value.running, refused.value.waiting) == (1, 2)
    assert queue.position(late) == 0 and [queue.position(job) for job in waiting] == [1, 2]

    waiting[1].stop_requested.set()  # leaves the queue: a place is free again
    threads[1].join(5)
    queue.enter(late)
    assert queue.position(late) == 2
    late.stop_requested.set()
    assert queue.acquire(late) is False  # it leaves the queue without running
    queue.release(runner)
    threads[0].join(5)
    assert queue.running == 1 and queue.position(waiting[0]) == 0


def test_a_job_refused_by_a_full_queue_starts_nothing():
    queue = TrainingQueue(1, max_waiting=1)
    runner, waiter = _Job(), _Job()
    assert queue.acquire(runner)
    thread = _wait_in(queue, waiter)
    job = _job(queue)
    weights = [w.copy() for w in job.net.weights]
    with pytest.raises(QueueFull):
        job.start()
    time.sleep(0.3)
    assert job.status == "queued" and job._thread is None and queue.running == 1
    assert all(np.array_equal(a, b) for a, b in zip(weights, job.net.weights)) and job.net.history == []
    waiter.stop_requested.set()
    thread.join(5)
    queue.release(runner)


def test_the_server_queue_holds_the_configured_number_of_waiting_trainings():
    assert SERVER_QUEUE.max_waiting == limits.MAX_QUEUED_TRAININGS >= 1


# ----- the run budget -----------------------------------------------------------------------------

def test_a_run_within_the_budget_passes_and_one_epoch_more_is_refused_naming_the_epochs(monkeypatch):
    sizes, examples = [784, 100, 10], 1000
    monkeypatch.setattr(limits, "MAX_RUN_WORK", 7 * examples * parameter_count(sizes))
    check_run_budget(sizes, examples, 7)
    with pytest.raises(ValueError, match="lower the epochs to 7 or fewer"):
        check_run_budget(sizes, examples, 8)


def test_a_run_too_big_for_even_one_epoch_is_told_to_use_less_data_or_a_smaller_network(monkeypatch):
    monkeypatch.setattr(limits, "MAX_RUN_WORK", 1000)
    with pytest.raises(ValueError) as refused:
        check_run_budget([784, 30, 10], 500, 1)
    assert "use fewer training examples or a smaller network" in str(refused.value)
    assert "epochs to" not in str(refused.value)


def test_the_budget_comes_from_the_caps_lets_the_presets_run_and_refuses_the_largest_run_the_form_allows():
    assert limits.MAX_RUN_WORK == 10 * limits.MAX_TRAINING_EXAMPLES * limits.MAX_PARAMETERS
    for settings in PRESETS.values():
        check_run_budget(settings.sizes, settings.train_size, settings.epochs)
    largest = [784, 4096, 190, 10]  # just under MAX_PARAMETERS
    assert parameter_count(largest) <= limits.MAX_PARAMETERS
    with pytest.raises(ValueError, match="more work than one run may do on this server"):
        check_run_budget(largest, limits.MAX_TRAINING_EXAMPLES, limits.MAX_EPOCHS)


# ----- a training whose browser tab is gone -------------------------------------------------------

class Tab:
    """A fake browser session: open or closed, and when it closed."""

    def __init__(self):
        self.open = True
        self.closed_at = None

    def close(self):
        self.open, self.closed_at = False, time.monotonic()

    def __call__(self):
        return self.open


@pytest.fixture
def short_grace(monkeypatch):
    monkeypatch.setattr(limits, "DISCONNECTED_TRAINING_SECONDS", 1.0)
    monkeypatch.setattr(training_job, "SESSION_CHECK_SECONDS", 0.05)
    return 1.0


def test_a_training_whose_tab_closed_stops_after_the_grace_period(short_grace):
    tab = Tab()
    job = _job(TrainingQueue(1), tab).start()
    assert wait_until(lambda: job.snapshot().batch > 0, timeout=30)
    tab.close()
    assert wait_for(job, 30) == "stopped"
    stopped_after = time.monotonic() - tab.closed_at
    assert job.abandoned and short_grace - training_job.SESSION_CHECK_SECONDS <= stopped_after < short_grace + 5
    assert len(job.net.history) < LONG_RUN["epochs"] and job.queue.running == 0


def test_a_short_blip_is_not_leaving(short_grace):
    tab = Tab()
    job = _job(TrainingQueue(1), tab).start()
    assert wait_until(lambda: job.status == "running", timeout=30)
    for _ in range(3):  # three blips, each shorter than the grace period
        tab.open = False
        time.sleep(short_grace / 2)
        tab.open = True
        time.sleep(0.2)
    time.sleep(short_grace)
    assert job.status == "running" and not job.abandoned
    job.stop()
    assert wait_for(job, 30) == "stopped" and not job.abandoned


def test_a_queued_training_whose_tab_closed_leaves_the_queue(short_grace):
    queue = TrainingQueue(1)
    runner = _Job()
    assert queue.acquire(runner)
    tab = Tab()
    job = _job(queue, tab).start()
    assert wait_until(lambda: queue.position(job) == 1, timeout=5)
    tab.close()
    assert wait_for(job, 10) == "cancelled" and job.abandoned
    assert queue.position(job) == 0 and job.net.history == []
    queue.release(runner)


def test_the_tab_check_asks_the_streamlit_runtime_about_the_jobs_own_session(monkeypatch):
    connected = {"mine"}
    server = SimpleNamespace(is_active_session=lambda session_id: session_id in connected)
    monkeypatch.setattr(session_module, "get_script_run_ctx", lambda: SimpleNamespace(session_id="mine"))
    monkeypatch.setattr(session_module, "runtime", SimpleNamespace(exists=lambda: True, get_instance=lambda: server))
    is_open = session_module.browser_tab_open()
    assert is_open() is True
    connected.clear()
    assert is_open() is False


# ----- the Build & Train page ---------------------------------------------------------------------

def _unchanged(at, net):
    data = app_data(at)
    assert data.job is None and data.runs == [] and data.runs_added == 0
    assert data.net is net and data.model_name == "default (pre-trained)"


def _stop_any_training(at):
    job = app_data(at).job
    if job is not None:
        job.stop()
        wait_for(job, 30)


def test_a_busy_server_says_so_and_leaves_the_session_as_it_was():
    at = new_app("pages/train.py")
    net = app_data(at).net
    runners = [_Job() for _ in range(SERVER_QUEUE.slots)]
    waiters = [_Job() for _ in range(limits.MAX_QUEUED_TRAININGS)]
    threads = []
    try:
        for runner in runners:
            assert SERVER_QUEUE.acquire(runner)
        threads += [_wait_in(SERVER_QUEUE, waiter) for waiter in waiters]
        click(at, "train_button")
        errors = [e.value for e in at.error]
        assert errors == [f"The server is busy: {len(runners)} trainings are running and {len(waiters)} waiting. "
                          "Try again in a few minutes."], errors
        _unchanged(at, net)
    finally:
        _stop_any_training(at)
        for waiter in waiters:
            waiter.stop_requested.set()
        for thread in threads:
            thread.join(5)
        for runner in runners:
            SERVER_QUEUE.release(runner)
    assert SERVER_QUEUE.running == 0 and SERVER_QUEUE.position(waiters[0]) == 0


def test_settings_over_the_budget_are_refused_before_anything_starts():
    at = new_app("pages/train.py")
    net = app_data(at).net
    set_widgets(at, cfg_size_0=300, cfg_train_size=50_000, cfg_epochs=200)
    try:
        click(at, "train_button")
        errors = [e.value for e in at.error]
        assert len(errors) == 1, errors
        assert errors[0].startswith("These settings cannot be trained: 200 epochs of 50,000 training examples")
        assert "lower the epochs to" in errors[0]
        _unchanged(at, net)
    finally:
        _stop_any_training(at)


def test_a_training_started_from_the_page_watches_its_browser_session():
    at = new_app("pages/train.py")
    set_widgets(at, cfg_train_size=500, cfg_epochs=1)
    click(at, "train_button")
    job = app_data(at).job
    try:
        assert job is not None and callable(job.session_alive)
        assert job.session_alive() is True  # no Streamlit server here: nobody can leave
    finally:
        _stop_any_training(at)
