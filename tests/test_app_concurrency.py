"""Several browser sessions at once: each trains and saves its own network, the server-wide
queue limits how many train together, and a drawing is still read quickly meanwhile.

Each session is an AppTest driven from its own thread. AppTest swaps process-wide Streamlit
state during a script run, so the script runs themselves take turns (``app_helpers.RUN_LOCK``);
the trainings they start run in their own threads, concurrently, through the real
``ui.training_job.SERVER_QUEUE``.
"""
import threading
import time

import numpy as np

from app_helpers import (app_data, click, go, guard_real_models, models_folder, new_app, no_exception,  # noqa: F401
                         run, same_weights, set_widgets, texts, wait_until)
from core import Net, limits
from drawn_digits import render_digit
from ui import model_store
from ui.drawing import read_digit
from ui.training_job import SERVER_QUEUE, TrainingJob, wait_for

SESSIONS = 5
EPOCHS = 2
DRAWING_LATENCY_LIMIT = 1.0  # seconds; generous on purpose (2 shared cores, 2 trainings running)


class QueueWatch:
    """Watches SERVER_QUEUE: the most jobs it let run at once, which jobs had to wait, and when each
    got and gave back its slot.

    The running trainings are held in their first progress report until every other session's
    training is waiting in the queue (``hold_until_all_queued``): that the trainings overlap and
    that the queue makes the others wait is then proven, not left to timing.
    """

    def __init__(self, monkeypatch, sessions):
        self.peak = 0
        self.waited = []
        self.granted_at, self.released_at = {}, {}
        self.all_queued = threading.Event()
        self._lock = threading.Lock()
        acquire, release = SERVER_QUEUE.acquire, SERVER_QUEUE.release
        on_progress = TrainingJob._on_progress
        waiting_sessions = sessions - SERVER_QUEUE.slots

        def watched_acquire(job):
            if SERVER_QUEUE.running >= SERVER_QUEUE.slots:
                with self._lock:
                    self.waited.append(job)
                    if len(self.waited) == waiting_sessions:
                        self.all_queued.set()
            granted = acquire(job)
            running = SERVER_QUEUE.running  # read just after this job joined the running ones
            with self._lock:
                self.peak = max(self.peak, running)
                self.granted_at[job] = time.monotonic()
            return granted

        def watched_release(job):
            with self._lock:
                self.released_at[job] = time.monotonic()
            release(job)

        def held_progress(job, progress):
            self.all_queued.wait(60)
            on_progress(job, progress)

        monkeypatch.setattr(SERVER_QUEUE, "acquire", watched_acquire)
        monkeypatch.setattr(SERVER_QUEUE, "release", watched_release)
        monkeypatch.setattr(TrainingJob, "_on_progress", held_progress)


def _session(index, results, errors, ready):
    try:
        at = new_app("pages/train.py")
        # a different seed per session: every session's network has its own weights
        set_widgets(at, cfg_train_size=500, cfg_epochs=EPOCHS, cfg_batch_size=5, cfg_seed=100 + index)
        ready.wait(30)  # all sessions press "Train" at about the same time
        click(at, "train_button")
        no_exception(at)
        data = app_data(at)
        job, net = data.job, data.net
        assert wait_for(job, 120) == "completed", job.message
        run(at)
        set_widgets(at, save_name=f"session-{index}")
        click(at, "save_button")
        no_exception(at)
        assert texts(at.sidebar.success) == [f"Saved as 'session-{index}'."], texts(at.sidebar.success)
        results[index] = {"at": at, "data": data, "job": job, "net": net,
                          "weights": [w.copy() for w in net.weights], "history": [dict(e) for e in net.history]}
    except BaseException as error:  # reported by the main thread
        errors[index] = error


def test_sessions_train_and_save_concurrently_without_seeing_each_other(models_folder, monkeypatch):
    watch = QueueWatch(monkeypatch, SESSIONS)
    drawer = new_app()  # the sixth session, which only draws
    drawer_net = app_data(drawer).net
    canvas = render_digit(7, 11)
    expected = read_digit(drawer_net, canvas)

    results, errors = {}, {}
    ready = threading.Event()
    threads = [threading.Thread(target=_session, args=(i, results, errors, ready), daemon=True)
               for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    ready.set()

    # while the others train, the sixth session's drawing is still read quickly
    latencies, during_training = [], 0
    assert wait_until(lambda: SERVER_QUEUE.running > 0 or errors or len(results) == SESSIONS, timeout=60)
    while any(thread.is_alive() for thread in threads):
        training = SERVER_QUEUE.running > 0
        started = time.perf_counter()
        reading = read_digit(drawer_net, canvas)
        latencies.append(time.perf_counter() - started)
        during_training += training and SERVER_QUEUE.running > 0
        assert reading.digit == expected.digit
        np.testing.assert_allclose(reading.probabilities, expected.probabilities, rtol=1e-5, atol=1e-7)
        time.sleep(0.02)
    for thread in threads:
        thread.join(5)
    assert not errors, errors
    assert len(results) == SESSIONS

    assert during_training >= 1, "no drawing was read while a training ran"
    assert max(latencies) < DRAWING_LATENCY_LIMIT, f"slowest drawing read {max(latencies):.3f} s"
    print(f"\n{len(latencies)} drawings read ({during_training} during training), slowest "
          f"{1000 * max(latencies):.1f} ms; queue peak {watch.peak} of {SERVER_QUEUE.slots} slots, "
          f"{len(watch.waited)} trainings had to wait")

    # as many trainings as there are slots ran at once, never more; the others waited for a slot to free
    assert SERVER_QUEUE.slots == limits.MAX_CONCURRENT_TRAININGS
    assert watch.peak == SERVER_QUEUE.slots
    assert len(watch.waited) == SESSIONS - SERVER_QUEUE.slots
    first_release = min(watch.released_at.values())
    assert all(watch.granted_at[job] >= first_release for job in watch.waited)
    assert SERVER_QUEUE.running == 0

    # no session sees another's network, job, history or runs
    sessions = [results[i] for i in range(SESSIONS)]
    for name in ("data", "job", "net"):
        assert len({id(s[name]) for s in sessions}) == SESSIONS, name
    assert len({id(s["net"].history) for s in sessions}) == SESSIONS
    assert id(drawer_net) not in {id(s["net"]) for s in sessions}
    for index, s in enumerate(sessions):
        data, net = s["data"], s["net"]
        assert data.net is net and data.job is s["job"] and s["job"].net is net
        assert data.model_name == f"session-{index}"
        assert len(net.history) == EPOCHS and net.history == s["history"]
        assert [run.label for run in data.runs] == ["run 1"] and data.runs[0].history is net.history
        assert all(np.array_equal(a, b) for a, b in zip(s["weights"], net.weights))
        for other in sessions[index + 1:]:
            assert not np.array_equal(net.weights[0], other["net"].weights[0])
        run(s["at"])  # each session still shows its own network
        assert texts(s["at"].sidebar.caption)[0] == f"session-{index}"

    # every saved file loads, and holds the network of the session that saved it
    assert model_store.saved_models() == ["default"]  # saved models are private to their session
    for index, s in enumerate(sessions):
        owner = s["at"].session_state["model_owner"]
        assert model_store.saved_models(owner=owner) == ["default", f"session-{index}"]
        loaded = model_store.load_model(f"session-{index}", owner=owner)
        assert same_weights(loaded, s["net"]) and loaded.history == s["net"].history
        assert loaded.test_accuracy == s["net"].test_accuracy

    # the sixth session was never touched, and its Draw page works
    assert app_data(drawer).net is drawer_net and app_data(drawer).job is None
    assert app_data(drawer).model_name == "default (pre-trained)"
    go(drawer, "pages/draw.py")
    no_exception(drawer)
